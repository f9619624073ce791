// One transformer block's backward, step by step in the reverse of Forward.block's order:
// resid_post → MLP (post-norm, W_out, activation or gate, W_in, ln2) → resid_mid (sequential
// blocks) → attention (post-norm, W_O, pattern·v, softmax, soft-cap, q·kᵀ, rotary, q/k norms,
// W_QKV, ln1) → resid_pre. Every buffer's shape is in a comment; products with the weights go
// through WeightMatrix, the others through BLAS.sgemm (OpenBLAS or the small-row kernel).
import Foundation
import TLTensor

extension Backward {
    /// On entry `dResid` is the gradient at blocks.l.hook_resid_post; on exit, at hook_resid_pre.
    /// Sequential blocks (GPT-2, Llama, …): resid_mid = resid_pre + attn_out, resid_post = resid_mid
    /// + mlp_out. Parallel blocks (GPT-NeoX): resid_post = resid_pre + attn_out + mlp_out, both
    /// reading resid_pre.
    func blockBackward(_ l: Int, _ dResid: inout Tensor) throws {
        let p = "blocks.\(l)."
        try fire(p + "hook_resid_post", &dResid)

        // MLP
        var dMlpOut = dResid
        try fire(p + "hook_mlp_out", &dMlpOut)
        var dMlpIn = try mlpBackward(l, dMlpOut)  // [B, P, d]
        if model.optionalHooks.mlpIn || options.inputGradients { try fire(p + "hook_mlp_in", &dMlpIn) }

        // What the attention's output feeds: resid_mid (sequential) or resid_post (parallel).
        var dAttnOut: Tensor
        var dSkip = dResid  // the residual stream's own path down to resid_pre
        if cfg.parallelAttnMLP {
            dSkip.add(dMlpIn)
            dAttnOut = dResid
        } else {
            // resid_post = resid_mid + mlp_out: resid_mid gets the skip and the MLP's input gradient.
            var dMid = dResid
            dMid.add(dMlpIn)
            try fire(p + "hook_resid_mid", &dMid)
            dSkip = dMid
            dAttnOut = dMid
        }

        // Attention
        try fire(p + "hook_attn_out", &dAttnOut)
        if let post = w.layers[l].ln1PostW { dAttnOut = try normBackward(dAttnOut, weight: post, prefix: p + "ln1_post.") }
        var dz = try attentionOutputBackward(l, dAttnOut)  // [B, P, H, dh]
        try fire(p + "attn.hook_z", &dz)
        var (dq, dk, dv) = try attentionCoreBackward(l, dz)
        try fire(p + "attn.hook_v", &dv)
        try fire(p + "attn.hook_k", &dk)
        try fire(p + "attn.hook_q", &dq)
        let dFromAttention = try attentionInputBackward(l, dq: dq, dk: dk, dv: dv)  // [B, P, d]

        dSkip.add(dFromAttention)
        try fire(p + "hook_resid_pre", &dSkip)
        dResid = dSkip
    }

    // MARK: MLP

