// TransformerLens's ActivationCache: activations by full hook name in firing order, looked up by
// full or short name, plus the analyses that decompose the residual stream.
import TLTensor

/// Cached activations of one run, with batch dimension, keyed by full hook name.
public final class ActivationCache: @unchecked Sendable {
    public private(set) var keys: [String] = []
    private var store: [String: Tensor] = [:]
    public let model: HookedTransformer

    init(model: HookedTransformer) { self.model = model }

    /// A cache of activations computed elsewhere (another engine running the same model), in the
    /// order given.
    public convenience init(model: HookedTransformer, entries: [(String, Tensor)]) {
        self.init(model: model)
        for (name, t) in entries { store(name, t) }
    }

    func store(_ name: String, _ t: Tensor) {
        if store[name] == nil { keys.append(name) }
        store[name] = t
    }

    public var count: Int { keys.count }
    public func contains(_ name: String) -> Bool { store[name] != nil }

    /// Exact full name lookup.
    public subscript(_ name: String) -> Tensor? { store[name] }

    /// TransformerLens-style lookup: a full name, a short name, or a short name with a layer
    /// (negative counts from the end) and a layer type (`"scale", 4, "ln1"`).
    public func get(_ name: String, layer: Int? = nil, layerType: String? = nil) throws -> Tensor {
        var l = layer
        if let layer, layer < 0 { l = layer + model.config.nLayers }
        if let l, l < 0 || l >= model.config.nLayers {
            throw TLModelError.invalidInput("layer \(layer!) is out of range: the model has layers 0…\(model.config.nLayers - 1)")
        }
        let full = HookNames.actName(name, layer: l, layerType: layerType)
        guard let t = store[full] else {
            let known = model.hookNames.contains(full)
            throw TLModelError.invalidInput(known
                ? "the cache has no '\(full)'; it was not cached (run without a names filter, or include it)"
                : "'\(full)' is not a hook name of this model; see `hooks` for the list")
        }
        return t
    }

    /// Replaces or adds an entry (used by compute_head_results and by analyses).
    public func set(_ name: String, _ t: Tensor) { store(name, t) }

    /// Adds an entry just before `other` in the key order (or at the end when `other` is not
    /// cached): spliced SAEs' hook_sae_* values go before the hook they replace.
    public func insert(_ name: String, _ t: Tensor, before other: String) {
        if store[name] == nil {
            if let i = keys.firstIndex(of: other) { keys.insert(name, at: i) } else { keys.append(name) }
        }
        store[name] = t
    }
}
