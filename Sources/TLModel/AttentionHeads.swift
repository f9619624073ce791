// One layer's attention over all (sequence, head) pairs, each pair on one core at a time
// (Parallel.forEach), in two forms: fused (scores and pattern never leave a cache-sized scratch
// block; used when no hook or cache asks for them) and materialised ([B, H, P, T] scores and
// pattern for hooks and the cache). Both compute each score as q·k / scale and each z row as a
// pattern-weighted sum of value rows over the keys the query can see.
import TLTensor

struct AttentionHeads {
    let B: Int, H: Int, P: Int, T: Int, past: Int, dHead: Int
    let scale: Float
    /// Per sequence, the key mask over all T keys as Int32, or nil when every key is real.
    let masks: [[Int32]?]
    /// Key/value heads (grouped-query attention: query head h reads kv head h / (H / kvHeads)).
    var kvHeads: Int = 0

    var hd: Int { H * dHead }
    /// Row stride of the per-sequence keys and values [T, kv_heads·d_head].
    var kvStride: Int { (kvHeads == 0 ? H : kvHeads) * dHead }
    /// Offset of query head h's key/value head within a key or value row.
    func kvOffset(_ h: Int) -> Int { (kvHeads == 0 ? h : h / (H / kvHeads)) * dHead }

    /// Below this much work (multiply-adds) the pairs run on the calling thread.
    private var parallelWorth: Bool { B * H * P * T * dHead >= 1 << 16 }

    private func forEachPair(_ body: (_ b: Int, _ h: Int) -> Void) {
        if parallelWorth {
            Parallel.forEach(B * H) { body($0 / H, $0 % H) }
        } else {
            for bh in 0..<(B * H) { body(bh / H, bh % H) }
        }
    }

    private func withMask<R>(_ b: Int, _ body: (UnsafePointer<Int32>?) -> R) -> R {
        guard let mask = masks[b] else { return body(nil) }
        return mask.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Runs `body(b, h, q, out, scratch)` for every pair, with q [B, P, H, dh]'s base, `out`'s base
    /// and a per-call scratch block for the attention kernels.
    private func forEachPairWithScratch(q: Tensor, out: inout Tensor,
                                        _ body: (Int, Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let scratchCount = AttentionKernels.scratchCount(t: T, dHead: dHead)
        q.data.withUnsafeBufferPointer { qs in
            out.data.withUnsafeMutableBufferPointer { os in
                let (qBase, oBase) = (Int(bitPattern: qs.baseAddress!), Int(bitPattern: os.baseAddress!))
                forEachPair { b, h in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                    defer { scratch.deallocate() }
                    body(b, h, UnsafePointer<Float>(bitPattern: qBase)!, UnsafeMutablePointer<Float>(bitPattern: oBase)!, scratch)
                }
            }
        }
    }

    /// z [B, P, H, dh] from q [B, P, H, dh] and per-sequence keys/values [T, H·dh].
    func fused(q: Tensor, keys: [[Float]], values: [[Float]], z: inout Tensor) {
        forEachPairWithScratch(q: q, out: &z) { b, h, qs, zs, scratch in
            keys[b].withUnsafeBufferPointer { ks in
                values[b].withUnsafeBufferPointer { vs in
                    withMask(b) { mask in
                        AttentionKernels.causal(rows: 0..<P, t: T, past: past, dHead: dHead, scale: scale,
                                                q: qs + b * P * hd + h * dHead, qStride: hd,
                                                k: ks.baseAddress! + kvOffset(h), kStride: kvStride,
                                                v: vs.baseAddress! + kvOffset(h), vStride: kvStride, keyMask: mask,
                                                z: zs + b * P * hd + h * dHead, zStride: hd, scratch: scratch)
                    }
                }
            }
        }
    }

    /// Masked, scaled scores [B, H, P, T].
    func scores(q: Tensor, keys: [[Float]]) -> Tensor {
        var out = Tensor(uninitialized: [B, H, P, T])
        forEachPairWithScratch(q: q, out: &out) { b, h, qs, os, scratch in
            keys[b].withUnsafeBufferPointer { ks in
                withMask(b) { mask in
                    AttentionKernels.scores(rows: 0..<P, t: T, past: past, dHead: dHead, scale: scale,
                                            q: qs + b * P * hd + h * dHead, qStride: hd,
                                            k: ks.baseAddress! + kvOffset(h), kStride: kvStride, keyMask: mask,
                                            s: os + (b * H + h) * P * T, scratch: scratch)
                }
            }
        }
        return out
    }

    /// Softmax over keys, in place on [B, H, P, T]. With `causal`, each row's softmax covers its
    /// visible prefix and the rest is set to 0 (the same numbers: those scores are −inf).
    func softmax(_ pattern: inout Tensor, causal: Bool) {
        pattern.data.withUnsafeMutableBufferPointer { pt in
            let base = Int(bitPattern: pt.baseAddress!)
            forEachPair { b, h in
                let block = UnsafeMutablePointer<Float>(bitPattern: base)! + (b * H + h) * P * T
                for i in 0..<P {
                    let row = block + i * T, valid = causal ? min(T, past + i + 1) : T
                    NeuralOps.softmaxRow(row, count: valid)
                    for j in valid..<T { row[j] = 0 }
                }
            }
        }
    }

    /// z [B, P, H, dh] = pattern [B, H, P, T] · values; `causal` skips keys after each query.
    func patternTimesValues(_ pattern: Tensor, values: [[Float]], z: inout Tensor, causal: Bool) {
        pattern.data.withUnsafeBufferPointer { pt in
            z.data.withUnsafeMutableBufferPointer { zs in
                let (pBase, zBase) = (Int(bitPattern: pt.baseAddress!), Int(bitPattern: zs.baseAddress!))
                forEachPair { b, h in
                    values[b].withUnsafeBufferPointer { vs in
                        AttentionKernels.patternTimesValues(
                            rows: 0..<P, t: T, past: past, dHead: dHead, causal: causal,
                            pattern: UnsafePointer<Float>(bitPattern: pBase)! + (b * H + h) * P * T,
                            v: vs.baseAddress! + kvOffset(h), vStride: kvStride,
                            z: UnsafeMutablePointer<Float>(bitPattern: zBase)! + b * P * hd + h * dHead, zStride: hd)
                    }
                }
            }
        }
    }
}