    /// From d hook_mlp_out to d mlp input [B, P, d]: the post-norm (Gemma-2), W_out, the activation
    /// (gated: act(pre) · pre_linear + b_in), W_in (and W_gate), ln2.
    func mlpBackward(_ l: Int, _ dMlpOut: Tensor) throws -> Tensor {
        let p = "blocks.\(l).", layer = w.layers[l]
        let d = cfg.dModel, M = cfg.dMLP
        var dOut = dMlpOut
        if let post = layer.ln2PostW { dOut = try normBackward(dOut, weight: post, prefix: p + "ln2_post.") }
        // mlp_out = post @ W_out + b_out: d post = d mlp_out @ W_outᵀ  [B, P, M]
        var dPost = model.matrix(.mlpOut(l)).productTransposed(dOut, shape: [B, P, M])
        try fire(p + "mlp.hook_post", &dPost)
        let pre = try act(p + "mlp.hook_pre")
        if layer.wGate != nil {
            // post = act(pre) · pre_linear + b_in, pre = x @ W_gate, pre_linear = x @ W_in:
            // d pre_linear = d post · act(pre);  d pre = d post · pre_linear · act′(pre)
            let preLinear = try act(p + "mlp.hook_pre_linear")
            var dPreLinear = dPost, dPre = dPost
            var activated = pre
            Self.activate(&activated, actFn: cfg.actFn)
            for i in 0..<dPreLinear.count { dPreLinear.data[i] *= activated.data[i] }
            for i in 0..<dPre.count { dPre.data[i] *= preLinear.data[i] }
            Self.activationBackward(&dPre, pre: pre, actFn: cfg.actFn)
            try fire(p + "mlp.hook_pre_linear", &dPreLinear)
            try fire(p + "mlp.hook_pre", &dPre)
            // d ln2 out = d pre @ W_gateᵀ + d pre_linear @ W_inᵀ  [B, P, d]
            var dLn2 = model.matrix(.mlpGate(l)).productTransposed(dPre, shape: [B, P, d])
            dLn2.add(model.matrix(.mlpIn(l)).productTransposed(dPreLinear, shape: [B, P, d]))
            return try normBackward(dLn2, weight: layer.ln2W, prefix: p + "ln2.")
        }
        // post = act(pre): d pre = d post · act′(pre)  [B, P, M]
        var dPre = dPost
        Self.activationBackward(&dPre, pre: pre, actFn: cfg.actFn)
        try fire(p + "mlp.hook_pre", &dPre)
        // pre = ln2(mlp_in) @ W_in + b_in: d ln2 out = d pre @ W_inᵀ  [B, P, d]
        let dLn2 = model.matrix(.mlpIn(l)).productTransposed(dPre, shape: [B, P, d])
        return try normBackward(dLn2, weight: layer.ln2W, prefix: p + "ln2.")
    }

    // MARK: Attention

    /// attn_out = z @ W_O + b_O (or Σ_h hook_result[h] + b_O): d z  [B, P, H, dh].
    func attentionOutputBackward(_ l: Int, _ dAttnOut: Tensor) throws -> Tensor {
        let d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, rows = B * P
        let wO = model.matrix(.o(l))  // [H·dh, d]
        guard model.optionalHooks.attnResult else {
            return wO.productTransposed(dAttnOut, shape: [B, P, H, dh])
        }
        // result[h] = z[h] @ W_O[h]: every head's result gets d attn_out  [B, P, H, d]
        var dResult = Tensor(uninitialized: [B, P, H, d])
        for r in 0..<rows { for h in 0..<H { for i in 0..<d { dResult.data[(r * H + h) * d + i] = dAttnOut.data[r * d + i] } } }
        try fire("blocks.\(l).attn.hook_result", &dResult)
        var dz = Tensor(uninitialized: [B, P, H, dh])
        // d z[h] = d result[h] @ W_O[h]ᵀ
        dResult.data.withUnsafeBufferPointer { g in
            dz.data.withUnsafeMutableBufferPointer { o in
                wO.multiplyBlocks(.rows(width: dh, count: H), transposed: true, m: rows, a: g.baseAddress!, aStride: d, lda: H * d,
                                  c: o.baseAddress!, cStride: dh, ldc: hd)
            }
        }
        return dz
    }

