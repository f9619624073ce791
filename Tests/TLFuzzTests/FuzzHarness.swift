// A deterministic, seeded mutation fuzzer that runs inside XCTest. libFuzzer would need a separately
// built, instrumented binary per target (see docs/RELIABILITY.md); this harness runs in `swift test`, needs
// nothing installed and replays exactly from its seed, so a bounded run can be part of every CI build.
//
// Each target starts from a corpus of valid inputs, applies a few random mutations per input and feeds the
// result to the parser under test. A crash kills the test process, so before every input the harness writes
// it to tools/fuzz/last-input-<target>: after a crash that file is the reproducer.
import Foundation
import XCTest

/// SplitMix64: tiny, fast and fully determined by its seed (the standard library's generator is not seedable).
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How long each target runs: the smaller of a count and a wall-clock budget, both scalable from the
/// environment for long runs (`TLSH_FUZZ_ITERATIONS=200000 TLSH_FUZZ_SECONDS=3600`).
struct FuzzBudget {
    var iterations: Int
    var seconds: Double
    var seed: UInt64

    static func fromEnvironment(defaultIterations: Int, defaultSeconds: Double) -> FuzzBudget {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["TLSH_FUZZ_ITERATIONS"].flatMap(Int.init) ?? defaultIterations
        let seconds = env["TLSH_FUZZ_SECONDS"].flatMap(Double.init) ?? defaultSeconds
        let seed = env["TLSH_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x7715_4C53
        return FuzzBudget(iterations: max(iterations, 1), seconds: max(seconds, 0.1), seed: seed)
    }
}

/// What one target's run did, printed for docs/RELIABILITY.md and CI logs.
struct FuzzReport: CustomStringConvertible {
    let target: String
    var inputs = 0
    var accepted = 0
    var rejected = 0
    var seconds = 0.0
    var slowest = 0.0
    /// Distinct error descriptions (first 80 characters), to see which checks the inputs reached.
    var errorKinds = Set<String>()

    var description: String {
        String(format: "fuzz %@: %d inputs in %.1f s (%d accepted, %d rejected with %d distinct errors, slowest %.3f s), 0 crashes",
               target, inputs, seconds, accepted, rejected, errorKinds.count, slowest)
    }
}

enum FuzzPaths {
    /// tools/fuzz in the repository this test file belongs to.
    static let toolsDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/fuzz")
    static let repositoryRoot: URL = toolsDirectory.deletingLastPathComponent().deletingLastPathComponent()

    static func lastInput(_ target: String) -> URL { toolsDirectory.appendingPathComponent("last-input-\(target)") }

    static func fixture(_ relative: String) -> URL { repositoryRoot.appendingPathComponent("Tests/Fixtures/\(relative)") }
}

/// Byte-level mutations in the spirit of libFuzzer's: flips, random and "interesting" bytes, inserts,
/// deletes, duplication, splices from other corpus entries, dictionary words, integer-boundary numbers and
/// truncation. Several are applied per input so that structure-aware and blind changes mix.
struct Mutator {
    /// Words the target's format gives meaning to (JSON punctuation, keys, verbs...), inserted verbatim.
    var dictionary: [[UInt8]]
    /// Numbers at integer and float boundaries; substituted for digit runs.
    static let interestingNumbers: [String] = [
        "0", "-0", "1", "-1", "2", "7", "8", "15", "16", "255", "256", "-128", "32767", "65535", "65536",
        "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296", "1099511627776",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "18446744073709551615", "18446744073709551616", "1e308", "1e309", "-1e309", "1e-400", "0.5", "-0.0",
        "1.5", "3.0e2", "1e15", "1e19", "99999999999999999999999", "NaN", "Infinity",
    ]
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xC0, 0xE2, 0xF0, 0xF4, 0x0A, 0x22, 0x5C]

    func mutate(_ input: [UInt8], corpus: [[UInt8]], rng: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let count = Int.random(in: 1...4, using: &rng)
        for _ in 0..<count { mutateOnce(&bytes, corpus: corpus, rng: &rng) }
        return bytes
    }

