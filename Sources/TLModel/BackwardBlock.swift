// One transformer block's backward, step by step in the reverse of Forward.block's order:
// resid_post → MLP (W_out, gelu_new, W_in, ln2) → resid_mid → attention (W_O, pattern·v, softmax,
// q·kᵀ, W_QKV, ln1) → resid_pre. Every buffer's shape is in a comment; products go through
// BLAS.sgemm (OpenBLAS or the small-row kernel).
import Foundation
import TLTensor

extension Backward {
    /// On entry `dResid` is the gradient at blocks.l.hook_resid_post; on exit, at hook_resid_pre.
    func blockBackward(_ l: Int, _ dResid: inout Tensor) throws {
        let p = "blocks.\(l).", layer = model.floatLayer(l)
        let d = cfg.dModel, M = cfg.dMLP, rows = B * P
        try fire(p + "hook_resid_post", &dResid)

        // MLP. mlp_out = post @ W_out + b_out: d post = d mlp_out @ W_outᵀ  [B, P, M]
        var dMlpOut = dResid
        try fire(p + "hook_mlp_out", &dMlpOut)
        var dPost = Self.timesTransposed(dMlpOut, layer.wOut, rows: rows, k: d, n: M, shape: [B, P, M])
        try fire(p + "mlp.hook_post", &dPost)
        // post = gelu_new(pre): d pre = d post · gelu_new′(pre)  [B, P, M]
        var dPre = dPost
        Self.geluNewBackward(&dPre, pre: try act(p + "mlp.hook_pre"))
        try fire(p + "mlp.hook_pre", &dPre)
        // pre = ln2(mlp_in) @ W_in + b_in: d ln2 out = d pre @ W_inᵀ  [B, P, d]
        let dLn2 = Self.timesTransposed(dPre, layer.wIn, rows: rows, k: M, n: d, shape: [B, P, d])
        var dMlpIn = try layerNormBackward(dLn2, weight: layer.ln2W, prefix: p + "ln2.")
        if model.optionalHooks.mlpIn || options.inputGradients { try fire(p + "hook_mlp_in", &dMlpIn) }

        // resid_post = resid_mid + mlp_out: resid_mid gets the skip and the MLP's input gradient.
        var dMid = dResid
        dMid.add(dMlpIn)
        try fire(p + "hook_resid_mid", &dMid)

        // Attention. resid_mid = resid_pre + attn_out.
        var dAttnOut = dMid
        try fire(p + "hook_attn_out", &dAttnOut)
        var dz = try attentionOutputBackward(l, dAttnOut)  // [B, P, H, dh]
        try fire(p + "attn.hook_z", &dz)
        var (dq, dk, dv) = try attentionCoreBackward(l, dz)
        try fire(p + "attn.hook_v", &dv)
        try fire(p + "attn.hook_k", &dk)
        try fire(p + "attn.hook_q", &dq)
        let dFromAttention = try attentionInputBackward(l, dq: dq, dk: dk, dv: dv)  // [B, P, d]

        var dPreResid = dMid
        dPreResid.add(dFromAttention)
        try fire(p + "hook_resid_pre", &dPreResid)
        dResid = dPreResid
    }

    // MARK: Attention

    /// attn_out = z @ W_O + b_O (or Σ_h hook_result[h] + b_O): d z  [B, P, H, dh].
    func attentionOutputBackward(_ l: Int, _ dAttnOut: Tensor) throws -> Tensor {
        let d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, rows = B * P
        let wO = model.floatLayer(l).wO  // [H·dh, d]
        guard model.optionalHooks.attnResult else {
            return Self.timesTransposed(dAttnOut, wO, rows: rows, k: d, n: hd, shape: [B, P, H, dh])
        }
        // result[h] = z[h] @ W_O[h]: every head's result gets d attn_out  [B, P, H, d]
        var dResult = Tensor(uninitialized: [B, P, H, d])
        for r in 0..<rows { for h in 0..<H { for i in 0..<d { dResult.data[(r * H + h) * d + i] = dAttnOut.data[r * d + i] } } }
        try fire("blocks.\(l).attn.hook_result", &dResult)
        var dz = Tensor(uninitialized: [B, P, H, dh])
        dResult.data.withUnsafeBufferPointer { g in
            wO.withUnsafeBufferPointer { wo in
                dz.data.withUnsafeMutableBufferPointer { o in
                    for h in 0..<H {
                        BLAS.sgemm(transB: true, m: rows, n: dh, k: d, a: g.baseAddress! + h * d, lda: H * d,
                                   b: wo.baseAddress! + h * dh * d, ldb: d, c: o.baseAddress! + h * dh, ldc: hd)
                    }
                }
            }
        }
        return dz
    }

