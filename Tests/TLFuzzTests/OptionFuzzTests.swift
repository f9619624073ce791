// Issue #23: every option (and positional argument) of every command, given each edge case of its
// declared kind, as the built `tlsh` binary runs it. The parsers' fuzzers check that bytes parse;
// this checks what values mean: 0, -1, the declared bound and one past it, 2^31 − 1, 2^63 − 1, NaN,
// ±inf, an empty string and a 100,000-character string must each end in exit status 0 or 1 — never a
// signal, never a hang, never more memory than the budget — and a statement that succeeds on finite
// input must not print NaN.
import Foundation
import Glibc
import Synchronization
import XCTest
@testable import TLLang

final class OptionFuzzTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The tlsh built beside this test bundle, else TLSH_BINARY, else .build/release.
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["TLSH_BINARY"], !env.isEmpty { return env }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tlsh").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/release/tlsh").path
    }()

    /// Peak resident memory any one statement may reach (the embedded model and its caches take
    /// about 150 MB; `lens k=2147483647` once reached 11 GB).
    static let memoryBudgetKB = 1 << 20
    /// Wall-clock limit per statement.
    static let timeLimit = 30.0

    /// Variables the commands' examples use, defined before every statement.
    static let prelude = """
        cache = run "The capital of France is"
        c = cache
        clean = run "The Eiffel Tower is in the city of"
        corrupt = run "The Colosseum is in the city of"
        c1 = clean
        c2 = corrupt
        metric = logit_diff " Paris" " Rome"
        pos = run "I love this movie"
        neg = run "I hate this movie"
        v = mean(pos.resid_post[2], over=pos) - mean(neg.resid_post[2], over=pos)
        x = 1
        """

    struct Outcome {
        var statement: String
        var status: Int32?
        var signal: Int32?
        var maxRSSKB: Int
        var seconds: Double
        var stdout: String
        var stderr: String
        var timedOut: Bool
    }

    /// Runs `tlsh -c PRELUDE; STATEMENT` in the current directory, writing its output into
    /// `directory`, and records how it ended.
    static func run(_ statement: String, in directory: String) -> Outcome {
        let out = directory + "/out-\(UUID().uuidString)", err = out + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let args = [binary, "-c", prelude + "\n" + statement]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let environment: [String] = ["HOME=\(directory)", "PATH=/usr/bin:/bin", "TERM=dumb"]
        var env: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for p in env { free(p) } }
        var pid: pid_t = 0
        let start = Date()
        guard posix_spawn(&pid, binary, &actions, nil, &argv, &env) == 0 else {
            return Outcome(statement: statement, status: nil, signal: nil, maxRSSKB: 0, seconds: 0, stdout: "", stderr: "spawn failed", timedOut: false)
        }
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if Date().timeIntervalSince(start) > timeLimit, !timedOut { kill(pid, SIGKILL); timedOut = true }
            usleep(2_000)
        }
        let seconds = Date().timeIntervalSince(start)
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        unlink(out); unlink(err)
        // WIFEXITED / WTERMSIG by hand: the C macros do not import.
        let signal = status & 0x7f
        return Outcome(statement: statement, status: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                       maxRSSKB: usage.ru_maxrss, seconds: seconds, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Edge cases for a value of `kind`, as source text; `bound` is the option's declared upper bound
    /// resolved for the embedded model.
    static func edgeValues(for kind: ArgKind, bound: Int?) -> [String] {
        let long = "\"" + String(repeating: "a", count: 100_000) + "\""
        let common = ["0/0", "1/0", "-1/0", "\"\"", long]
        var numbers = ["0", "-1", "1", "2147483647", "9223372036854775807", "-9223372036854775807"]
        if let bound { numbers += [String(bound), String(bound + 1)] }
        switch kind {
        case .integer: return numbers + common
        case .number: return numbers + ["1e-39", "0.5", "1e300"] + common
        case .boolean: return ["true", "false", "0", "1"] + common
        case .layers, .positions, .heads: return numbers + ["*", "0..2", "[0, 1]", "[99]", "5..1"] + common
        case .choice(let names): return names + ["nonsense"] + common
        case .hook: return ["resid_post", "pattern", "z", "\"blocks.0.hook_resid_post\"", "\"blocks.99.hook_resid_post\"", "nonsense"] + common
        case .tokens: return ["\" Paris\"", "\" Paris\" - \" Rome\"", "0", "-1", "50256", "50257", "2147483647"] + common
        case .text, .value, .word, .path: return ["\"hi\"", "x", "cache", "v", "metric"] + numbers.prefix(3) + common
        }
    }

    /// One statement per (command, option or positional, edge value): the command's first example
    /// with that option set (replacing it if the example has it) or that positional replaced.
    static func statements(vocabulary: Int, context: Int) -> [String] {
        func resolve(_ limit: ValueBounds.Limit?) -> Int? {
            switch limit {
            case .value(let v)?: return Int(v)
            case .vocabulary?: return vocabulary
            case .context?: return context
            case nil: return nil
            }
        }
        var out: [String] = []
        for spec in CommandTable.standard.commands where !["model", "clear", "help"].contains(spec.name) {
            guard var example = spec.examples.first else { continue }
            if let eq = example.range(of: " = "), !example[..<eq.lowerBound].contains(" ") { example = String(example[eq.upperBound...]) }
            for option in spec.options {
                let stripped = example.replacingOccurrences(of: " \(option.name)=[^ ]+", with: "", options: .regularExpression)
                for value in edgeValues(for: option.kind, bound: resolve(option.bounds?.upper)) {
                    out.append(stripped + " \(option.name)=\(value)")
                }
            }
            // Positionals: replace the whole argument list with edge values for the first positional,
            // keeping the rest from a second valid statement where there is one.
            if let first = spec.positionals.first {
                for value in edgeValues(for: first.kind, bound: nil) {
                    let rest: String
                    switch spec.name {
                    case "test": rest = " \" Paris\""
                    case "norms": rest = " resid_post"
                    case "detect": rest = " \"a b c a b c\""
                    case "save": rest = " \"fuzz-out.npy\""
                    default: rest = ""
                    }
                    out.append(spec.name + " " + value + rest)
                }
            }
        }
        // The commands with side effects on the session, on their own.
        out += ["model nonsense", "model \"\"", "model process=0/0", "clear nosuchvariable", "help nonsense", "help \"\""]
        return out
    }

    func testEveryOptionOnItsEdgeValuesEndsCleanly() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("no \(Self.binary); build it with swift build -c release --product tlsh")
        }
        let session = Session(environment: ProcessInfo.processInfo.environment)
        try session.execute("model")
        let cfg = session.current!.model.config
        let statements = Self.statements(vocabulary: cfg.dVocab, context: cfg.nCtx)
        let directory = NSTemporaryDirectory() + "tlsh-option-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Statements that save write relative paths: keep them in the scratch directory.
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(directory)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }

        let outcomes = Mutex(Array<Outcome?>(repeating: nil, count: statements.count))
        let next = Mutex(0)
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let start = Date()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                guard i < statements.count else { return }
                let outcome = Self.run(statements[i], in: directory)
                outcomes.withLock { $0[i] = outcome }
            }
        }
        var succeeded = 0, refused = 0, abnormal = 0, peakKB = 0, slowest = 0.0
        for outcome in outcomes.withLock({ $0 }).compactMap({ $0 }) {
            let where_ = "statement: \(outcome.statement.prefix(200))\nstderr: \(outcome.stderr.suffix(600))"
            XCTAssertFalse(outcome.timedOut, "ran past \(Self.timeLimit) s — \(where_)")
            XCTAssertNil(outcome.signal, "killed by signal \(outcome.signal ?? 0) — \(where_)")
            XCTAssertTrue(outcome.status == 0 || outcome.status == 1, "exit status \(outcome.status.map(String.init) ?? "none") — \(where_)")
            XCTAssertLessThan(outcome.maxRSSKB, Self.memoryBudgetKB, "peak RSS \(outcome.maxRSSKB / 1024) MB — \(where_)")
            let nonFiniteInput = ["0/0", "1/0", "-1/0", "1e300"].contains { outcome.statement.contains($0) }
            // A listing of (nearly) the whole vocabulary contains GPT-2's token "nan" itself.
            let listsTheVocabulary = outcome.statement.range(of: #"k=\d{4,}"#, options: .regularExpression) != nil
            if outcome.status == 0 && !nonFiniteInput && !listsTheVocabulary {
                XCTAssertNil(outcome.stdout.range(of: #"(?i)(^|[^a-z])nan([^a-z]|$)"#, options: .regularExpression),
                             "printed NaN on finite input — \(where_)\nstdout: \(outcome.stdout.prefix(600))")
            }
            if outcome.status == 1 {
                XCTAssertTrue(outcome.stderr.contains("error"), "exit 1 without an error message — \(where_)")
            }
            if outcome.status == 0 { succeeded += 1 } else if outcome.status == 1 { refused += 1 } else { abnormal += 1 }
            peakKB = max(peakKB, outcome.maxRSSKB)
            slowest = max(slowest, outcome.seconds)
        }
        print(String(format: "fuzz options: %d statements in %.1f s (%d succeeded, %d refused with exit 1), peak RSS %d MB, slowest %.2f s, %d crashes or hangs",
                     statements.count, Date().timeIntervalSince(start), succeeded, refused, peakKB / 1024, slowest, abnormal))
    }
}
