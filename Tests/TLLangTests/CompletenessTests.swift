import XCTest
@testable import TLLang

/// The REPL's continuation prompt and the kernel's is_complete_request share these answers.
final class CompletenessTests: XCTestCase {
    private func status(_ source: String) -> String {
        switch completeness(of: source) {
        case .complete: return "complete"
        case .incomplete(let indent): return "incomplete(\(indent.count))"
        case .invalid: return "invalid"
        }
    }

    func testComplete() {
        for source in ["", "# just a comment", "cache = run \"The capital of France is\"", "patch resid_post layer=*",
                       "print a *", "x = [1,\n 2]", "v = mean(\n  x,\n  over=pos\n)\n", "x = a \\\n + b", "foo\n\n"] {
            XCTAssertEqual(status(source), "complete", source)
        }
    }

    func testIncompleteOpenBrackets() {
        XCTAssertEqual(status("v = mean(pos.resid_post[6],"), "incomplete(4)")
        XCTAssertEqual(status("x = [1, 2"), "incomplete(4)")
        XCTAssertEqual(status("x = [(1"), "incomplete(4)")
    }

    func testIncompleteStringsContinuationsAndOperators() {
        XCTAssertEqual(status("generate \"The movie"), "incomplete(0)")
        XCTAssertEqual(status("generate \"The movie was\" \\"), "incomplete(0)")
        XCTAssertEqual(status("generate \"x\" n=20 \\  "), "incomplete(0)")
        XCTAssertEqual(status("v = mean(a, over=pos) -"), "incomplete(0)")
        XCTAssertEqual(status("v = a +\n"), "incomplete(0)")
        XCTAssertEqual(status("dla \" Paris\" -"), "incomplete(0)")
        XCTAssertEqual(status("x = a *"), "incomplete(0)")
        XCTAssertEqual(status("layers = 0.."), "incomplete(0)")
    }

    func testInvalid() {
        XCTAssertEqual(status("x = 1)"), "invalid")
        XCTAssertEqual(status("x = (1]"), "invalid")
        XCTAssertEqual(status("pach resid_post"), "invalid")
        XCTAssertEqual(status("patch resid_post layer="), "invalid")  // a missing value is an error, not a continuation
        XCTAssertEqual(status("s = \"\\q\""), "invalid")
        if case .invalid(let diagnostic) = completeness(of: "x = (1]") {
            XCTAssertEqual(diagnostic.message, "']' does not match the '(' at line 1, column 5")
        } else {
            XCTFail("expected invalid")
        }
    }
}
