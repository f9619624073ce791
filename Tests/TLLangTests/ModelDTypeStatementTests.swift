// `model "DIR" dtype=bf16`: the option reaches the loader, `info` reports the dtype and the bytes,
// and a bad value is refused with the valid ones named, leaving the session's model as it was.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTestSupport
import TLTensor

final class ModelDTypeStatementTests: XCTestCase {
    func testDTypeOptionAndInfo() throws {
        let g = try Golden("llama-b", root: Golden.familiesRoot)
        let s = Session(environment: ProcessInfo.processInfo.environment)
        let output = CapturingOutput()
        s.output = output
        _ = try s.execute("model \"\(g.hfDirectory.path)\" dtype=bf16")
        XCTAssertEqual(s.current?.model.dtype, .bf16)
        let display = try XCTUnwrap(try s.execute("info"), "info shows a table")
        XCTAssertTrue(display.plainText.contains("bf16 block matrices"), display.plainText)
        XCTAssertTrue(display.plainText.contains("weight bytes"), display.plainText)
        let before = s.current?.model
        XCTAssertThrowsError(try s.execute("model \"\(g.hfDirectory.path)\" dtype=f8")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("bf16") && text.contains("f16"), text)
        }
        XCTAssertTrue(s.current?.model === before, "a refused statement keeps the model")
        _ = try s.execute("model \"\(g.hfDirectory.path)\"")
        XCTAssertEqual(s.current?.model.dtype, .f32, "f32 is the default")
    }
}
