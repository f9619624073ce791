// All of tlsh's numeric parallelism goes through here: matrix products split into units or
// pieces (PackedMatrix, BLAS.sgemm), attention heads, and element-wise passes. OpenBLAS itself runs
// single-threaded: its idle worker threads spin (sched_yield) after each call, and on a 2-core
// machine that spinning took a core away from everything tlsh ran between products (22% of a
// 1024-token forward). At most `width` threads (DispatchQueue.concurrentPerform) take work as they
// free up, because on a shared host one core is often slower than the other; small jobs stay on
// the caller.
import Foundation
import Synchronization

public enum Parallel {
    /// The machine's active processor count, at most 8.
    public static let defaultWidth = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// Worker count for parallel sections: the current `EngineContext`'s threads.
    public static var width: Int { EngineContext.current.threads }

    /// Splits 0..<count into at most `chunks` contiguous, near-equal, non-empty ranges
    /// (count·c/chunks ..< count·(c+1)/chunks) and runs `body` on each, as `forEach` does.
    public static func forEachChunk(of count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(chunks, count))
        forEach(chunks) { c in body((count * c / chunks)..<(count * (c + 1) / chunks)) }
    }

    /// Splits 0..<count into contiguous pieces that `workers` threads claim in turn, each piece
    /// about 1/(2·workers) of what is left and at least `minimum` long (guided scheduling): the
    /// first pieces are long, so work that streams through memory stays sequential, and the last
    /// ones short, so a worker on a faster core finishes the other's work instead of waiting.
    public static func forEachGuided(of count: Int, workers: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        if workers <= 1 || width == 1 { return body(0..<count) }
        let next = Atomic<Int>(0)
        forEach(workers) { _ in
            var start = next.load(ordering: .relaxed)
            while start < count {
                let end = min(count, start + max(minimum, (count - start) / (2 * workers)))
                let (claimed, current) = next.compareExchange(expected: start, desired: end, ordering: .relaxed)
                if claimed {
                    body(start..<end)
                    start = next.load(ordering: .relaxed)
                } else {
                    start = current
                }
            }
        }
    }

    /// Runs `body(i)` for i in 0..<count on at most `width` threads, each taking the next index as
    /// it finishes one (so a slower core simply takes fewer). Bodies must touch disjoint memory.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(count, width)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        // Workers run under the caller's engine context (threads and precision of nested work).
        let context = EngineContext.bound
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            // One iteration per worker: concurrentPerform over all `count` indices would run up to
            // one thread per core, whatever `width` says.
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                EngineContext.$bound.withValue(context) {
                    while case let i = next.wrappingAdd(1, ordering: .relaxed).oldValue, i < count { box.value(i) }
                }
            }
        }
    }
}

/// Carries a non-Sendable closure into concurrentPerform; callers guarantee disjoint work.
private struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
