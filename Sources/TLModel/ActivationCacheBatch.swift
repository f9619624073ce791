// One sequence's activations out of a batched run's cache: two prompts that both need caching (a
// patching experiment's clean and corrupted runs) run as one batch, so a model whose short forward
// is bound by streaming its weights streams them once instead of twice.
import TLTensor

extension ActivationCache {
    /// The activations of batch element `b` (every entry keeps a batch axis of size 1), in the same
    /// key order.
    public func sequence(_ b: Int) throws -> ActivationCache {
        try ActivationCache(model: model, entries: keys.map { name in
            guard let t = self[name], t.rank > 0, b >= 0, b < t.shape[0] else {
                throw TLModelError.invalidInput("the cached '\(name)' has no batch element \(b)")
            }
            return (name, try t.gather(axis: 0, indices: [b]))
        })
    }
}
