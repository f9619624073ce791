// Fuzzes the tlsh language: the parser, the continuation rule and completion on mutated statements with
// random cursors, and a live Session (golden tiny-a model) executing them. A statement that fails must
// leave every binding as it was.
import Foundation
import TLLang
import XCTest

/// A comparable summary of a session value, so "the bindings did not change" can be checked.
func fingerprint(_ value: Value) -> String {
    switch value {
    case .none: return "none"
    case .number(let n): return "n\(n.bitPattern)"
    case .string(let s): return "s\(s.debugDescription)"
    case .list(let items): return "[" + items.map(fingerprint).joined(separator: ",") + "]"
    case .tensor(let t):
        let checksum = t.tensor.data.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1.bitPattern)) &* 1099511628211 }
        return "t\(t.tensor.shape)\(t.axes)\(checksum)"
    case .cache(let c): return "c\(ObjectIdentifier(c).hashValue)"
    case .cacheSeries(let c, let s): return "cs\(ObjectIdentifier(c).hashValue)\(s)"
    case .metric(let m): return "m\(m.metric)"
    case .result(let d, let data): return "r\(d.plainText.hashValue)\(data.map { fingerprint(.tensor($0)) } ?? "")"
    case .wildcard: return "*"
    case .sae(let s): return "sae\(ObjectIdentifier(s).hashValue)"
    }
}

func fingerprint(_ session: Session) -> [String: String] { session.variables.mapValues(fingerprint) }

enum LanguageFixtures {
    /// The golden tiny-a model (d_vocab 1000, n_ctx 64) with the small byte-level tokenizer of
    /// TokenizerFuzzTests (ids below 300), so both token-id lists and text prompts run.
    static let tinyModel: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-fuzz-tiny-a-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixture = FuzzPaths.fixture("golden/tiny-a/hf")
        for name in ["config.json", "model.safetensors"] {
            try? FileManager.default.createSymbolicLink(at: directory.appendingPathComponent(name),
                                                        withDestinationURL: fixture.appendingPathComponent(name))
        }
        try? Data(TokenizerFuzzTests.tokenizerJSON().utf8).write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory.path
    }()

    /// A session on tiny-a that never touches the network or the user's cache.
    static func session() throws -> Session {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-fuzz-hf-\(getpid())")
        let session = Session(environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": home.path])
        try session.execute("model \"\(tinyModel)\"")
        try session.execute(setup)
        return session
    }

    static let setup = """
        clean = run [999, 5, 6, 7, 8]
        corrupt = run [999, 5, 9, 7, 8]
        metric = logit_diff 3 4
        x = [1, 2, 3]
        v = mean(clean.resid_post[1], over=pos)
        s = "text"
        n = 3
        """

    static let statements = [
        "run [999, 1, 2]", "c = run [999, 1, 2, 3] bos=false", "top clean k=5", "top k=3 pos=0", "loss clean per_token=true",
        "norms clean resid_post pos=*", "norms clean attn_out", "lens clean pos=* k=3", "lens clean at=resid_mid",
        "patch resid_post layer=*", "patch resid_post layer=* pos=*", "patch z layer=* head=*", "patch pattern layer=1 head=0..2",
        "patch attn_out layer=0..2 pos=-1 clean=clean corrupt=corrupt metric=metric", "dla 3 - 4 cache=clean k=5", "dla 7 pos=-2",
        "induction len=10", "induction len=5 seed=3 threshold=0.5", "detect previous_token \"abc\"", "show clean.pattern[0]",
        "show clean[\"pattern\", 1] title=\"layer 1\" colors=viridis", "print x[1] n*2 s", "y = clean.resid_post[1][0, -1]",
        "y = sum(clean.pattern[0], over=key)", "argmax(clean.pattern[1], over=key)", "hooks attn layer=0", "info", "vars",
        "help patch", "tokens \"hi\"", "w = v * 2.0 + v / 3 - -v", "z = x[0..2]", "clean[\"blocks.0.attn.hook_pattern\"]",
        "m = logit_diff 5 6", "set precision=3", "max(clean.resid_post[0], over=pos)", "norm(clean.resid_post[1], over=d_model)",
        "clean.shape", "clean.resid_post", "clean.pattern[1][0, 1:, :]", "min(clean.attn_out[0], over=pos)", "x[-1]",
        "q = (n + 1) * (2 - n) / 4", "print clean.logits", "generate \"a\" n=3", "top corrupt", "x = [n, n * 2, [1, 2]]",
        "lens", "loss corrupt", "u = v[0..8]", "warn \"careful\"", "q = clean.tokens", "clean.scale[0]",
        "t = run \"the thing\"", "test \"the\" \" thing\" k=3", "tokens \"héllo ab\" bos=false", "generate \"the\" n=3 temperature=0.7 top_k=5",
        "detect previous_token \"ab ab ab\" exclude_bos=true", "dla \"a\" - \"b\"", "metric = logit_diff \"a\" \"b\"",
        "generate \"the\" n=2 add=v at=resid_post layer=1", "top \"the thing\" k=2", "loss \"the thing\" per_token=true",
    ]

    /// Verbs and values whose side effects reach outside the session (files, network, other models) are
    /// parsed but not executed.
    static func isSafeToExecute(_ source: String) -> Bool {
        !(source.contains("save") || source.contains("model") || source.contains("threads"))
    }

    static var dictionary: [String] {
        CommandTable.standard.verbNames + CommandTable.standard.functionNames + axisNames
            + ["=", "*", "..", "[", "]", "(", ")", "\"", ",", ".", ";", "\n", "\\\n", "-", "/", "1e300", "-1e309", "0/0",
               "9223372036854775807", "layer=", "pos=", "head=", "k=", "n=", "len=", "clean", "corrupt", "x", "v", "cache"]
    }
}

