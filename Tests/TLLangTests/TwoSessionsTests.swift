// Two sessions in one process keep their own engine settings: each statement runs under its own
// session's EngineContext (threads, matmul precision, memory budget), bound for that statement
// only, so one session's `set` never reaches another running at the same time.
import Foundation
import XCTest
@testable import TLLang
import TLTensor

final class TwoSessionsTests: XCTestCase {
    private let outputs = [CapturingOutput(), CapturingOutput()]  // sessions hold outputs weakly

    private func session(_ i: Int) throws -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = outputs[i]
        try s.execute("model")  // the embedded default
        return s
    }

    /// Runs `a` and `b` at the same time on two threads, `rounds` times each.
    private func concurrently(rounds: Int, _ a: @escaping @Sendable () -> Void, _ b: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        for body in [a, b] {
            DispatchQueue.global().async(group: group) { for _ in 0..<rounds { body() } }
        }
        group.wait()
    }

    func testMemoryBudgetsAndPrecisionsStayWithTheirSessions() throws {
        let capped = try session(0), free = try session(1)
        let prompt = "\"The capital of France is\""
        let expected = try XCTUnwrap(try free.execute("top \(prompt) k=3")?.plainText)
        // A cap too small for any cache in one session only.
        capped.settings.engine.memoryLimitBytes = 1000
        let useAMX = AMX.available
        if useAMX { try capped.execute("set matmul=medium") }
        let reducedExpected = useAMX ? try capped.execute("top \(prompt) k=3")?.plainText : nil

        let failures = Failures()
        concurrently(rounds: 15, {
            do {
                try capped.execute("c = run \(prompt)")
                failures.add("the capped session cached a run")
            } catch {
                if !"\(error)".contains("memory") { failures.add("capped: \(error)") }
            }
            if useAMX, (try? capped.execute("top \(prompt) k=3"))??.plainText != reducedExpected {
                failures.add("capped: matmul=medium gave other numbers while the other session ran")
            }
        }, {
            do {
                try free.execute("c = run \(prompt)")
                if try free.execute("top \(prompt) k=3")?.plainText != expected {
                    failures.add("free: top changed while the other session ran")
                }
            } catch { failures.add("free: \(error)") }
        })
        XCTAssertEqual(failures.all, [])
        XCTAssertEqual(free.settings.matmul, .highest)
        XCTAssertNil(free.settings.engine.memoryLimitBytes)
        XCTAssertEqual(EngineContext.processDefault, EngineContext(), "no session touched the process default")
        if useAMX { XCTAssertNotEqual(reducedExpected, expected, "bf16 products move the last digits") }
    }

    func testThreadsBoundPerRunReachParallelsWorkers() {
        // Two runs at once with different widths: each sees its own, also inside its workers.
        let seen = Failures()
        concurrently(rounds: 50, {
            EngineContext(threads: 1).run {
                if Parallel.width != 1 { seen.add("width \(Parallel.width) in the 1-thread run") }
            }
        }, {
            EngineContext(threads: 3).run {
                Parallel.forEach(6) { _ in
                    if Parallel.width != 3 { seen.add("worker saw width \(Parallel.width) in the 3-thread run") }
                }
            }
        })
        XCTAssertEqual(seen.all, [])
    }
}

/// Failure messages collected from several threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: String) { lock.lock(); messages.append(m); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return Array(Set(messages)).sorted() }
}
