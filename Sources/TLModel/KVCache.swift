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
        let cfg = cache.model.config
        let keyHook = cfg.isRotary ? "attn.hook_rot_k" : "attn.hook_k"
        guard let anyK = cache["blocks.\(cfg.nLayers - 1).\(keyHook)"] else {
            throw TLModelError.invalidInput("the cache lacks attention keys; cache \(keyHook) and hook_v to reuse them")
        }
        let batch = anyK.shape[0], P = anyK.shape[1], hd = cfg.kvHeads * cfg.dHead
        self.init(config: cfg, batch: batch)
        for l in 0..<cfg.nLayers {
            guard let k = cache["blocks.\(l).\(keyHook)"], let v = cache["blocks.\(l).attn.hook_v"] else { continue }
            for b in 0..<batch {
                let start = b * P * hd
                keys[l][b] = Array(k.data[start..<(start + length * hd)])
                values[l][b] = Array(v.data[start..<(start + length * hd)])
            }
        }
        mask = Array(repeating: Array(repeating: 1, count: length), count: batch)
        self.length = length
    }
}
