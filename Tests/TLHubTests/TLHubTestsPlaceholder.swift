import XCTest
// Placeholder so the test target builds until its real tests land.
final class TLHubTestsPlaceholder: XCTestCase { func testPackageBuilds() { XCTAssertTrue(true) } }
