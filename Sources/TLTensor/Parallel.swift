// Work spread over the cores outside BLAS (attention's masking and softmax, gelu): plain
// DispatchQueue.concurrentPerform, with one chunk per core for small jobs left on the caller.
import Foundation

public enum Parallel {
    /// Worker count: the active processor count, at most 8.
    public static let width = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// Runs `body(i)` for i in 0..<count, on several threads when count > 1. Bodies must touch
    /// disjoint memory; pointers cross as Int bit patterns since raw pointers are not Sendable.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || width == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
        }
    }
}

/// Carries a non-Sendable closure into concurrentPerform; callers guarantee disjoint work.
private struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