    private func randomIndex(_ bytes: [UInt8], _ rng: inout SeededGenerator, inclusive: Bool = false) -> Int {
        let upper = inclusive ? bytes.count : max(bytes.count - 1, 0)
        return Int.random(in: 0...upper, using: &rng)
    }

    private func mutateOnce(_ bytes: inout [UInt8], corpus: [[UInt8]], rng: inout SeededGenerator) {
        switch Int.random(in: 0..<11, using: &rng) {
        case 0 where !bytes.isEmpty:  // flip one bit
            let i = randomIndex(bytes, &rng)
            bytes[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        case 1 where !bytes.isEmpty:  // set a random or interesting byte
            let i = randomIndex(bytes, &rng)
            bytes[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng)
                                                : Self.interestingBytes.randomElement(using: &rng)!
        case 2:  // insert a few random bytes
            let i = randomIndex(bytes, &rng, inclusive: true)
            let n = Int.random(in: 1...8, using: &rng)
            bytes.insert(contentsOf: (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
        case 3 where !bytes.isEmpty:  // delete a range
            let i = randomIndex(bytes, &rng)
            let n = min(Int.random(in: 1...16, using: &rng), bytes.count - i)
            bytes.removeSubrange(i..<(i + n))
        case 4 where !bytes.isEmpty:  // duplicate a range somewhere else
            let i = randomIndex(bytes, &rng)
            let n = min(Int.random(in: 1...64, using: &rng), bytes.count - i)
            let chunk = Array(bytes[i..<(i + n)])
            bytes.insert(contentsOf: chunk, at: randomIndex(bytes, &rng, inclusive: true))
        case 5 where !corpus.isEmpty:  // splice: our prefix, another input's suffix
            let other = corpus.randomElement(using: &rng)!
            guard !other.isEmpty else { return }
            let cut = randomIndex(bytes, &rng, inclusive: true)
            let from = randomIndex(other, &rng)
            bytes = Array(bytes[..<cut]) + Array(other[from...])
        case 6 where !dictionary.isEmpty:  // insert a dictionary word
            let word = dictionary.randomElement(using: &rng)!
            bytes.insert(contentsOf: word, at: randomIndex(bytes, &rng, inclusive: true))
        case 7, 8:  // replace a run of digits with a boundary number
            replaceNumber(&bytes, rng: &rng)
        case 9 where !bytes.isEmpty:  // truncate
            bytes.removeSubrange(randomIndex(bytes, &rng)...)
        case 10 where bytes.count >= 2:  // swap two bytes
            bytes.swapAt(randomIndex(bytes, &rng), randomIndex(bytes, &rng))
        default:
            bytes.append(UInt8.random(in: 0...255, using: &rng))
        }
    }

    private func replaceNumber(_ bytes: inout [UInt8], rng: inout SeededGenerator) {
        let digits = bytes.indices.filter { (0x30...0x39).contains(bytes[$0]) }
        let replacement = Array(Self.interestingNumbers.randomElement(using: &rng)!.utf8)
        guard let start = digits.randomElement(using: &rng) else {
            bytes.insert(contentsOf: replacement, at: Int.random(in: 0...bytes.count, using: &rng))
            return
        }
        var lower = start, upper = start + 1
        while lower > 0, (0x30...0x39).contains(bytes[lower - 1]) || bytes[lower - 1] == 0x2D { lower -= 1 }
        while upper < bytes.count, (0x30...0x39).contains(bytes[upper]) || bytes[upper] == 0x2E || bytes[upper] == 0x65 { upper += 1 }
        bytes.replaceSubrange(lower..<upper, with: replacement)
    }
}

/// Runs one target: `body` gets each mutated input and returns normally (accepted) or throws (rejected);
/// either is fine. Anything else — a trap, a hang, a violated invariant the body asserts — is a finding.
/// `persist` writes the input where a crash leaves it for reproduction (default: last-input-<target>).
func fuzz(_ target: String, corpus: [[UInt8]], dictionary: [String] = [], budget: FuzzBudget,
          slowLimit: Double = 5, persist: ((String, [UInt8]) throws -> Void)? = nil,
          file: StaticString = #filePath, line: UInt = #line,
          body: ([UInt8]) throws -> Void) -> FuzzReport {
    precondition(!corpus.isEmpty, "a fuzz target needs at least one seed")
    var rng = SeededGenerator(seed: budget.seed ^ UInt64(truncatingIfNeeded: target.utf8.reduce(5381) { ($0 &* 33) &+ Int($1) }))
    let mutator = Mutator(dictionary: dictionary.map { Array($0.utf8) })
    var report = FuzzReport(target: target)
    let lastInput = FuzzPaths.lastInput(target)
    try? FileManager.default.createDirectory(at: FuzzPaths.toolsDirectory, withIntermediateDirectories: true)
    let watchdog = HangWatchdog(target: target, limit: max(slowLimit * 6, 30), reproducer: lastInput.path)
    defer { watchdog.stop() }
    let started = Date()
    while report.inputs < budget.iterations && Date().timeIntervalSince(started) < budget.seconds {
        // Seeds themselves first (they must pass), then mutants of random seeds.
        let input = report.inputs < corpus.count
            ? corpus[report.inputs]
            : mutator.mutate(corpus.randomElement(using: &rng)!, corpus: corpus, rng: &rng)
        do {
            if let persist { try persist(target, input) } else { try Data(input).write(to: lastInput) }
        } catch {
            XCTFail("cannot write the reproducer for \(target): \(error)", file: file, line: line)
            break
        }
        let inputStarted = Date()
        watchdog.started(at: inputStarted)
        do {
            try body(input)
            report.accepted += 1
        } catch {
            report.rejected += 1
            report.errorKinds.insert(String(String(describing: error).prefix(80)))
        }
        let elapsed = Date().timeIntervalSince(inputStarted)
        if elapsed > report.slowest && elapsed > 0.5 {
            // Kept so a slow input (a hang in the making) can be replayed and profiled.
            let kept = FuzzPaths.toolsDirectory.appendingPathComponent("slowest-input-\(target)")
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.copyItem(at: lastInput, to: kept)
        }
        report.slowest = max(report.slowest, elapsed)
        if elapsed > slowLimit {
            let kept = FuzzPaths.toolsDirectory.appendingPathComponent("slow-input-\(target)")
            try? FileManager.default.removeItem(at: kept)
            try? FileManager.default.copyItem(at: lastInput, to: kept)
            XCTFail("\(target): one input took \(String(format: "%.1f", elapsed)) s (limit \(slowLimit) s); kept as \(kept.path)",
                    file: file, line: line)
        }
        report.inputs += 1
    }
    report.seconds = Date().timeIntervalSince(started)
    print(report)
    recordReport(report)
    return report
}

/// Appends the report to tools/fuzz/reports.log (ignored by git) so a long run leaves its numbers behind.
private func recordReport(_ report: FuzzReport) {
    let url = FuzzPaths.toolsDirectory.appendingPathComponent("reports.log")
    let line = "\(ISO8601DateFormatter().string(from: Date())) \(report)\n"
    if let handle = try? FileHandle(forWritingTo: url) {
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try? handle.close()
    } else {
        try? Data(line.utf8).write(to: url)
    }
}

/// Ends the test process when one input runs far too long: a hang in the code under test would otherwise
/// stall the test (and CI) without saying which input did it. The reproducer is already on disk.
final class HangWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var inputStarted: Date?
    private var stopped = false

    init(target: String, limit: Double, reproducer: String) {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 1)
                lock.lock()
                let (since, done) = (inputStarted, stopped)
                lock.unlock()
                if done { return }
                if let since, Date().timeIntervalSince(since) > limit {
                    FileHandle.standardError.write(Data("fuzz \(target): one input has run for more than \(Int(limit)) s (a hang); it is in \(reproducer)\n".utf8))
                    abort()
                }
            }
        }
        thread.start()
    }

    func started(at date: Date) { lock.lock(); inputStarted = date; lock.unlock() }
    func stop() { lock.lock(); stopped = true; lock.unlock() }
}