final class LanguageFuzzTests: XCTestCase {
    /// Parser, completeness, completion and inspect (no model needed): pure functions of the text.
    func testParserCompletenessAndCompletionOnMutatedStatements() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 4000, defaultSeconds: 12)
        let table = CommandTable.standard
        let seeds = (table.commands.flatMap(\.examples) + table.functions.flatMap(\.examples) + LanguageFixtures.statements
                     + [LanguageFixtures.setup, "x = mean(\n    v,\n    over=pos\n)", "# comment\nprint 1 # tail", "\"unterminated"])
            .map { Array($0.utf8) }
        let context = CompletionContext(variables: ["clean", "corrupt", "x"], hookNames: ["blocks.0.hook_resid_post", "blocks.0.attn.hook_pattern"],
                                        cacheShortNames: ["resid_post", "pattern"], table: table)
        let session = Session(environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent"])
        var rng = SeededGenerator(seed: budget.seed)
        _ = fuzz("language-parse", corpus: seeds, dictionary: LanguageFixtures.dictionary, budget: budget) { input in
            let source = String(decoding: input, as: UTF8.self)
            let length = source.unicodeScalars.count
            _ = completeness(of: source)
            for cursor in [0, length, Int.random(in: -3...(length + 3), using: &rng), -1_000_000, Int.max, Int.min] {
                let result = complete(source: source, cursor: cursor, context: context)
                XCTAssert(result.start <= result.end && result.start >= 0 && result.end <= length,
                          "completion range \(result.start)..<\(result.end) outside 0...\(length)")
                _ = session.completions(source: source, cursor: cursor)
                _ = session.inspect(source: source, cursor: cursor)
            }
            _ = try Parser.parse(source)
        }
    }

    /// A live session on tiny-a: mutated statements run; failures leave the bindings unchanged.
    func testSessionExecutesMutatedStatementsTransactionally() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 6000, defaultSeconds: 25)
        var session = try LanguageFixtures.session()
        let seeds = LanguageFixtures.statements.map { Array($0.utf8) }
        let report = fuzz("language-session", corpus: seeds, dictionary: LanguageFixtures.dictionary, budget: budget) { input in
            let source = String(decoding: input, as: UTF8.self)
            guard LanguageFixtures.isSafeToExecute(source) else { _ = try Parser.parse(source); return }
            // Keep the setup bindings so later inputs reach deep code (a mutated `clear` may remove them).
            if session.variables["clean"] == nil || session.variables["metric"] == nil || session.variables.count > 60 {
                session = try LanguageFixtures.session()
            }
            let statements = (try? Parser.parse(source)) ?? []
            let before = fingerprint(session)
            let model = session.current.map(ObjectIdentifier.init)
            let settings = (session.settings.precision, session.settings.seed, session.settings.threads)
            do throws(ExecutionError) {
                try session.execute(source)
            } catch {
                if statements.count <= 1 {
                    XCTAssertEqual(fingerprint(session), before, "a failed statement changed bindings: \(source.debugDescription)")
                    XCTAssertEqual(session.current.map(ObjectIdentifier.init), model)
                    XCTAssert(settings == (session.settings.precision, session.settings.seed, session.settings.threads))
                }
                XCTAssertFalse(error.message.isEmpty, "an error without a message for \(source.debugDescription)")
                throw error
            }
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }
}
