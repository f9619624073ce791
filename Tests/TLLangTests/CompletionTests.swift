import XCTest
@testable import TLLang
import TLModel

final class CompletionTests: XCTestCase {
    private let context = CompletionContext(
        variables: ["cache", "clean", "corrupt", "metric", "v"],
        hookNames: HookNames.all(nLayers: 2),
        cacheShortNames: Session.cacheShortNames(fullNames: HookNames.all(nLayers: 2)))

    /// Completes at the `|` in `marked` (the bar is removed first).
    private func complete(_ marked: String) -> CompletionResult {
        let scalars = Array(marked.unicodeScalars)
        let cursor = scalars.firstIndex(of: "|") ?? scalars.count
        var source = marked
        source.unicodeScalars.removeAll { $0 == "|" }
        return TLLang.complete(source: source, cursor: cursor, context: context)
    }

    func testVerbsAndVariablesAtStatementStart() {
        XCTAssertEqual(complete("pa|"), CompletionResult(start: 0, end: 2, matches: ["patch"], closing: " "))
        XCTAssertEqual(complete("c|").matches, ["clear", "cache", "clean", "corrupt"])
        XCTAssertEqual(complete("x = 1; ge|").matches, ["generate"])
        XCTAssertEqual(complete("x = 1\nnor|").matches, ["norms", "norm"])
        XCTAssertEqual(complete("m = logit|").matches, ["logit_diff"])
    }

    func testOptionsAfterVerb() {
        XCTAssertEqual(complete("patch resid_post l|"), CompletionResult(start: 17, end: 18, matches: ["layer="]))
        XCTAssertEqual(complete("patch resid_post layer=* |").matches, ["pos=", "head=", "clean=", "corrupt=", "metric=", "normalize=", "feature=", "k=", "value=", "saes=", "error=", "ablate="])
        XCTAssertEqual(complete("generate \"The movie was\" n=20 a|").matches, ["add=", "at=", "ablate="])
    }

    func testPositionalKinds() {
        XCTAssertEqual(complete("patch res|").matches, ["resid_pre", "resid_mid", "resid_post"])
        XCTAssertEqual(complete("detect pr|").matches, ["previous_token"])
        XCTAssertEqual(complete("detect previous_token \"x\" |").matches, ["measure=", "exclude_bos=", "exclude_current="])
        XCTAssertEqual(complete("norms cache r|").matches, ["resid_pre", "resid_mid", "resid_post"])
        XCTAssertEqual(complete("norms c|").matches, ["cache", "clean", "corrupt"])
        XCTAssertEqual(complete("help pa|").matches, ["patch"])
        XCTAssertEqual(complete("help m|").matches, ["model", "mean", "max", "min"])
    }

    func testOptionValues() {
        XCTAssertEqual(complete("detect induction \"x\" measure=|").matches, ["mul", "abs"])
        XCTAssertEqual(complete("tokens \"x\" bos=f|").matches, ["false"])
        XCTAssertEqual(complete("generate \"x\" at=resid_p|").matches, ["resid_pre", "resid_post"])
        XCTAssertEqual(complete("patch z clean=c|").matches, ["cache", "clean", "corrupt"])
        XCTAssertEqual(complete("v = mean(x, over=p|").matches, ["pos"])
        XCTAssertEqual(complete("v = mean(x, o|").matches, ["over="])
    }

    func testMembersAndHookStrings() {
        XCTAssertEqual(complete("show cache.pat|"), CompletionResult(start: 11, end: 14, matches: ["pattern"]))
        XCTAssertEqual(complete("cache.|").matches.prefix(3), ["embed", "pos_embed", "resid_pre"])
        XCTAssertEqual(complete("x = cache[\"blocks.1.attn.hook_p|"),
                       CompletionResult(start: 11, end: 31, matches: ["blocks.1.attn.hook_pattern"], closing: "\"]"))
        XCTAssertEqual(complete("x = cache[\"hook_|").matches, ["hook_embed", "hook_pos_embed"])
    }

    func testNothingInCommentsOrPlainStringsOrAfterValues() {
        XCTAssertEqual(complete("run \"The pa|").matches, [])
        XCTAssertEqual(complete("x = 1 # pa|").matches, [])
        XCTAssertEqual(complete("x = 12|").matches, [])
    }

    func testCursorCountsUnicodeScalarsWithNonASCIIBefore() {
        // "日本語" is 3 scalars (9 UTF-8 bytes); "é" below is e + combining mark (2 scalars).
        XCTAssertEqual(complete("s = \"日本語\"; pat|"), CompletionResult(start: 11, end: 14, matches: ["patch"], closing: " "))
        XCTAssertEqual(complete("s = \"e\u{301}\"\nshow cache.resid_po|"),
                       CompletionResult(start: 20, end: 28, matches: ["resid_post"]))
        // Cursor in the middle of a word completes the part before it.
        XCTAssertEqual(complete("x = \"ü\"; gen|erate"), CompletionResult(start: 9, end: 12, matches: ["generate"], closing: " "))
    }

    func testCursorOutOfRangeIsClamped() {
        XCTAssertEqual(TLLang.complete(source: "pa", cursor: 99, context: context).matches, ["patch"])
        XCTAssertEqual(TLLang.complete(source: "pa", cursor: -3, context: context).start, 0)
    }
}
