// A boolean shared between threads. Swift's `Atomic` cannot be captured by escaping closures or stored
// in a Sendable class without a wrapper; this is the one wrapper (interrupts, cancellation, "finished").
import Synchronization

public final class AtomicFlag: Sendable {
    private let value: Atomic<Bool>

    public init(_ initial: Bool = false) { value = Atomic(initial) }

    public var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    public func set(_ on: Bool = true) { value.store(on, ordering: .sequentiallyConsistent) }
}
