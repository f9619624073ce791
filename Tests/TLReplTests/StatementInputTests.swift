// Lines become statements with the language's completeness rule, for piped input and the prompt;
// Tab's listing of several matches.
import TLLang
import XCTest
@testable import TLRepl

final class StatementInputTests: XCTestCase {
    func testLinesGatherUntilComplete() {
        var buffer = StatementBuffer()
        let rule = { (s: String) in completeness(of: s) }
        XCTAssertEqual(buffer.add("", isComplete: rule), .nothing)
        XCTAssertEqual(buffer.add("x = [1,", isComplete: rule), .needMore(indent: "    "))
        XCTAssertEqual(buffer.add("", isComplete: rule), .needMore(indent: "    "), "a blank line inside brackets waits")
        XCTAssertEqual(buffer.add("  2]", isComplete: rule), .ready("x = [1,\n\n  2]"))
        XCTAssertTrue(buffer.isEmpty)
        XCTAssertEqual(buffer.add("x = 1)", isComplete: rule), .ready("x = 1)"), "invalid input runs to show its error")
    }

    func testPipedInputRunsStatementsAndStopsAtTheFirstError() {
        let session = Session(environment: [:])
        let (output, streams) = capturedOutput()
        var lines = ["x = (1 +", "  2)", "", "print x", "print nope", "print 99"][...]
        let status = PipedInput.run(session: session, output: output, readLine: { lines.popFirst() })
        XCTAssertEqual(status, 1)
        XCTAssertEqual(streams.stdout, "3\n")
        let first = streams.stderr.split(separator: "\n").first.map(String.init)
        XCTAssertEqual(first, "<stdin>:5:7: error: unknown variable 'nope'")
        XCTAssertTrue(streams.stderr.contains("  5 | print nope"), "the excerpt numbers input lines: \(streams.stderr)")
    }

    func testPipedInputEndingInsideABracketFails() {
        let session = Session(environment: [:])
        let (output, streams) = capturedOutput()
        var lines = ["print 1", "y = (2 +"][...]
        XCTAssertEqual(PipedInput.run(session: session, output: output, readLine: { lines.popFirst() }), 1)
        XCTAssertEqual(streams.stdout, "1\n")
        XCTAssertTrue(streams.stderr.hasPrefix("<stdin>:2:"), streams.stderr)
    }

    func testCommonPrefixAndColumns() {
        XCTAssertEqual(CompletionList.commonPrefix(["resid_pre", "resid_post", "resid_mid"]), "resid_")
        XCTAssertEqual(CompletionList.commonPrefix(["a", "b"]), "")
        XCTAssertEqual(CompletionList.commonPrefix([]), "")
        // Filled down then across: 5 items of width 5 (+2) in 20 columns → 2 columns, 3 rows.
        XCTAssertEqual(CompletionList.format(["aa", "bbbbb", "c", "dd", "e"], width: 20),
                       "aa     dd\nbbbbb  e\nc\n")
        XCTAssertEqual(CompletionList.format(["x", "y", "z"], width: 80, limit: 2), "x  y\n… and 1 more\n")
    }
}
