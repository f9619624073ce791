// The forward pass, readable top to bottom like llm.c's: every buffer's shape is in a comment.
// Activations pass through `fire`, which runs hooks and fills the cache in TransformerLens order.
import Foundation
import TLTensor

struct Forward {
    let model: HookedTransformer
    let options: RunOptions
    let hooks: [ForwardHook]
    let cache: ActivationCache
    /// No hooks and no caching: `fire` returns at once and builds no names.
    let quiet: Bool

    var cfg: ModelConfig { model.config }
    var w: ModelWeights { model.weights }

    init(model: HookedTransformer, options: RunOptions) {
        self.model = model
        self.options = options
        self.hooks = model.registeredHooks + options.hooks
        self.cache = ActivationCache(model: model)
        self.quiet = hooks.isEmpty && options.cacheFilter == nil
    }

    /// Runs hooks matching `name` on `t`, then caches it if the filter wants it.
    @inline(__always)
    func fire(_ name: @autoclosure () -> String, _ t: inout Tensor) throws {
        if quiet { return }
        let n = name()
        for hook in hooks where hook.filter.matches(n) {
            let shape = t.shape
            try hook.function(&t, HookPoint(name: n, layer: HookNames.layer(of: n)))
            guard t.shape == shape else {
                throw TLModelError.invalidInput("a hook on \(n) changed the activation's shape from \(shape) to \(t.shape); hooks must keep the shape")
            }
        }
        if let f = options.cacheFilter, f(n) { cache.store(n, t) }
    }

    /// Whether an activation named `name` goes to a hook or the cache (otherwise it need not exist).
    func wants(_ name: String) -> Bool {
        if quiet { return false }
        if let f = options.cacheFilter, f(name) { return true }
        return hooked(name)
    }

    /// Whether a hook runs on `name` (and so may change it).
    func hooked(_ name: String) -> Bool { hooks.contains { $0.filter.matches(name) } }

    func checkCancelled() throws {
        if let c = options.isCancelled, c() { throw TLModelError.cancelled }
    }

    // MARK: Embeddings

