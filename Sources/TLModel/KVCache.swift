// Keys and values of earlier positions, so generation runs each new token through the model once.

/// Past keys/values per layer and sequence, [pos, kv_heads, d_head] each (keys after rotary, for
/// rotary models), plus the padding mask.
public final class KVCache: @unchecked Sendable {
    /// keys[layer][batch] and values[layer][batch]: row-major [length, kv_heads·d_head].
    var keys: [[[Float]]]
    var values: [[[Float]]]
    /// mask[batch][pos]: 1 for a real token, 0 for padding, over all cached positions.
    public internal(set) var mask: [[Int]]
    public internal(set) var length = 0
    /// Set by a run that appended; the next run's positions start here.
    let batch: Int

    public init(config: ModelConfig, batch: Int) {
        self.batch = batch
        keys = Array(repeating: Array(repeating: [], count: batch), count: config.nLayers)
        values = keys
        mask = Array(repeating: [], count: batch)
    }
}

extension KVCache {
    /// A cache holding the first `length` positions of a cached run's keys and values (every layer
    /// whose `attn.hook_k` (`hook_rot_k` for rotary models)/`hook_v` is in `cache`), so a later run can recompute only the positions
    /// after them — the causal shortcut that activation patching uses.
    public convenience init(prefixOf cache: ActivationCache, length: Int) throws {
        try self.init(prefixOf: cache, length: length, copies: nil, layers: nil)
    }

    /// The prefix of a one-sequence cached run repeated for `copies` sequences, filled only at
    /// `layers`: a batch of patched runs that share the corrupted run's earlier positions, run
    /// over just those blocks (a staggered patch sweep), needs no other layers' keys.
    public convenience init(prefixOf cache: ActivationCache, length: Int, copies: Int, layers: Range<Int>) throws {
        try self.init(prefixOf: cache, length: length, copies: copies, layers: Optional(layers))
    }

    /// The hook (in a block, after `blocks.L.`) whose value the cache keeps as keys: after rotary
    /// for rotary models.
    public static func keyHook(for cfg: ModelConfig) -> String { cfg.isRotary ? "attn.hook_rot_k" : "attn.hook_k" }

    private convenience init(prefixOf cache: ActivationCache, length: Int, copies: Int?, layers: Range<Int>?) throws {
        let cfg = cache.model.config
        let keyHook = Self.keyHook(for: cfg)
        guard let anyK = cache["blocks.\(cfg.nLayers - 1).\(keyHook)"] else {
            throw TLModelError.invalidInput("the cache lacks attention keys; cache \(keyHook) and hook_v to reuse them")
        }
        let cachedBatch = anyK.shape[0], P = anyK.shape[1], hd = cfg.kvHeads * cfg.dHead
        if copies != nil && cachedBatch != 1 {
            throw TLModelError.invalidInput("repeating a key/value prefix needs a one-sequence cache, got \(cachedBatch) sequences")
        }
        let batch = copies ?? cachedBatch
        self.init(config: cfg, batch: batch)
        for l in layers ?? 0..<cfg.nLayers {
            guard let k = cache["blocks.\(l).\(keyHook)"], let v = cache["blocks.\(l).attn.hook_v"] else { continue }
            for b in 0..<batch {
                let start = (copies == nil ? b : 0) * P * hd
                keys[l][b] = Array(k.data[start..<(start + length * hd)])
                values[l][b] = Array(v.data[start..<(start + length * hd)])
            }
        }
        mask = Array(repeating: Array(repeating: 1, count: length), count: batch)
        self.length = length
    }
}
