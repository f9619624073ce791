// What a new user ran into (issue 16): continuation after a trailing operator, habits from other
// tools, completion that ends words, error messages that point at the right thing, `clear`.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLInterp

final class NewUserTests: XCTestCase {
    private let quiet = CapturingOutput()  // the session holds its output weakly

    private func session() -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = quiet
        return s
    }

    private func number(_ s: Session, _ name: String) -> Double? {
        if case .number(let n)? = s.variables[name] { return n }
        return nil
    }

    // MARK: Continuation after a trailing operator (the `...>` prompt's promise)

    func testATrailingOperatorContinuesOnTheNextLine() throws {
        XCTAssertEqual(sexprs("y = 1 +\n2\nprint y"), sexprs("y = 1 + 2\nprint y"))
        XCTAssertEqual(sexprs("y = 2 *\n  3"), sexprs("y = 2 * 3"))
        XCTAssertEqual(sexprs("y = 8 /\n2 -\n1"), sexprs("y = 8 / 2 - 1"))
        XCTAssertEqual(sexprs("r = 0..\n6"), sexprs("r = 0..6"))
        XCTAssertEqual(sexprs("print 1 +\n2"), sexprs("print 1 + 2"))
        XCTAssertEqual(sexprs("dla \" Paris\" -\n\" Rome\""), sexprs("dla \" Paris\" - \" Rome\""))
        // A `*` that ends a command line is still the sweep, and the next line a new statement.
        XCTAssertEqual(sexprs("patch resid_post layer=*\nprint 1").count, 2)
        XCTAssertEqual(sexprs("print a *\nprint 1").count, 2)
        // Every line so far is incomplete, the whole is complete: the REPL, piped input, scripts
        // and the kernel's is_complete agree.
        XCTAssertEqual(completeness(of: "y = 1 +"), .incomplete(indent: ""))
        XCTAssertEqual(completeness(of: "y = 1 +\n2"), .complete)
        XCTAssertEqual(completeness(of: "print 1 +"), .incomplete(indent: ""))
        XCTAssertEqual(completeness(of: "print 1 +\n2"), .complete)
        let s = session()
        try s.execute("y = 1 +\n2")
        XCTAssertEqual(number(s, "y"), 3)
    }

    // MARK: Habits from other tools

    func testHabitsFromOtherToolsMeanWhatTheySay() throws {
        for spelling in ["exit", "quit", "exit()", "quit()", "\\q", ".quit", ".exit", ":q"] {
            XCTAssertEqual(sexprs(spelling), sexprs("exit"), spelling)
            let s = session()
            try s.execute("x = 1\n\(spelling)\nx = 2")
            XCTAssertTrue(s.exitRequested, spelling)
            XCTAssertEqual(number(s, "x"), 1, "\(spelling) stops the statements after it")
        }
        for (spelling, same) in [("?", "help"), ("\\?", "help"), ("help()", "help"), ("help(patch)", "help patch"),
                                 ("?patch", "help patch"), ("patch?", "help patch"), ("help(\"mean\")", "help mean")] {
            XCTAssertEqual(sexprs(spelling), sexprs(same), spelling)
        }
        let s = session()
        let shown = try XCTUnwrap(try s.execute("help(patch)"))
        XCTAssertTrue(shown.text.contains("patch"), shown.text)
        XCTAssertFalse(s.exitRequested)
        // Only whole statements: `x = quit` is no request to leave, and names that start with
        // quit still work in expressions.
        XCTAssertNotEqual(sexprs("x = quit"), sexprs("x = exit"))
        try s.execute("quit_after = 3\nprint quit_after")
        XCTAssertEqual(number(s, "quit_after"), 3)
    }

    // MARK: Completion ends words

    private func complete(_ marked: String, variables: [String] = ["c", "clean"]) -> CompletionResult {
        let scalars = Array(marked.unicodeScalars)
        let cursor = scalars.firstIndex(of: "|") ?? scalars.count
        var source = marked
        source.unicodeScalars.removeAll { $0 == "|" }
        let context = CompletionContext(variables: variables, hookNames: HookNames.all(nLayers: 2),
                                        cacheShortNames: Session.cacheShortNames(fullNames: HookNames.all(nLayers: 2)),
                                        modelNames: ["gpt2", "gpt2-small", "gpt2-medium", "distilgpt2"])
        return TLLang.complete(source: source, cursor: cursor, context: context)
    }

    func testAUniqueMatchBringsWhatFollowsIt() {
        // A verb gets its space: `pa` Tab `resid_post` reads `patch resid_post`, not `patchresid_post`.
        XCTAssertEqual(complete("pa|").completedText(after: ""), "patch ")
        XCTAssertEqual(complete("pa|").completedText(after: " resid_post"), "patch")
        XCTAssertEqual(complete("patch resid_po|").completedText(after: ""), "resid_post ")
        // A hook name inside `cache["…` closes the string and the bracket.
        XCTAssertEqual(complete("c[\"blocks.0.attn.hook_p|").completedText(after: ""), "blocks.0.attn.hook_pattern\"]")
        XCTAssertEqual(complete("c[\"blocks.0.attn.hook_p|").completedText(after: "\"]"), "blocks.0.attn.hook_pattern")
        // Variables (`c.pattern`), functions (`mean(`), options (`layer=`) and members go on directly.
        XCTAssertEqual(complete("show cl|").completedText(after: ""), "clean")
        XCTAssertEqual(complete("x = mea|").completedText(after: ""), "mean")
        XCTAssertEqual(complete("patch resid_post la|").completedText(after: ""), "layer=")
        XCTAssertEqual(complete("show c.patt|").completedText(after: ""), "pattern")
        XCTAssertNil(complete("c|").completedText(after: ""), "several matches: no unique text")
    }

    func testModelOffersModelNames() {
        XCTAssertEqual(complete("model gpt|").matches, ["gpt2", "gpt2-small", "gpt2-medium"])
        XCTAssertEqual(complete("model gpt2-s|"), CompletionResult(start: 6, end: 12, matches: ["gpt2-small"], closing: " "))
        XCTAssertEqual(complete("model |").matches, ["gpt2", "gpt2-small", "gpt2-medium", "distilgpt2"])
        XCTAssertEqual(complete("model gpt2 pro|").matches, ["process="])
    }

    // MARK: Errors point at the right thing

    private func error(_ statements: String, in s: Session) -> ExecutionError? {
        do { try s.execute(statements); XCTFail("\(statements) ran"); return nil } catch { return error }
    }

    func testErrorsNameTheProblemWhereItIs() throws {
        let s = session()
        try s.execute("""
            clean = run "When John and Mary went to the store, John gave a drink to"
            corrupt = run "When John and Mary went to the store, Mary gave a drink to"
            metric = logit_diff " Mary" " John"
            """)
        // layer=99 underlines 99 (column 24), not the whole line, and says the valid range.
        let layer = try XCTUnwrap(error("patch resid_post layer=99", in: s))
        XCTAssertEqual(layer.column, 24, layer.rendered)
        XCTAssertTrue(layer.message.contains("layer=99 is out of range") && layer.message.contains("0…"), layer.message)
        let pos = try XCTUnwrap(error("patch resid_post pos=99", in: s))
        XCTAssertFalse(pos.message.contains("poss"), pos.message)
        XCTAssertTrue(pos.message.contains("positions"), pos.message)
        // A misspelt activation is named as typed, at its place, with the nearest one.
        let hook = try XCTUnwrap(error("patch resid_pots", in: s))
        XCTAssertTrue(hook.message.contains("'resid_pots'") && !hook.message.contains("blocks.0"), hook.message)
        XCTAssertTrue(hook.rendered.contains("did you mean 'resid_post'?"), hook.rendered)
        XCTAssertEqual(hook.column, 7)
        // k=five asks for digits instead of suggesting the command 'save'.
        let k = try XCTUnwrap(error("top clean k=five", in: s))
        XCTAssertFalse(k.rendered.contains("save"), k.rendered)
        XCTAssertTrue(k.message.contains("whole number"), k.message)
        // One letter is no typo of another.
        try s.execute("c = 1")
        let p = try XCTUnwrap(error("print p", in: s))
        XCTAssertFalse(p.rendered.contains("did you mean 'c'"), p.rendered)
    }

    // MARK: clear

    func testClearAloneClearsTheScreenAndKeepsVariables() throws {
        final class Screen: SessionOutput {
            var clears = 0
            func write(_ t: String, toStandardError: Bool) {}
            func display(_ d: Display) {}
            func progress(_ label: String, done: Int, total: Int) {}
            func clearScreen() { clears += 1 }
        }
        let s = Session(environment: ProcessInfo.processInfo.environment)
        let screen = Screen()
        s.output = screen
        try s.execute("a = 1\nb = 2\nclear")
        XCTAssertEqual(screen.clears, 1)
        XCTAssertEqual(Set(s.variables.keys), ["a", "b"])
        try s.execute("clear a")
        XCTAssertEqual(Set(s.variables.keys), ["b"])
        try s.execute("c = 3\nclear *")
        XCTAssertTrue(s.variables.isEmpty)
        XCTAssertFalse(try XCTUnwrap(CommandTable.standard.help(for: "clear")).contains("gpt2-small"))
    }

    // MARK: The default model says it loaded

    func testTheDefaultModelLoadsWithANoteOnce() throws {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        let out = CapturingOutput()
        s.output = out
        try s.execute("c = run \"Hello\"\nd = run \"world\"")
        XCTAssertEqual(out.text.components(separatedBy: "loaded the default").count - 1, 1, out.text)
    }

    // MARK: generate's progress ends when generation stops early

    func testProgressEndsFullWhenGenerationStopsAtEndOfText() throws {
        let s = session()
        let m = try s.requireModel()
        let prompt = try m.tokens("The movie was")
        let generator = Generator(model: m.model)
        let first = try generator.generate(prompt: prompt, maxNewTokens: 1)[0]
        // Declare the first greedy token end-of-text: generation stops after one of 20 tokens.
        let steps = StepBox()
        let made = try generator.generate(prompt: prompt, maxNewTokens: 20, eos: first,
                                          monitor: WorkMonitor(progress: { done, total in steps.all.append((done, total)) }))
        XCTAssertEqual(made, [first])
        let last = try XCTUnwrap(steps.all.last)
        XCTAssertEqual(last.0, last.1, "the bar ends full, not at 1/20: \(steps.all)")
    }
}

private final class StepBox: @unchecked Sendable { var all: [(Int, Int)] = [] }
