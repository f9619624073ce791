import XCTest
// Placeholder so the test target builds until its real tests land.
final class TLLangTestsPlaceholder: XCTestCase { func testPackageBuilds() { XCTAssertTrue(true) } }