    /// z = pattern · v, pattern = softmax(scores), scores = q · kᵀ / scale: d q, d k, d v  [B, P, H, dh],
    /// firing the pattern's and the scores' gradients [B, H, P, P] on the way.
    func attentionCoreBackward(_ l: Int, _ dz: Tensor) throws -> (Tensor, Tensor, Tensor) {
        let p = "blocks.\(l).attn.", H = cfg.nHeads, dh = cfg.dHead, hd = H * dh
        let q = try act(p + "hook_q"), k = try act(p + "hook_k"), v = try act(p + "hook_v")  // [B, P, H, dh]
        let pattern = try act(p + "hook_pattern")  // [B, H, P, P]
        guard pattern.shape == [B, H, P, P] else {
            throw TLModelError.invalidInput("the backward needs full causal attention; the pattern has shape \(pattern.shape)")
        }
        var scale = Float(dh).squareRoot()
        if cfg.scaleAttnByInverseLayerIdx { scale *= Float(l + 1) }
        // d pattern[b, h] = d z[b, ·, h] @ v[b, ·, h]ᵀ  [P, P] — above the diagonal too, as autograd
        // gives it (the pattern is 0 there, its gradient is not);  d v[b, ·, h] = pattern[b, h]ᵀ @ d z[b, ·, h]
        var dPattern = Tensor(uninitialized: [B, H, P, P])
        var dv = Tensor(uninitialized: [B, P, H, dh])
        dz.data.withUnsafeBufferPointer { g in
            v.data.withUnsafeBufferPointer { vs in
                pattern.data.withUnsafeBufferPointer { pt in
                    dPattern.data.withUnsafeMutableBufferPointer { dp in
                        dv.data.withUnsafeMutableBufferPointer { dvs in
                            for b in 0..<B {
                                for h in 0..<H {
                                    let seq = b * P * hd + h * dh, block = (b * H + h) * P * P
                                    BLAS.sgemm(transB: true, m: P, n: P, k: dh, a: g.baseAddress! + seq, lda: hd,
                                               b: vs.baseAddress! + seq, ldb: hd, c: dp.baseAddress! + block, ldc: P)
                                    BLAS.sgemm(transA: true, m: P, n: dh, k: P, a: pt.baseAddress! + block, lda: P,
                                               b: g.baseAddress! + seq, ldb: hd, c: dvs.baseAddress! + seq, ldc: hd)
                                }
                            }
                        }
                    }
                }
            }
        }
        try fire(p + "hook_pattern", &dPattern)
        // Softmax over keys: d scores = pattern ⊙ (d pattern − Σ_j pattern_j · d pattern_j)  [B, H, P, P]
        var dScores = consume dPattern
        dScores.data.withUnsafeMutableBufferPointer { ds in
            pattern.data.withUnsafeBufferPointer { pt in
                for row in 0..<(B * H * P) {
                    let o = row * P
                    var dot: Float = 0
                    for j in 0..<P { dot += pt[o + j] * ds[o + j] }
                    for j in 0..<P { ds[o + j] = pt[o + j] * (ds[o + j] - dot) }
                }
            }
        }
        try fire(p + "hook_attn_scores", &dScores)
        // d q[b, ·, h] = d scores[b, h] @ k[b, ·, h] / scale;  d k[b, ·, h] = d scores[b, h]ᵀ @ q[b, ·, h] / scale
        var dq = Tensor(uninitialized: [B, P, H, dh]), dk = Tensor(uninitialized: [B, P, H, dh])
        dScores.data.withUnsafeBufferPointer { ds in
            q.data.withUnsafeBufferPointer { qs in
                k.data.withUnsafeBufferPointer { ks in
                    dq.data.withUnsafeMutableBufferPointer { dqs in
                        dk.data.withUnsafeMutableBufferPointer { dks in
                            for b in 0..<B {
                                for h in 0..<H {
                                    let seq = b * P * hd + h * dh, block = (b * H + h) * P * P
                                    BLAS.sgemm(m: P, n: dh, k: P, alpha: 1 / scale, a: ds.baseAddress! + block, lda: P,
                                               b: ks.baseAddress! + seq, ldb: hd, c: dqs.baseAddress! + seq, ldc: hd)
                                    BLAS.sgemm(transA: true, m: P, n: dh, k: P, alpha: 1 / scale, a: ds.baseAddress! + block, lda: P,
                                               b: qs.baseAddress! + seq, ldb: hd, c: dks.baseAddress! + seq, ldc: hd)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dq, dk, dv)
    }

    /// q|k|v = ln1(resid_pre) @ W_QKV + b_QKV: d resid_pre from the attention path  [B, P, d].
    func attentionInputBackward(_ l: Int, dq: Tensor, dk: Tensor, dv: Tensor) throws -> Tensor {
        let d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, rows = B * P
        let layer = model.floatLayer(l), p = "blocks.\(l)."
        let opt = model.optionalHooks
        if !(opt.attnIn || opt.splitQKVInput || options.inputGradients) {
            // One shared input: d ln1 out = [dq | dk | dv] @ W_QKVᵀ  [B, P, d]
            var dqkv = [Float](repeating: 0, count: rows * 3 * hd)  // [B·P, 3·H·dh]
            for r in 0..<rows {
                for i in 0..<hd {
                    dqkv[r * 3 * hd + i] = dq.data[r * hd + i]
                    dqkv[r * 3 * hd + hd + i] = dk.data[r * hd + i]
                    dqkv[r * 3 * hd + 2 * hd + i] = dv.data[r * hd + i]
                }
            }
            let dLn1 = Self.timesTransposed(Tensor(shape: [B, P, 3 * hd], data: dqkv), layer.wQKV, rows: rows, k: 3 * hd, n: d, shape: [B, P, d])
            return try layerNormBackward(dLn1, weight: layer.ln1W, prefix: p + "ln1.")
        }
        return try perHeadInputBackward(l, grads: [dq, dk, dv])
    }

    /// TransformerLens's per-head inputs (use_attn_in / use_split_qkv_input, or `inputGradients`):
    /// each head's q, k and v read their own copy of the residual stream, normalised by ln1 on its
    /// own. The gradient at each copy is fired as hook_q_input / hook_k_input / hook_v_input
    /// [B, P, H, d]; ln1's hooks see the sum over the copies (hooks there are read-only here).
    func perHeadInputBackward(_ l: Int, grads: [Tensor]) throws -> Tensor {
        let d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, rows = B * P
        let layer = model.floatLayer(l), p = "blocks.\(l).", ln = p + "ln1."
        let opt = model.optionalHooks
        // ln1's cached output and scale, per head  [B, P, H, d] and [B, P, H, 1]
        let cachedN = try act(ln + "hook_normalized"), cachedS = try act(ln + "hook_scale")
        let perHeadCache = cachedN.rank == 4
        let normalized = perHeadCache ? cachedN : Self.repeatHeads(cachedN, H)
        let scale = perHeadCache ? cachedS : Self.repeatHeads(cachedS, H)
        let stopScale = options.stopGradient?(ln + "hook_scale") ?? false
        let stopNormalized = options.stopGradient?(ln + "hook_normalized") ?? false
        var totalDn = Tensor(zeros: [B, P, H, d]), totalDs = Tensor(zeros: [B, P, H, 1])
        var inputs: [Tensor] = []
        for (which, g) in grads.enumerated() {
            // d ln1 out per head: d x[·, h] = d q[·, h] @ W_Q[h]ᵀ  [B, P, H, d]
            var dn = Tensor(uninitialized: [B, P, H, d])
            g.data.withUnsafeBufferPointer { gs in
                layer.wQKV.withUnsafeBufferPointer { ws in
                    dn.data.withUnsafeMutableBufferPointer { o in
                        for h in 0..<H {
                            BLAS.sgemm(transB: true, m: rows, n: d, k: dh, a: gs.baseAddress! + h * dh, lda: hd,
                                       b: ws.baseAddress! + which * hd + h * dh, ldb: 3 * hd, c: o.baseAddress! + h * d, ldc: H * d)
                        }
                    }
                }
            }
            if let wt = layer.ln1W { for r in 0..<(rows * H) { for i in 0..<d { dn.data[r * d + i] *= wt[i] } } }
            var ds = Tensor(zeros: [B, P, H, 1])
            for r in 0..<(rows * H) {
                var s: Float = 0
                for i in 0..<d { s += dn.data[r * d + i] * normalized.data[r * d + i] }
                ds.data[r] = -s / scale.data[r]
            }
            totalDn.add(dn); totalDs.add(ds)
            if stopScale { ds = Tensor(zeros: ds.shape) }
            if stopNormalized { dn = Tensor(zeros: dn.shape) }
            inputs.append(Self.layerNormInputGradient(dn: dn, ds: ds, normalized: normalized, scale: scale))
        }
        // ln1's gradients (the sum over the three uses), in the cache's shape.
        var dn = perHeadCache ? totalDn : Self.sumHeads(totalDn)
        var ds = perHeadCache ? totalDs : Self.sumHeads(totalDs)
        try fire(ln + "hook_normalized", &dn)
        try fire(ln + "hook_scale", &ds)
        if opt.splitQKVInput || options.inputGradients {
            for (which, name) in [(2, "hook_v_input"), (1, "hook_k_input"), (0, "hook_q_input")] { try fire(p + name, &inputs[which]) }
        }
        var dAttnIn = inputs[0]
        dAttnIn.add(inputs[1]); dAttnIn.add(inputs[2])  // [B, P, H, d]
        // With split inputs TransformerLens computes hook_attn_in but reads the residual stream
        // again for q/k/v, so attn_in has no gradient there; alone, it feeds all three.
        if opt.attnIn && !opt.splitQKVInput { try fire(p + "hook_attn_in", &dAttnIn) }
        return Self.sumHeads(dAttnIn)
    }

    // MARK: Helpers

    /// x [rows, k] @ Wᵀ for W [n, k] row-major  →  [rows, n] with `shape`.
    static func timesTransposed(_ x: Tensor, _ W: [Float], rows: Int, k: Int, n: Int, shape: [Int]) -> Tensor {
        var out = Tensor(uninitialized: shape)
        x.data.withUnsafeBufferPointer { xs in
            W.withUnsafeBufferPointer { ws in
                out.data.withUnsafeMutableBufferPointer { o in
                    BLAS.sgemm(transB: true, m: rows, n: n, k: k, a: xs.baseAddress!, lda: k, b: ws.baseAddress!, ldb: k,
                               c: o.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }

    /// g ← g · gelu_new′(pre), with gelu_new(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
    static func geluNewBackward(_ g: inout Tensor, pre: Tensor) {
        let c = Float((2.0 / Double.pi).squareRoot())
        g.data.withUnsafeMutableBufferPointer { gs in
            pre.data.withUnsafeBufferPointer { xs in
                for i in 0..<gs.count {
                    let x = xs[i], t = tanhf(c * (x + 0.044715 * x * x * x))
                    gs[i] *= 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
                }
            }
        }
    }

    /// [B, P, k] → [B, P, H, k], each row repeated per head.
    static func repeatHeads(_ t: Tensor, _ H: Int) -> Tensor {
        let k = t.shape.last!, rows = t.count / k
        var out = Tensor(uninitialized: Array(t.shape.dropLast()) + [H, k])
        for r in 0..<rows { for h in 0..<H { for i in 0..<k { out.data[(r * H + h) * k + i] = t.data[r * k + i] } } }
        return out
    }

    /// [B, P, H, k] → [B, P, k], summed over heads.
    static func sumHeads(_ t: Tensor) -> Tensor {
        let k = t.shape[3], H = t.shape[2], rows = t.shape[0] * t.shape[1]
        var out = Tensor(zeros: [t.shape[0], t.shape[1], k])
        for r in 0..<rows { for h in 0..<H { for i in 0..<k { out.data[r * k + i] += t.data[(r * H + h) * k + i] } } }
        return out
    }
}
