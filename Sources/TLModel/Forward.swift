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
        self.cache = ActivationCache(model: model, storage: options.cacheStorage,
                                     expecting: options.cacheStorage == .disk ? options.cacheFilter.map { model.hookNames.filter($0) } ?? [] : [])
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
        if let f = options.cacheFilter, f(n) { try cache.record(n, t) }
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
        var posEmbed = Tensor(zeros: cfg.isRotary ? [0] : [B, P, d])
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
                                if isReal && !w.wPos.isEmpty {
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
        if !cfg.isRotary {
            try fire("hook_pos_embed", &posEmbed)
            embed.add(posEmbed)
        }
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
        if options.stopAtLayer != nil {
            try cache.finishRecording()
            return RunOutput(logits: nil, residual: resid, cache: cache)
        }
        let logits = try unembed(resid)
        try cache.finishRecording()
        return RunOutput(logits: logits, residual: nil, cache: cache)
    }

    /// [B][T] key mask over past and new positions (1 = may be attended to).
    func buildKeyMask(batch B: Int, newPositions P: Int) throws -> [[Int]] {
        (0..<B).map { b in
            (options.kvCache?.mask[b] ?? []) + (options.attentionMask?[b] ?? [Int](repeating: 1, count: P))
        }
    }

    /// ln_final, then logits = x @ W_U + b_U at the requested positions.
    func unembed(_ resid: Tensor) throws -> Tensor {
        let B = resid.shape[0], V = cfg.dVocab
        var x = resid
        if let positions = options.logitPositions {
            x = try x.gather(axis: 1, indices: positions)
        }
        let Q = x.shape[1]
        try normalize(&x, weight: w.lnFinalW, bias: w.lnFinalB, prefix: "ln_final.")
        try fire("unembed.hook_in", &x)
        // logits  [B, Q, V] — or [B, Q, k] over the requested vocabulary columns only.
        if let columns = options.logitTokens {
            var logits = Tensor(shape: [B, Q, columns.count], data: model.unembedMatrix.product(x, columns: columns))
            for r in 0..<(B * Q) { for (c, tok) in columns.enumerated() { logits.data[r * columns.count + c] += w.bU[tok] } }
            try fire("unembed.hook_out", &logits)
            softCapLogits(&logits)
            return logits
        }
        var logits = model.unembedMatrix.product(x, plus: w.bU, shape: [B, Q, V])
        try fire("unembed.hook_out", &logits)
        softCapLogits(&logits)
        return logits
    }

    /// logits = cap · tanh(logits / cap) under output_logits_soft_cap (after unembed.hook_out, as in TL).
    func softCapLogits(_ logits: inout Tensor) {
        let cap = cfg.outputLogitsSoftCap
        guard cap > 0 else { return }
        for i in 0..<logits.count { logits.data[i] = cap * tanhf(logits.data[i] / cap) }
    }

    /// The norm of this model's family in place with its two hooks: LayerNorm(Pre) or RMSNorm(Pre).
    /// `weight` nil means folded (…Pre); RMSNorm has no bias.
    func normalize(_ x: inout Tensor, weight: [Float]?, bias: [Float]?, prefix: String) throws {
        guard cfg.normalizationType == .rms else {
            try layerNorm(&x, weight: weight, bias: bias, prefix: prefix)
            return
        }
        // scale = sqrt(mean(x²) + eps); normalized = x / scale; out = normalized · w
        let d = x.shape.last!, rows = x.count / d
        var scale = Tensor(zeros: Array(x.shape.dropLast()) + [1])
        x.data.withUnsafeMutableBufferPointer { xs in
            for r in 0..<rows {
                var sumSquares: Float = 0
                for i in 0..<d { let v = xs[r * d + i]; sumSquares += v * v }
                let s = (sumSquares / Float(d) + cfg.eps).squareRoot()
                scale.data[r] = s
                for i in 0..<d { xs[r * d + i] /= s }
            }
        }
        try fire(prefix + "hook_scale", &scale)
        try fire(prefix + "hook_normalized", &x)
        if let weight {
            x.data.withUnsafeMutableBufferPointer { xs in
                for r in 0..<rows { for i in 0..<d { xs[r * d + i] *= weight[i] } }
            }
        }
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

    /// TransformerLens's per-head attention inputs (use_attn_in / use_split_qkv_input): the residual
    /// stream repeated per head [B, P, H, d] (hook_attn_in; then hook_q_input [B, P, H, d] and
    /// hook_k_input/hook_v_input [B, P, kv_heads, d]), each normalised by ln1 on its own (ln1's hooks
    /// fire once per input), then q[h] = x[h] @ W_Q[h] + b_Q[h] (k and v per key/value head). Under
    /// grouped-query attention with hook_attn_in alone, kv head g reads attn_in's head g.
    func perHeadQKV(_ l: Int, _ resid: Tensor, _ q: inout Tensor, _ k: inout Tensor, _ v: inout Tensor) throws {
        let B = resid.shape[0], P = resid.shape[1], d = cfg.dModel, H = cfg.nHeads, K = cfg.kvHeads, dh = cfg.dHead
        let layer = w.layers[l], wQKV = model.matrix(.qkv(l)), p = "blocks.\(l)."
        func repeated(_ heads: Int) -> Tensor {
            var t = Tensor(zeros: [B, P, heads, d])
            for r in 0..<(B * P) { for h in 0..<heads { for i in 0..<d { t.data[(r * heads + h) * d + i] = resid.data[r * d + i] } } }
            return t
        }
        var base = repeated(H)
        if model.optionalHooks.attnIn { try fire(p + "hook_attn_in", &base) }
        var inputs = [base, base, base]
        if model.optionalHooks.splitQKVInput {
            inputs = [base, repeated(K), repeated(K)]
            for (i, name) in ["hook_q_input", "hook_k_input", "hook_v_input"].enumerated() { try fire(p + name, &inputs[i]) }
        }
        for i in inputs.indices { try normalize(&inputs[i], weight: layer.ln1W, bias: layer.ln1B, prefix: p + "ln1.") }
        let offsets = [0, H * dh, (H + K) * dh]
        for which in 0..<3 {
            let x = inputs[which], xHeads = x.shape[2], heads = which == 0 ? H : K
            var result = Tensor(zeros: [B, P, heads, dh])
            x.data.withUnsafeBufferPointer { xs in
                result.data.withUnsafeMutableBufferPointer { rs in
                    // head h: x[h] @ W_QKV[:, offset + h·dh ..< offset + (h+1)·dh]
                    wQKV.multiplyBlocks(.columns(from: offsets[which], width: dh, count: heads), m: B * P,
                                        a: xs.baseAddress!, aStride: d, lda: xHeads * d, c: rs.baseAddress!, cStride: dh, ldc: heads * dh)
                    for r in 0..<(B * P) { for j in 0..<(heads * dh) { rs[r * heads * dh + j] += layer.bQKV[offsets[which] + j] } }
                }
            }
            switch which { case 0: q = result; case 1: k = result; default: v = result }
        }
    }

    // MARK: One transformer block

    /// `keyMasks`: per sequence, which of the T keys may be attended to (nil: all of them).
    /// resid_pre → attention → (resid_mid →) MLP → resid_post, sequential (GPT-2, Llama) or parallel
    /// (GPT-NeoX: both read resid_pre and add to it at once).
    func block(_ l: Int, _ resid: inout Tensor, keyMasks: [[Int32]?]) throws {
        let p = "blocks.\(l)."
        try fire(p + "hook_resid_pre", &resid)
        var attnOut = try attention(l, resid, keyMasks: keyMasks)
        if let post = w.layers[l].ln1PostW { try normalize(&attnOut, weight: post, bias: nil, prefix: p + "ln1_post.") }
        try fire(p + "hook_attn_out", &attnOut)
        if cfg.parallelAttnMLP {
            var mlpIn = resid
            if model.optionalHooks.mlpIn { try fire(p + "hook_mlp_in", &mlpIn) }
            var mlpOut = try mlp(l, mlpIn)
            if let post = w.layers[l].ln2PostW { try normalize(&mlpOut, weight: post, bias: nil, prefix: p + "ln2_post.") }
            try fire(p + "hook_mlp_out", &mlpOut)
            resid.add(attnOut)
            resid.add(mlpOut)
        } else {
            resid.add(attnOut)
            try fire(p + "hook_resid_mid", &resid)
            var mlpIn = resid
            if model.optionalHooks.mlpIn { try fire(p + "hook_mlp_in", &mlpIn) }
            var mlpOut = try mlp(l, mlpIn)
            if let post = w.layers[l].ln2PostW { try normalize(&mlpOut, weight: post, bias: nil, prefix: p + "ln2_post.") }
            try fire(p + "hook_mlp_out", &mlpOut)
            resid.add(mlpOut)
        }
        try fire(p + "hook_resid_post", &resid)
    }

    /// Position ids of the new tokens [B][P]: past + p, or with a padding mask TransformerLens's
    /// get_offset_position_ids (cumulative count of real tokens − 1, at least 0).
    func positionIDs(batch B: Int, positions P: Int) -> [[Int]] {
        let past = options.kvCache?.length ?? 0
        guard options.attentionMask != nil || options.kvCache.map({ $0.mask.contains { $0.contains(0) } }) == true else {
            return Array(repeating: (0..<P).map { past + $0 }, count: B)
        }
        return (0..<B).map { b in
            let full = (options.kvCache?.mask[b] ?? []) + (options.attentionMask?[b] ?? [Int](repeating: 1, count: P))
            var running = 0
            let ids = full.map { m -> Int in running += m; return max(running - 1, 0) }
            return Array(ids.suffix(P))
        }
    }

    /// Attention of block `l`: ln1, q/k/v (per key/value head under grouped-query attention), rotary,
    /// scores (soft-capped, causal or sliding-window), pattern, z, and z @ W_O + b_O [B, P, d].
    func attention(_ l: Int, _ resid: Tensor, keyMasks: [[Int32]?]) throws -> Tensor {
        let B = resid.shape[0], P = resid.shape[1], d = cfg.dModel
        let H = cfg.nHeads, K = cfg.kvHeads, dh = cfg.dHead, hd = H * dh, kvd = K * dh, width = cfg.qkvWidth
        let layer = w.layers[l]
        let p = "blocks.\(l)."

        // q [B, P, H, dh]; k, v [B, P, K, dh]
        var q = Tensor(uninitialized: [B, P, H, dh]), k = Tensor(uninitialized: [B, P, K, dh]), v = Tensor(uninitialized: [B, P, K, dh])
        if model.optionalHooks.attnIn || model.optionalHooks.splitQKVInput {
            try perHeadQKV(l, resid, &q, &k, &v)
        } else {
            var x = resid
            try normalize(&x, weight: layer.ln1W, bias: layer.ln1B, prefix: p + "ln1.")
            // qkv = x @ W_QKV + b  [B·P, (H + 2K)·dh], split into q, k, v
            let qkv = model.matrix(.qkv(l)).product(x, plus: layer.bQKV, shape: [B * P, width])
            qkv.data.withUnsafeBufferPointer { src in
                q.data.withUnsafeMutableBufferPointer { qd in
                    k.data.withUnsafeMutableBufferPointer { kd in
                        v.data.withUnsafeMutableBufferPointer { vd in
                            for r in 0..<(B * P) {
                                let s = r * width
                                for i in 0..<hd { qd[r * hd + i] = src[s + i] }
                                for i in 0..<kvd { kd[r * kvd + i] = src[s + hd + i]; vd[r * kvd + i] = src[s + hd + kvd + i] }
                            }
                        }
                    }
                }
            }
        }
        try fire(p + "attn.hook_q", &q)
        try fire(p + "attn.hook_k", &k)
        try fire(p + "attn.hook_v", &v)
        if let qNorm = layer.qNormW, let kNorm = layer.kNormW {
            // Qwen3: RMSNorm over d_head per (position, head); TransformerLens runs it on the rows
            // flattened to [batch·pos·heads, d_head], so its hooks see that shape.
            for (t, weight, name) in [(0, qNorm, "q_norm."), (1, kNorm, "k_norm.")] {
                var x = t == 0 ? q : k
                let shape = x.shape
                var rows = Tensor(shape: [x.count / dh, dh], data: x.data)
                try normalize(&rows, weight: weight, bias: nil, prefix: p + "attn." + name)
                x = Tensor(shape: shape, data: rows.data)
                if t == 0 { q = x } else { k = x }
            }
        }
        if cfg.isRotary {
            let rotary = model.rotary!
            let positions = positionIDs(batch: B, positions: P)
            rotary.apply(&q, positions: positions)
            rotary.apply(&k, positions: positions)
            try fire(p + "attn.hook_rot_q", &q)
            try fire(p + "attn.hook_rot_k", &k)
        }

        // Keys/values over all positions (past + new), per sequence: [T, K·dh].
        let past = options.kvCache?.length ?? 0
        let T = past + P
        var keysPerSeq: [[Float]] = [], valuesPerSeq: [[Float]] = []
        for b in 0..<B {
            let kNew = Array(k.data[(b * P * kvd)..<((b + 1) * P * kvd)])
            let vNew = Array(v.data[(b * P * kvd)..<((b + 1) * P * kvd)])
            if let kv = options.kvCache {
                kv.keys[l][b] += kNew; kv.values[l][b] += vNew
                keysPerSeq.append(kv.keys[l][b]); valuesPerSeq.append(kv.values[l][b])
            } else {
                keysPerSeq.append(kNew); valuesPerSeq.append(vNew)
            }
        }

        // scores = q·kᵀ / √dh (× (l+1) for inverse-layer scaling), causal and padding masked to −inf
        var scale = cfg.attnScale ?? Float(dh).squareRoot()
        if cfg.scaleAttnByInverseLayerIdx { scale *= Float(l + 1) }
        let heads = AttentionHeads(B: B, H: H, P: P, T: T, past: past, dHead: dh, scale: scale, masks: keyMasks, kvHeads: K)
        var z = Tensor(uninitialized: [B, P, H, dh])
        let scoresName = p + "attn.hook_attn_scores", patternName = p + "attn.hook_pattern"
        // A window narrower than the keys, or a soft-cap, changes the scores: those take the
        // materialised path, which applies them before hook_attn_scores.
        let window = cfg.window(layer: l).flatMap { $0 < T ? $0 : nil }
        let reshapesScores = window != nil || cfg.attnScoresSoftCap > 0
        if !wants(scoresName) && !wants(patternName) && !reshapesScores {
            // Nobody looks at scores or pattern: fused causal attention, no [B, H, P, T] buffers.
            heads.fused(q: q, keys: keysPerSeq, values: valuesPerSeq, z: &z)
        } else {
            // scores and pattern [B, H, P, T], each through its hooks. A hook may write above the
            // diagonal; then softmax and pattern·v cover every key, as in TransformerLens.
            var scores = heads.scores(q: q, keys: keysPerSeq)
            shapeScores(&scores, past: past, window: window)
            try fire(scoresName, &scores)
            var pattern = consume scores
            heads.softmax(&pattern, causal: !hooked(scoresName))
            try fire(patternName, &pattern)
            heads.patternTimesValues(pattern, values: valuesPerSeq, z: &z, causal: !hooked(scoresName) && !hooked(patternName))
        }
        try fire(p + "attn.hook_z", &z)

        // attn_out = z @ W_O + b_O  [B, P, d]  (per-head results when hook_result is on)
        guard model.optionalHooks.attnResult else {
            return model.matrix(.o(l)).product(z, plus: layer.bO, shape: [B, P, d])
        }
        // result[h] = z[h] @ W_O[h·dh ..< (h+1)·dh, :]  [B, P, H, d]
        var result = Tensor(zeros: [B, P, H, d])
        z.data.withUnsafeBufferPointer { zs in
            result.data.withUnsafeMutableBufferPointer { rs in
                model.matrix(.o(l)).multiplyBlocks(.rows(width: dh, count: H), m: B * P, a: zs.baseAddress!, aStride: dh, lda: hd,
                                                   c: rs.baseAddress!, cStride: d, ldc: H * d)
            }
        }
        try fire(p + "attn.hook_result", &result)
        var attnOut = Tensor(zeros: [B, P, d])
        for r in 0..<(B * P) {
            for j in 0..<d {
                var s: Float = 0
                for h in 0..<H { s += result.data[(r * H + h) * d + j] }
                attnOut.data[r * d + j] = s + layer.bO[j]
            }
        }
        return attnOut
    }

    /// Scores [B, H, P, T] in place: soft-cap (cap · tanh(s / cap)) on visible entries, then keys
    /// outside a sliding window (key j for query i when j ≤ past + i − window) to −inf.
    func shapeScores(_ scores: inout Tensor, past: Int, window: Int?) {
        let cap = cfg.attnScoresSoftCap
        guard cap > 0 || window != nil else { return }
        let T = scores.shape[3], P = scores.shape[2], rows = scores.count / T
        scores.data.withUnsafeMutableBufferPointer { s in
            for r in 0..<rows {
                let i = r % P, row = r * T
                if cap > 0 { for j in 0..<T where s[row + j].isFinite { s[row + j] = cap * tanhf(s[row + j] / cap) } }
                if let window {
                    let firstVisible = past + i - window + 1
                    for j in 0..<max(0, min(firstVisible, T)) { s[row + j] = -Float.infinity }
                }
            }
        }
    }

    /// MLP of block `l` from the residual it reads: ln2, then W_in (+ W_gate) and the activation
    /// (hook_pre, [hook_pre_linear,] hook_post), then W_out [B, P, d].
    func mlp(_ l: Int, _ input: Tensor) throws -> Tensor {
        let B = input.shape[0], P = input.shape[1], d = cfg.dModel, m = cfg.dMLP
        let layer = w.layers[l], p = "blocks.\(l)."
        var x = input
        try normalize(&x, weight: layer.ln2W, bias: layer.ln2B, prefix: p + "ln2.")
        var post: Tensor
        if layer.wGate != nil {
            // Gated: pre = x @ W_gate; pre_linear = x @ W_in; post = act(pre) · pre_linear + b_in
            var pre = model.matrix(.mlpGate(l)).product(x, plus: nil, shape: [B, P, m])
            try fire(p + "mlp.hook_pre", &pre)
            var preLinear = model.matrix(.mlpIn(l)).product(x, plus: nil, shape: [B, P, m])
            try fire(p + "mlp.hook_pre_linear", &preLinear)
            post = pre
            activate(&post)
            post.data.withUnsafeMutableBufferPointer { o in
                preLinear.data.withUnsafeBufferPointer { lin in
                    for r in 0..<(B * P) { for j in 0..<m { o[r * m + j] = o[r * m + j] * lin[r * m + j] + layer.bIn[j] } }
                }
            }
        } else {
            // pre = x @ W_in + b_in [B, P, d_mlp]; post = act(pre)
            var pre = model.matrix(.mlpIn(l)).product(x, plus: layer.bIn, shape: [B, P, m])
            try fire(p + "mlp.hook_pre", &pre)
            post = consume pre  // no copy unless a hook or the cache kept hook_pre
            activate(&post)
        }
        try fire(p + "mlp.hook_post", &post)
        // mlp_out = post @ W_out + b_out  [B, P, d]
        return model.matrix(.mlpOut(l)).product(post, plus: layer.bOut, shape: [B, P, d])
    }

    /// The family's activation function in place (act_fn).
    func activate(_ t: inout Tensor) {
        let act = cfg.actFn
        t.data.withUnsafeMutableBufferPointer { buf in
            // tanh / erf / exp dominate element-wise time on long prompts: split over the cores.
            Parallel.forEachChunk(of: buf.count, chunks: buf.count >= 1 << 16 ? Parallel.width : 1) { range in
                let x = buf.baseAddress! + range.lowerBound
                switch act {
                case "gelu":
                    for i in 0..<range.count { x[i] = 0.5 * x[i] * (1 + erff(x[i] / Float(2).squareRoot())) }
                case "silu":
                    for i in 0..<range.count { x[i] = x[i] / (1 + expf(-x[i])) }
                case "relu":
                    for i in 0..<range.count { x[i] = max(x[i], 0) }
                default:  // gelu_new and gelu_pytorch_tanh: the same tanh approximation
                    NeuralOps.geluNew(x, count: range.count)
                }
            }
        }
    }
}
