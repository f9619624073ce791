// Scripts and -c: statements run in order, the first error stops the script with
// FILE:LINE:COL, the rendered excerpt and exit status 1. Statements here need no model.
import Foundation
import TLLang
import XCTest
@testable import TLRepl

final class ScriptRunnerTests: XCTestCase {
    func run(_ source: String, origin: String = "t.tl") -> (status: Int32, out: String, err: String, session: Session) {
        let session = Session(environment: [:])
        let (output, streams) = capturedOutput()
        session.output = output
        let status = withExtendedLifetime(output) { ScriptRunner.run(source: source, origin: origin, session: session) }
        return (status, streams.stdout, streams.stderr, session)
    }

    func testStatementsSeparatedBySemicolonsAndNewlines() {
        let r = run("x = 1 + 2; print x\ny = x * 10\nprint y\ny + 1", origin: "-c")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.out, "3\n30\n31\n")
        XCTAssertEqual(r.err, "")
    }

    func testWarnGoesToStandardError() {
        let r = run("warn \"careful\"\nprint \"done\"")
        XCTAssertEqual(r.out, "done\n")
        XCTAssertEqual(r.err, "careful\n")
    }

    func testRuntimeErrorStopsWithLocationAndStatusOne() {
        let r = run("x = 1\nprint nope\nprint 2")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "")
        let lines = r.err.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "t.tl:2:7: error: unknown variable 'nope'")
        XCTAssertEqual(lines.dropFirst().first, "  2 | print nope")
        XCTAssertEqual(lines.dropFirst(2).first, "    |       ^^^^")
        XCTAssertNotNil(r.session.variables["x"], "statements before the error ran")
    }

    func testParseErrorRunsNothingAndPointsAtTheVerb() {
        let r = run("print 1\npach resid_post")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.out, "", "a script that does not parse runs no statement")
        XCTAssertTrue(r.err.hasPrefix("t.tl:2:1: error: unknown verb 'pach'"), r.err)
        XCTAssertTrue(r.err.contains("patch"), "suggests the verb: \(r.err)")
    }

    func testScriptFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-\(UUID().uuidString).tl")
        try "a = 20 + 1\nprint a * 2\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let session = Session(environment: [:])
        let (output, streams) = capturedOutput()
        session.output = output
        XCTAssertEqual(ScriptRunner.run(file: url.path, session: session), 0)
        XCTAssertEqual(streams.stdout, "42\n")
    }

    func testMissingScriptFileSaysWhy() {
        let session = Session(environment: [:])
        let (output, streams) = capturedOutput()
        session.output = output
        XCTAssertEqual(ScriptRunner.run(file: "/no/such/script.tl", session: session), 1)
        XCTAssertEqual(streams.stderr, "tlsh: cannot read script /no/such/script.tl: no such file; check the path and its permissions\n")
        withExtendedLifetime(output) {}
    }

    func testResultOfTheLastStatementIsShown() {
        let r = run("help print")
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.hasPrefix("print — "), r.out)
    }
}
