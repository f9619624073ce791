// Session.completions / isComplete / inspect: the front-end-neutral editing help the REPL and
// the Jupyter kernel share. No model is needed: hook short names come from the GPT-2 layout.
import TLLang
import XCTest

final class SessionCompletionTests: XCTestCase {
    let session = Session(environment: [:])

    func testVerbsAtTheStartOfAStatement() {
        let r = session.completions(source: "pa", cursor: 2)
        XCTAssertEqual(r.matches, ["patch"])
        XCTAssertEqual(r.start, 0)
        XCTAssertEqual(r.end, 2)
    }

    func testVariablesOfTheSession() throws {
        try session.execute("threshold = 3; thing = 4")
        let r = session.completions(source: "print th", cursor: 8)
        XCTAssertEqual(Set(r.matches), ["thing", "threshold"])
        XCTAssertEqual(r.start, 6)
    }

    func testOptionsOfTheVerbAndTheirChoices() {
        let options = session.completions(source: "patch resid_post la", cursor: 19)
        XCTAssertEqual(options.matches, ["layer="])
        let measure = session.completions(source: "detect induction \"a b\" measure=", cursor: 31)
        XCTAssertFalse(measure.matches.isEmpty)
        XCTAssertTrue(measure.matches.contains("mul"), "\(measure.matches)")
    }

    func testCacheShortNamesAfterADot() throws {
        let r = session.completions(source: "x = c.resid_p", cursor: 13)
        XCTAssertEqual(r.matches, ["resid_pre", "resid_post"])
        let all = session.completions(source: "c.", cursor: 2).matches
        for name in ["pattern", "attn_out", "mlp_out", "logits", "tokens"] { XCTAssertTrue(all.contains(name), name) }
    }

    func testHookArgumentsOfferShortNames() {
        let r = session.completions(source: "patch attn", cursor: 10)
        XCTAssertEqual(r.matches, ["attn_scores", "attn_out"].filter { r.matches.contains($0) })
        XCTAssertTrue(r.matches.contains("attn_out"), "\(r.matches)")
    }

    func testCursorInTheMiddleCountsUnicodeScalars() {
        // "é" is one scalar: the cursor after "pr" in `x = "é"; pr` is 11.
        let source = "x = \"é\"; pr"
        let r = session.completions(source: source, cursor: source.unicodeScalars.count)
        XCTAssertEqual(r.matches, ["print"])
        XCTAssertEqual(r.start, 9)
    }

    func testContinuationRule() {
        XCTAssertEqual(session.isComplete("x = (1 +"), .incomplete(indent: "    "))
        XCTAssertEqual(session.isComplete("x = (1 +\n 2)"), .complete)
        XCTAssertEqual(session.isComplete("print \"open"), .incomplete(indent: ""))
        guard case .invalid = session.isComplete("x = 1)") else { return XCTFail("a stray bracket cannot be completed") }
    }

    func testInspectVerbOptionVariableAndHook() throws {
        let help = session.inspect(source: "patch resid_post layer=*", cursor: 2)
        XCTAssertEqual(help, CommandTable.standard.help(for: "patch"))
        let option = try XCTUnwrap(session.inspect(source: "patch resid_post layer=*", cursor: 19))
        XCTAssertTrue(option.hasPrefix("patch layer= — layers to sweep"), option)
        try session.execute("n = 6 * 7")
        XCTAssertEqual(session.inspect(source: "print n", cursor: 7), "n: number\n42")
        let hook = try XCTUnwrap(session.inspect(source: "cache.resid_post[0]", cursor: 10))
        XCTAssertTrue(hook.contains("blocks.L.hook_resid_post"), hook)
        let full = try XCTUnwrap(session.inspect(source: "cache[\"blocks.0.attn.hook_pattern\"]", cursor: 12))
        XCTAssertTrue(full.contains("[head, query, key]"), full)
        XCTAssertNil(session.inspect(source: "print 12", cursor: 7))
        XCTAssertNil(session.inspect(source: "", cursor: 0))
    }
}
