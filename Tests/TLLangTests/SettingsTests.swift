// `set`: the matmul precision setting (AMX bf16 products) and its errors.
import Foundation
import XCTest
@testable import TLLang
import TLTensor

final class SettingsTests: XCTestCase {
    private let output = CapturingOutput()  // the session holds its output weakly

    func makeSession() -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = output
        return s
    }

    func run(_ session: Session, _ statement: String) throws -> String {
        try session.execute(statement)?.plainText ?? ""
    }

    func testMatmulSettingIsShownAndChangesTheProducts() throws {
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        let s = makeSession()
        let shown = try run(s, "set matmul=medium")
        XCTAssertTrue(shown.contains("matmul") && shown.contains("medium"), shown)
        XCTAssertEqual(s.settings.matmul, .medium)
        XCTAssertEqual(MatmulPrecision.current, EngineContext.processDefault.matmul, "a session's setting stays in the session")
        let medium = try run(s, "top \"The capital of France is\" k=1")
        XCTAssertTrue(medium.contains("Paris"), medium)
        _ = try run(s, "set matmul=highest")
        let highest = try run(s, "top \"The capital of France is\" k=1")
        XCTAssertTrue(highest.contains("Paris"), highest)
        XCTAssertNotEqual(medium, highest, "bf16 products should move the logit in its last digits")
    }

    func testAFailedSetChangesNoSetting() throws {
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        let s = makeSession()
        _ = try run(s, "set matmul=highest")
        // Statements before the failing one stand; the failing one changes nothing, even when its
        // bad value comes after a good one.
        XCTAssertThrowsError(try s.execute("set matmul=medium\nset threads=0"))
        XCTAssertEqual(s.settings.matmul, .medium)
        _ = try run(s, "set matmul=highest")
        XCTAssertThrowsError(try s.execute("set matmul=medium threads=0"))
        XCTAssertEqual(s.settings.matmul, .highest)
    }

    func testMatmulRefusesACopyThatWouldNotFit() throws {
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        let s = makeSession()
        _ = try run(s, "set matmul=highest")
        _ = try run(s, "model")  // the embedded default
        s.settings.engine.memoryLimitBytes = 1000
        XCTAssertThrowsError(try s.execute("set matmul=high")) { error in
            let text = (error as? ExecutionError)?.rendered ?? "\(error)"
            XCTAssertTrue(text.contains("bf16 copy") && text.contains("matmul=medium"), text)
        }
        XCTAssertEqual(s.settings.matmul, .highest)
    }

    func testUnknownMatmulValueNamesTheChoicesAndChangesNothing() throws {
        let s = makeSession()
        XCTAssertThrowsError(try s.execute("set matmul=fast")) { error in
            let text = (error as? Diagnostic)?.render(source: "set matmul=fast") ?? "\(error)"
            XCTAssertTrue(text.contains("highest") && text.contains("medium"), text)
        }
        XCTAssertEqual(s.settings.matmul, EngineContext.processDefault.matmul)
    }
}