    /// z = pattern · v, pattern = softmax(scores), scores = q · kᵀ / scale (soft-capped, windowed):
    /// d q [B, P, H, dh] and d k, d v [B, P, K, dh] at hook_q/k/v, firing the pattern's and the
    /// scores' gradients [B, H, P, P] and, where the family has them, the rotated and q/k-normed
    /// q and k's on the way. Under grouped-query attention query head h reads key/value head
    /// h / (H / K); each key/value head's gradient is the sum over its query heads.
    func attentionCoreBackward(_ l: Int, _ dz: Tensor) throws -> (Tensor, Tensor, Tensor) {
        let p = "blocks.\(l).attn.", H = cfg.nHeads, K = cfg.kvHeads, dh = cfg.dHead, hd = H * dh, kvd = K * dh
        let group = cfg.queriesPerKVHead
        // The q and k the scores were made from: after q/k norms and rotary.
        let q = try act(p + (cfg.isRotary ? "hook_rot_q" : "hook_q")), k = try act(p + (cfg.isRotary ? "hook_rot_k" : "hook_k"))
        let v = try act(p + "hook_v")  // q [B, P, H, dh]; k, v [B, P, K, dh]
        let pattern = try act(p + "hook_pattern")  // [B, H, P, P]
        guard pattern.shape == [B, H, P, P] else {
            throw TLModelError.invalidInput("the backward needs full causal attention; the pattern has shape \(pattern.shape)")
        }
        var scale = cfg.attnScale ?? Float(dh).squareRoot()
        if cfg.scaleAttnByInverseLayerIdx { scale *= Float(l + 1) }
        // d pattern[b, h] = d z[b, ·, h] @ v[b, ·, g]ᵀ  [P, P] — above the diagonal too, as autograd
        // gives it (the pattern is 0 there, its gradient is not);  d v[b, ·, g] += pattern[b, h]ᵀ @ d z[b, ·, h]
        var dPattern = Tensor(uninitialized: [B, H, P, P])
        var dv = Tensor(zeros: [B, P, K, dh])
        dz.data.withUnsafeBufferPointer { g in
            v.data.withUnsafeBufferPointer { vs in
                pattern.data.withUnsafeBufferPointer { pt in
                    dPattern.data.withUnsafeMutableBufferPointer { dp in
                        dv.data.withUnsafeMutableBufferPointer { dvs in
                            for b in 0..<B {
                                for h in 0..<H {
                                    let qSeq = b * P * hd + h * dh, kvSeq = b * P * kvd + (h / group) * dh, block = (b * H + h) * P * P
                                    BLAS.sgemm(transB: true, m: P, n: P, k: dh, a: g.baseAddress! + qSeq, lda: hd,
                                               b: vs.baseAddress! + kvSeq, ldb: kvd, c: dp.baseAddress! + block, ldc: P)
                                    BLAS.sgemm(transA: true, m: P, n: dh, k: P, a: pt.baseAddress! + block, lda: P,
                                               b: g.baseAddress! + qSeq, ldb: hd, beta: 1, c: dvs.baseAddress! + kvSeq, ldc: kvd)
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
        if cfg.attnScoresSoftCap > 0 { try scoresSoftCapBackward(l, &dScores) }
        // d q[b, ·, h] = d scores[b, h] @ k[b, ·, g] / scale;  d k[b, ·, g] += d scores[b, h]ᵀ @ q[b, ·, h] / scale
        var dq = Tensor(uninitialized: [B, P, H, dh]), dk = Tensor(zeros: [B, P, K, dh])
        dScores.data.withUnsafeBufferPointer { ds in
            q.data.withUnsafeBufferPointer { qs in
                k.data.withUnsafeBufferPointer { ks in
                    dq.data.withUnsafeMutableBufferPointer { dqs in
                        dk.data.withUnsafeMutableBufferPointer { dks in
                            for b in 0..<B {
                                for h in 0..<H {
                                    let qSeq = b * P * hd + h * dh, kvSeq = b * P * kvd + (h / group) * dh, block = (b * H + h) * P * P
                                    BLAS.sgemm(m: P, n: dh, k: P, alpha: 1 / scale, a: ds.baseAddress! + block, lda: P,
                                               b: ks.baseAddress! + kvSeq, ldb: kvd, c: dqs.baseAddress! + qSeq, ldc: hd)
                                    BLAS.sgemm(transA: true, m: P, n: dh, k: P, alpha: 1 / scale, a: ds.baseAddress! + block, lda: P,
                                               b: qs.baseAddress! + qSeq, ldb: hd, beta: 1, c: dks.baseAddress! + kvSeq, ldc: kvd)
                                }
                            }
                        }
                    }
                }
            }
        }
        if cfg.isRotary {
            // rot = R(pos) x, R orthogonal: d x = R(pos)ᵀ d rot.
            try fire(p + "hook_rot_k", &dk)
            try fire(p + "hook_rot_q", &dq)
            let positions = Array(repeating: Array(0..<P), count: B)
            model.rotary!.apply(&dk, positions: positions, inverse: true)
            model.rotary!.apply(&dq, positions: positions, inverse: true)
        }
        if let qNorm = w.layers[l].qNormW, let kNorm = w.layers[l].kNormW {
            // Qwen3's per-head RMSNorms, on rows [B·P·heads, dh] as TransformerLens hooks them.
            dk = try headNormBackward(dk, weight: kNorm, prefix: p + "k_norm.")
            dq = try headNormBackward(dq, weight: qNorm, prefix: p + "q_norm.")
        }
        return (dq, dk, dv)
    }

    /// q|k|v = ln1(resid_pre) @ W_QKV + b_QKV: d resid_pre from the attention path  [B, P, d].
    func attentionInputBackward(_ l: Int, dq: Tensor, dk: Tensor, dv: Tensor) throws -> Tensor {
        let H = cfg.nHeads, K = cfg.kvHeads, dh = cfg.dHead, hd = H * dh, kvd = K * dh, rows = B * P
        let width = cfg.qkvWidth
        let layer = w.layers[l], p = "blocks.\(l)."
        let opt = model.optionalHooks
        if !(opt.attnIn || opt.splitQKVInput || options.inputGradients) {
            // One shared input: d ln1 out = [dq | dk | dv] @ W_QKVᵀ  [B, P, d]
            var dqkv = [Float](repeating: 0, count: rows * width)  // [B·P, (H + 2K)·dh]
            for r in 0..<rows {
                for i in 0..<hd { dqkv[r * width + i] = dq.data[r * hd + i] }
                for i in 0..<kvd {
                    dqkv[r * width + hd + i] = dk.data[r * kvd + i]
                    dqkv[r * width + hd + kvd + i] = dv.data[r * kvd + i]
                }
            }
            let dLn1 = model.matrix(.qkv(l)).productTransposed(Tensor(shape: [B, P, width], data: dqkv), shape: [B, P, cfg.dModel])
            return try normBackward(dLn1, weight: layer.ln1W, prefix: p + "ln1.")
        }
        return try perHeadInputBackward(l, grads: [dq, dk, dv])
    }

    /// TransformerLens's per-head inputs (use_attn_in / use_split_qkv_input, or `inputGradients`):
    /// each head's q (and each key/value head's k and v) reads its own copy of the residual stream,
    /// normalised by ln1 on its own. The gradient at each copy is fired as hook_q_input [B, P, H, d] /
    /// hook_k_input / hook_v_input [B, P, K, d]; ln1's hooks see the sum over the copies (hooks
    /// there are read-only here).
    func perHeadInputBackward(_ l: Int, grads: [Tensor]) throws -> Tensor {
        let d = cfg.dModel, H = cfg.nHeads, K = cfg.kvHeads, dh = cfg.dHead, hd = H * dh, rows = B * P
        let offsets = [0, hd, hd + K * dh]
        let layer = w.layers[l], wQKV = model.matrix(.qkv(l)), p = "blocks.\(l).", ln = p + "ln1."
        let opt = model.optionalHooks
        // ln1's cached output and scale: per head [B, P, H, d] / [B, P, H, 1] under split inputs, else [B, P, d] / [B, P, 1]
        let cachedN = try act(ln + "hook_normalized"), cachedS = try act(ln + "hook_scale")
        let perHeadCache = cachedN.rank == 4
        let stopScale = options.stopGradient?(ln + "hook_scale") ?? false
        let stopNormalized = options.stopGradient?(ln + "hook_normalized") ?? false
        var totalDn = Tensor(zeros: cachedN.shape), totalDs = Tensor(zeros: cachedS.shape)
        var inputs: [Tensor] = []
        for (which, g) in grads.enumerated() {
            let heads = which == 0 ? H : K
            // Under attn_in with grouped-query attention key/value head g read attn_in's head g.
            let normalized = perHeadCache ? Self.resizeHeads(cachedN, heads) : Self.repeatHeads(cachedN, heads)
            let scale = perHeadCache ? Self.resizeHeads(cachedS, heads) : Self.repeatHeads(cachedS, heads)
            // d ln1 out per head: d x[·, h] = d q[·, h] @ W_Q[h]ᵀ  [B, P, heads, d]
            var dn = Tensor(uninitialized: [B, P, heads, d])
            g.data.withUnsafeBufferPointer { gs in
                dn.data.withUnsafeMutableBufferPointer { o in
                    wQKV.multiplyBlocks(.columns(from: offsets[which], width: dh, count: heads), transposed: true, m: rows,
                                        a: gs.baseAddress!, aStride: dh, lda: heads * dh, c: o.baseAddress!, cStride: d, ldc: heads * d)
                }
            }
            if let wt = layer.ln1W { for r in 0..<(rows * heads) { for i in 0..<d { dn.data[r * d + i] *= wt[i] } } }
            var ds = Tensor(zeros: [B, P, heads, 1])
            for r in 0..<(rows * heads) {
                var s: Float = 0
                for i in 0..<d { s += dn.data[r * d + i] * normalized.data[r * d + i] }
                ds.data[r] = -s / scale.data[r]
            }
            totalDn.add(perHeadCache ? Self.resizeHeads(dn, cachedN.shape[2]) : Self.sumHeads(dn))
            totalDs.add(perHeadCache ? Self.resizeHeads(ds, cachedS.shape[2]) : Self.sumHeads(ds))
            if stopScale { ds = Tensor(zeros: ds.shape) }
            if stopNormalized { dn = Tensor(zeros: dn.shape) }
            inputs.append(Self.normInputGradient(dn: dn, ds: ds, normalized: normalized, scale: scale, centred: cfg.normalizationType != .rms))
        }
        // ln1's gradients (the sum over the three uses), in the cache's shape.
        try fire(ln + "hook_normalized", &totalDn)
        try fire(ln + "hook_scale", &totalDs)
        if opt.splitQKVInput || options.inputGradients {
            for (which, name) in [(2, "hook_v_input"), (1, "hook_k_input"), (0, "hook_q_input")] { try fire(p + name, &inputs[which]) }
        }
        // With split inputs TransformerLens computes hook_attn_in but reads the residual stream
        // again for q/k/v, so attn_in has no gradient there; alone, it feeds all three (key/value
        // head g reading attn_in's head g under grouped-query attention).
        var dAttnIn = inputs[0]  // [B, P, H, d]
        for which in [1, 2] {
            let g = inputs[which]
            for r in 0..<rows { for h in 0..<K { for i in 0..<d { dAttnIn.data[(r * H + h) * d + i] += g.data[(r * K + h) * d + i] } } }
        }
        if opt.attnIn && !opt.splitQKVInput { try fire(p + "hook_attn_in", &dAttnIn) }
        return Self.sumHeads(dAttnIn)
    }

    // MARK: Helpers

    /// [B, P, k] → [B, P, H, k], each row repeated per head.
    static func repeatHeads(_ t: Tensor, _ H: Int) -> Tensor {
        let k = t.shape.last!, rows = t.count / k
        var out = Tensor(uninitialized: Array(t.shape.dropLast()) + [H, k])
        for r in 0..<rows { for h in 0..<H { for i in 0..<k { out.data[(r * H + h) * k + i] = t.data[r * k + i] } } }
        return out
    }

    /// [B, P, H, k] → [B, P, heads, k]: the first `heads` heads, or zeros past H.
    static func resizeHeads(_ t: Tensor, _ heads: Int) -> Tensor {
        let H = t.shape[2], k = t.shape[3], rows = t.shape[0] * t.shape[1]
        if H == heads { return t }
        var out = Tensor(zeros: [t.shape[0], t.shape[1], heads, k])
        for r in 0..<rows { for h in 0..<min(H, heads) { for i in 0..<k { out.data[(r * heads + h) * k + i] = t.data[(r * H + h) * k + i] } } }
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
