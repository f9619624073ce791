// Keys and values of earlier positions, so generation runs each new token through the model once.

/// Past keys/values per layer and sequence, [pos, n_heads, d_head] each, plus the padding mask.
public final class KVCache: @unchecked Sendable {
    /// keys[layer][batch] and values[layer][batch]: row-major [length, n_heads·d_head].
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
