// Attention for one (sequence, head) at a time, over raw buffers: the engine runs heads on all
// cores (Parallel.forEach) and each call stays on its own core. Backed by Sources/TLKernels/attention.c.
internal import TLKernels

public enum AttentionKernels {
    /// Floats of scratch that `causal` and `scores` need for `t` keys.
    public static func scratchCount(t: Int, dHead: Int) -> Int { tlk_attention_scratch_floats(t, dHead) }

    /// z[i] = softmax(q[i]·kᵀ / scale over visible keys) · v for query rows `rows`; key j is visible
    /// to row i when j ≤ past + i and keyMask[j] != 0 (nil: all keys). Rows with no visible key get 0.
    public static func causal(rows: Range<Int>, t: Int, past: Int, dHead: Int, scale: Float,
                              q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
                              v: UnsafePointer<Float>, vStride: Int, keyMask: UnsafePointer<Int32>?,
                              z: UnsafeMutablePointer<Float>, zStride: Int, scratch: UnsafeMutablePointer<Float>) {
        tlk_attention_causal(rows.lowerBound, rows.upperBound, t, past, dHead, scale, q, qStride, k, kStride,
                             v, vStride, keyMask, z, zStride, scratch)
    }

    /// Scores s[i][j] = q[i]·k[j] / scale for visible keys, −inf elsewhere; s has row stride t.
    public static func scores(rows: Range<Int>, t: Int, past: Int, dHead: Int, scale: Float,
                              q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
                              keyMask: UnsafePointer<Int32>?, s: UnsafeMutablePointer<Float>,
                              scratch: UnsafeMutablePointer<Float>) {
        tlk_attention_scores(rows.lowerBound, rows.upperBound, t, past, dHead, scale, q, qStride, k, kStride,
                             keyMask, s, scratch)
    }

    /// z[i] = Σ_j pattern[i][j] · v[j] for rows `rows` of a [P, t] pattern, on the calling thread.
    /// With `causal`, row i reads only keys j ≤ past + i (the rest of its pattern row must be 0).
    public static func patternTimesValues(rows: Range<Int>, t: Int, past: Int, dHead: Int, causal: Bool,
                                          pattern: UnsafePointer<Float>, v: UnsafePointer<Float>, vStride: Int,
                                          z: UnsafeMutablePointer<Float>, zStride: Int) {
        tlk_attention_pattern_values(rows.lowerBound, rows.upperBound, t, past, dHead, causal ? 1 : 0, pattern, v, vStride,
                                     z, zStride)
    }
}