    func run(tokens: [[Int]]) throws -> RunOutput {
        let B = tokens.count, P = tokens[0].count, d = cfg.dModel
        let mask = options.attentionMask
        // hook_embed: W_E[tokens]  [B, P, d]
        var embed = Tensor(zeros: [B, P, d])
        // hook_pos_embed: W_pos[position]  [B, P, d]; with a mask, positions count real tokens only
        // and padding gets zeros (TransformerLens's get_offset_position_ids).
        var posEmbed = Tensor(zeros: [B, P, d])
        w.wE.withUnsafeBufferPointer { wE in
            w.wPos.withUnsafeBufferPointer { wPos in
                embed.data.withUnsafeMutableBufferPointer { e in
                    posEmbed.data.withUnsafeMutableBufferPointer { pe in
                        for b in 0..<B {
                            var realBefore = options.kvCache.map { $0.mask[b].reduce(0, +) } ?? 0
                            for p in 0..<P {
                                let row = (b * P + p) * d
                                let tok = tokens[b][p]
                                for i in 0..<d { e[row + i] = wE[tok * d + i] }
                                let isReal = mask.map { $0[b][p] != 0 } ?? true
                                if isReal {
                                    let pos = min(realBefore, cfg.nCtx - 1)
                                    for i in 0..<d { pe[row + i] = wPos[pos * d + i] }
                                    realBefore += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        try fire("hook_embed", &embed)
        try fire("hook_pos_embed", &posEmbed)
        embed.add(posEmbed)
        return try runBlocks(residual: embed, from: 0)
    }

    func run(residual: Tensor) throws -> RunOutput {
        let start = try model.resolveLayer(options.startAtLayer ?? 0, allowEnd: true)
        return try runBlocks(residual: residual, from: start)
    }

    // MARK: Blocks and unembedding

    func runBlocks(residual: Tensor, from start: Int) throws -> RunOutput {
        var resid = residual  // [B, P, d]
        let stop = try options.stopAtLayer.map { try model.resolveLayer($0, allowEnd: true) } ?? cfg.nLayers
        let B = resid.shape[0], P = resid.shape[1]
        let keyMask = try buildKeyMask(batch: B, newPositions: P)
        // The attention kernels' form of it, made once per run: Int32, or nil where all keys are real.
        let kernelMasks: [[Int32]?] = keyMask.map { m in m.allSatisfy { $0 != 0 } ? nil : m.map { Int32($0) } }
        if start < stop {
            for l in start..<stop {
                try checkCancelled()
                try block(l, &resid, keyMasks: kernelMasks)
            }
        }
        if let kv = options.kvCache {
            for b in 0..<B { kv.mask[b] = keyMask[b] }
            kv.length += P
        }
        if options.stopAtLayer != nil { return RunOutput(logits: nil, residual: resid, cache: cache) }
        return RunOutput(logits: try unembed(resid), residual: nil, cache: cache)
    }

    /// [B][T] key mask over past and new positions (1 = may be attended to).
    func buildKeyMask(batch B: Int, newPositions P: Int) throws -> [[Int]] {
        (0..<B).map { b in
            (options.kvCache?.mask[b] ?? []) + (options.attentionMask?[b] ?? [Int](repeating: 1, count: P))
        }
    }

    /// ln_final, then logits = x @ W_U + b_U at the requested positions.
    func unembed(_ resid: Tensor) throws -> Tensor {
        let B = resid.shape[0], d = cfg.dModel, V = cfg.dVocab
        var x = resid
        if let positions = options.logitPositions {
            x = try x.gather(axis: 1, indices: positions)
        }
        let Q = x.shape[1]
        try layerNorm(&x, weight: w.lnFinalW, bias: w.lnFinalB, prefix: "ln_final.")
        try fire("unembed.hook_in", &x)
        // logits  [B, Q, V] — or [B, Q, k] over the requested vocabulary columns only.
        if let columns = options.logitTokens {
            var logits = Tensor(zeros: [B, Q, columns.count])
            for r in 0..<(B * Q) {
                for (c, tok) in columns.enumerated() {
                    var s: Float = 0
                    for i in 0..<d { s += x.data[r * d + i] * w.wU[i * V + tok] }
                    logits.data[r * columns.count + c] = s + w.bU[tok]
                }
            }
            try fire("unembed.hook_out", &logits)
            return logits
        }
        var logits = linear(x, w.wU, w.bU, slot: .unembed, outShape: [B, Q, V])
        try fire("unembed.hook_out", &logits)
        return logits
    }

    /// LayerNorm(Pre) in place with its two hooks; `x` [B, P, d] becomes the norm's output.
    func layerNorm(_ x: inout Tensor, weight: [Float]?, bias: [Float]?, prefix: String) throws {
        // x is [B, P, d], or [B, P, H, d] for per-head attention inputs; normalised over the last axis.
        let d = x.shape.last!, rows = x.count / d
        var scale = Tensor(zeros: Array(x.shape.dropLast()) + [1])
        x.data.withUnsafeMutableBufferPointer { xs in
            scale.data.withUnsafeMutableBufferPointer { s in
                NeuralOps.layerNormPre(xs.baseAddress!, rows: rows, d: d, eps: cfg.eps, scales: s.baseAddress!)
            }
        }
        try fire(prefix + "hook_scale", &scale)
        try fire(prefix + "hook_normalized", &x)
        if let weight, let bias {
            x.data.withUnsafeMutableBufferPointer { xs in
                weight.withUnsafeBufferPointer { wt in
                    bias.withUnsafeBufferPointer { bs in
                        NeuralOps.affine(xs.baseAddress!, rows: rows, d: d, weight: wt.baseAddress!, bias: bs.baseAddress!)
                    }
                }
            }
        }
    }

    /// x [rows, k] @ W [k, n] + b  →  [rows, n], W being the model's weight in `slot`: on AMX tiles
    /// at a reduced matmul precision, else through W's panels (OpenBLAS where there are none).
    func linear(_ x: Tensor, _ W: [Float], _ b: [Float], slot: WeightSlot, outShape: [Int]) -> Tensor {
        let n = b.count, k = W.count / n, rows = x.count / k
        let precision = MatmulPrecision.current
        let packed = model.panels(slot)
        // "high" reads as many bytes per weight as Float32 (two bf16), so products with few rows,
        // which only stream the weights, stay on the Float32 panels; "medium" reads half as many.
        let useReduced = (precision == .medium || (precision == .high && (packed == nil || rows > PackedMatrix.streamingRows)))
            && model.reducedPrecisionPermitted(precision)
        let reduced = useReduced ? model.reducedWeights.matrix(slot, W, rows: k, columns: n, precision: precision) : nil
        var out = Tensor(uninitialized: outShape)
        x.data.withUnsafeBufferPointer { xs in
            out.data.withUnsafeMutableBufferPointer { o in
                if let reduced {
                    reduced.multiply(m: rows, a: xs.baseAddress!, lda: k, c: o.baseAddress!, ldc: n, precision: precision)
                } else if let packed, rows <= PackedMatrix.maxRows {
                    packed.multiply(m: rows, a: xs.baseAddress!, lda: k, c: o.baseAddress!, ldc: n)
                } else {
                    W.withUnsafeBufferPointer { ws in
                        BLAS.sgemm(m: rows, n: n, k: k, a: xs.baseAddress!, lda: k, b: ws.baseAddress!, ldb: n,
                                   c: o.baseAddress!, ldc: n)
                    }
                }
                b.withUnsafeBufferPointer { NeuralOps.addBias(o.baseAddress!, rows: rows, n: n, bias: $0.baseAddress!) }
            }
        }
        return out
    }

    /// TransformerLens's per-head attention inputs (use_attn_in / use_split_qkv_input): the residual
    /// stream repeated per head [B, P, H, d] (hook_attn_in; then hook_q/k/v_input), each normalised
    /// by ln1 on its own (ln1's hooks fire once per input), then q[h] = x[h] @ W_Q[h] + b_Q[h].
    func perHeadQKV(_ l: Int, _ resid: Tensor, _ q: inout Tensor, _ k: inout Tensor, _ v: inout Tensor) throws {
        let B = resid.shape[0], P = resid.shape[1], d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh
        let layer = w.layers[l], p = "blocks.\(l)."
        var base = Tensor(zeros: [B, P, H, d])
        for r in 0..<(B * P) { for h in 0..<H { for i in 0..<d { base.data[(r * H + h) * d + i] = resid.data[r * d + i] } } }
        if model.optionalHooks.attnIn { try fire(p + "hook_attn_in", &base) }
        var inputs = [base]
        if model.optionalHooks.splitQKVInput {
            inputs = [base, base, base]
            for (i, name) in ["hook_q_input", "hook_k_input", "hook_v_input"].enumerated() { try fire(p + name, &inputs[i]) }
        }
        for i in inputs.indices { try layerNorm(&inputs[i], weight: layer.ln1W, bias: layer.ln1B, prefix: p + "ln1.") }
        for (which, out) in [(0, 0), (1, 1), (2, 2)] {
            let x = inputs[inputs.count == 1 ? 0 : which]
            var result = Tensor(zeros: [B, P, H, dh])
            x.data.withUnsafeBufferPointer { xs in
                layer.wQKV.withUnsafeBufferPointer { ws in
                    result.data.withUnsafeMutableBufferPointer { rs in
                        for h in 0..<H {
                            BLAS.sgemm(m: B * P, n: dh, k: d, a: xs.baseAddress! + h * d, lda: H * d,
                                       b: ws.baseAddress! + which * hd + h * dh, ldb: 3 * hd, c: rs.baseAddress! + h * dh, ldc: hd)
                        }
                        for r in 0..<(B * P) { for j in 0..<hd { rs[r * hd + j] += layer.bQKV[which * hd + j] } }
                    }
                }
            }
            switch out { case 0: q = result; case 1: k = result; default: v = result }
        }
    }

    // MARK: One transformer block

    /// `keyMasks`: per sequence, which of the T keys may be attended to (nil: all of them).
    func block(_ l: Int, _ resid: inout Tensor, keyMasks: [[Int32]?]) throws {
        let B = resid.shape[0], P = resid.shape[1], d = cfg.dModel
        let H = cfg.nHeads, dh = cfg.dHead, hd = H * dh
        let layer = w.layers[l]
        let p = "blocks.\(l)."
        try fire(p + "hook_resid_pre", &resid)

        // Attention. x = LN1(resid)  [B, P, d]
        var q = Tensor(uninitialized: [B, P, H, dh]), k = Tensor(uninitialized: [B, P, H, dh]), v = Tensor(uninitialized: [B, P, H, dh])
        if model.optionalHooks.attnIn || model.optionalHooks.splitQKVInput {
            try perHeadQKV(l, resid, &q, &k, &v)
        } else {
            var x = resid
            try layerNorm(&x, weight: layer.ln1W, bias: layer.ln1B, prefix: p + "ln1.")
            // qkv = x @ W_QKV + b  [B·P, 3·H·dh], split into q, k, v  [B, P, H, dh]
            let qkv = linear(x, layer.wQKV, layer.bQKV, slot: .qkv(l), outShape: [B * P, 3 * hd])
            qkv.data.withUnsafeBufferPointer { src in
                q.data.withUnsafeMutableBufferPointer { qd in
                    k.data.withUnsafeMutableBufferPointer { kd in
                        v.data.withUnsafeMutableBufferPointer { vd in
                            for r in 0..<(B * P) {
                                let s = r * 3 * hd, o = r * hd
                                for i in 0..<hd { qd[o + i] = src[s + i]; kd[o + i] = src[s + hd + i]; vd[o + i] = src[s + 2 * hd + i] }
                            }
                        }
                    }
                }
            }
        }
        try fire(p + "attn.hook_q", &q)
        try fire(p + "attn.hook_k", &k)
        try fire(p + "attn.hook_v", &v)

        // Keys/values over all positions (past + new), per sequence: [T, H·dh].
        let past = options.kvCache?.length ?? 0
        let T = past + P
        var keysPerSeq: [[Float]] = [], valuesPerSeq: [[Float]] = []
        for b in 0..<B {
            let kNew = Array(k.data[(b * P * hd)..<((b + 1) * P * hd)])
            let vNew = Array(v.data[(b * P * hd)..<((b + 1) * P * hd)])
            if let kv = options.kvCache {
                kv.keys[l][b] += kNew; kv.values[l][b] += vNew
                keysPerSeq.append(kv.keys[l][b]); valuesPerSeq.append(kv.values[l][b])
            } else {
                keysPerSeq.append(kNew); valuesPerSeq.append(vNew)
            }
        }

        // scores = q·kᵀ / √dh (× (l+1) for inverse-layer scaling), causal and padding masked to −inf
        var scale = Float(dh).squareRoot()
        if cfg.scaleAttnByInverseLayerIdx { scale *= Float(l + 1) }
        let heads = AttentionHeads(B: B, H: H, P: P, T: T, past: past, dHead: dh, scale: scale, masks: keyMasks)
        var z = Tensor(uninitialized: [B, P, H, dh])
        let scoresName = p + "attn.hook_attn_scores", patternName = p + "attn.hook_pattern"
        if !wants(scoresName) && !wants(patternName) {
            // Nobody looks at scores or pattern: fused causal attention, no [B, H, P, T] buffers.
            heads.fused(q: q, keys: keysPerSeq, values: valuesPerSeq, z: &z)
        } else {
            // scores and pattern [B, H, P, T], each through its hooks. A hook may write above the
            // diagonal; then softmax and pattern·v cover every key, as in TransformerLens.
            var scores = heads.scores(q: q, keys: keysPerSeq)
            try fire(scoresName, &scores)
            var pattern = consume scores
            heads.softmax(&pattern, causal: !hooked(scoresName))
            try fire(patternName, &pattern)
            heads.patternTimesValues(pattern, values: valuesPerSeq, z: &z, causal: !hooked(scoresName) && !hooked(patternName))
        }
        try fire(p + "attn.hook_z", &z)

        // attn_out = z @ W_O + b_O  [B, P, d]  (per-head results when hook_result is on)
        var attnOut: Tensor
        if model.optionalHooks.attnResult {
            var result = Tensor(zeros: [B, P, H, d])
            z.data.withUnsafeBufferPointer { zs in
                layer.wO.withUnsafeBufferPointer { wo in
                    result.data.withUnsafeMutableBufferPointer { rs in
                        for h in 0..<H {
                            BLAS.sgemm(m: B * P, n: d, k: dh, a: zs.baseAddress! + h * dh, lda: hd,
                                       b: wo.baseAddress! + h * dh * d, ldb: d,
                                       c: rs.baseAddress! + h * d, ldc: H * d)
                        }
                    }
                }
            }
            try fire(p + "attn.hook_result", &result)
            attnOut = Tensor(zeros: [B, P, d])
            for r in 0..<(B * P) {
                for j in 0..<d {
                    var s: Float = 0
                    for h in 0..<H { s += result.data[(r * H + h) * d + j] }
                    attnOut.data[r * d + j] = s + layer.bO[j]
                }
            }
        } else {
            attnOut = linear(z, layer.wO, layer.bO, slot: .o(l), outShape: [B, P, d])
        }
        try fire(p + "hook_attn_out", &attnOut)
        resid.add(attnOut)
        try fire(p + "hook_resid_mid", &resid)

        // MLP. x = LN2(resid_mid); pre = x @ W_in + b_in [B, P, d_mlp]; post = gelu_new(pre)
        var mlpIn = resid
        if model.optionalHooks.mlpIn { try fire(p + "hook_mlp_in", &mlpIn) }
        try layerNorm(&mlpIn, weight: layer.ln2W, bias: layer.ln2B, prefix: p + "ln2.")
        var pre = linear(mlpIn, layer.wIn, layer.bIn, slot: .mlpIn(l), outShape: [B, P, cfg.dMLP])
        try fire(p + "mlp.hook_pre", &pre)
        var post = consume pre  // no copy unless a hook or the cache kept hook_pre
        post.data.withUnsafeMutableBufferPointer { buf in
            // gelu_new's tanh dominates element-wise time on long prompts: split it over the cores.
            Parallel.forEachChunk(of: buf.count, chunks: buf.count >= 1 << 16 ? Parallel.width : 1) { range in
                NeuralOps.geluNew(buf.baseAddress! + range.lowerBound, count: range.count)
            }
        }
        try fire(p + "mlp.hook_post", &post)
        // mlp_out = post @ W_out + b_out  [B, P, d]
        var mlpOut = linear(post, layer.wOut, layer.bOut, slot: .mlpOut(l), outShape: [B, P, d])
        try fire(p + "hook_mlp_out", &mlpOut)
        resid.add(mlpOut)
        try fire(p + "hook_resid_post", &resid)
    }
}
