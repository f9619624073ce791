// The backward pass: reverse-mode gradients of a scalar metric of the logits with respect to every
// hook point's activation, under TransformerLens's hook names (a gradient cache beside the
// activation cache). Like llm.c's gpt2_backward it walks the forward's steps in reverse, each step
// paired with its backward (BackwardBlock.swift for attention and the MLP, BackwardSteps.swift for
// the families' variants: RMSNorm, rotary, q/k norms, soft-caps, gated MLPs); the activations each
// step needs come from one forward run with a cache of just those hook points.
//
// What "the gradient at a hook" means: d metric / d (the hook point's output), summed over every
// use of it — as torch autograd gives when the hook point's output tensor has .grad retained.
// TransformerLens calls ln1 three times per block (once each for the q, k and v inputs); its
// backward hooks on blocks.L.ln1.hook_* see the three partial gradients separately, while the
// gradient cache here holds their sum (the true derivative).
//
// Forward hooks run in the forward pass as usual, but the backward treats every hook point as the
// identity: gradients do not flow through what a forward hook did (linearisation around the hooked
// run). Stop-gradient (detach) at chosen hook points: the gradient there is recorded, and nothing
// flows further upstream from it.
import Foundation
import TLTensor

/// A backward hook: reads and may replace (in place, same shape) the gradient at a hook point,
/// as TransformerLens's `add_hook(name, fn, dir="bwd")` does.
public typealias GradientHook = ForwardHook

/// The gradient of the metric with respect to the logits, on the rows it depends on.
public struct LogitGradient: Sendable {
    /// Flat rows (b · pos + p) of the logits [B, P, V] the metric reads.
    public var rows: [Int]
    /// The vocabulary columns with a nonzero gradient, or nil for all V.
    public var columns: [Int]?
    /// [rows.count, columns.count (or V)], row-major.
    public var values: [Float]
    public init(rows: [Int], columns: [Int]?, values: [Float]) { self.rows = rows; self.columns = columns; self.values = values }
}

/// Options of one gradient run.
public struct GradientOptions {
    /// Forward hooks for the forward part of the run.
    public var forwardHooks: [ForwardHook] = []
    /// Backward hooks on gradients (read or replace), by name or predicate.
    public var hooks: [GradientHook] = []
    /// Hook points where the gradient stops (detach): recorded there, zero upstream of it.
    public var stopGradient: ((String) -> Bool)? = nil
    /// Which gradients to keep in the gradient cache (nil = every hook point).
    public var gradientFilter: ((String) -> Bool)? = nil
    /// Which activations to keep in the returned activation cache besides those the backward needs
    /// (nil = every hook point; `{ _ in false }` = only the needed ones).
    public var activationFilter: ((String) -> Bool)? = nil
    /// Also record the gradients at each head's q/k/v input (`blocks.L.hook_q_input` … [B, P, H, d])
    /// and at `blocks.L.hook_mlp_in` [B, P, d], as if use_split_qkv_input and use_hook_mlp_in were
    /// on (they are computed anyway; this names them). Edge attribution's receivers read them.
    public var inputGradients = false
    /// Compute only these vocabulary columns of the logits (RunOptions.logitTokens): `GradientRun.logits`
    /// is then [B, P, columns.count], and the metric's seed must name exactly these columns. A metric
    /// of a few logits (a logit difference) needs no full unembedding: at short prompts that product
    /// is a third of the forward pass. The activation cache then has no unembed.hook_out.
    public var logitColumns: [Int]? = nil
    /// Checked between blocks.
    public var isCancelled: (() -> Bool)? = nil
    public init() {}
}

/// What a gradient run produced.
public struct GradientRun {
    /// [B, P, V], or [B, P, columns] under `GradientOptions.logitColumns`.
    public var logits: Tensor
    /// The forward run's activations (the needed ones plus those `activationFilter` asks for).
    public var activations: ActivationCache
    /// d metric / d activation per hook name, shapes as the activations'.
    public var gradients: ActivationCache
}

extension HookedTransformer {
    /// One forward pass with a cache, the metric's logit gradient from `seed(logits)`, then the
    /// backward pass. Full causal sequences only (no padding mask, no KV cache).
    public func gradients(tokens: [[Int]], options: GradientOptions = GradientOptions(),
                          seed: (Tensor) throws -> LogitGradient) throws -> GradientRun {
        try requireWeights()
        // Every family's forward step has its backward (BackwardBlock.swift, BackwardSteps.swift).
        // TransformerLens's split q/k/v inputs under grouped-query attention give ln1 two shapes in
        // one block; that combination has no backward.
        if optionalHooks.splitQKVInput && config.kvHeads != config.nHeads {
            throw TLModelError.invalidInput("gradients with use_split_qkv_input under grouped-query attention (\(config.nHeads) query heads on \(config.kvHeads) key/value heads) are not supported; "
                + "turn split q/k/v inputs off (the gradients at each head's inputs are still recorded with inputGradients)")
        }
        let needed = Set(Backward.neededActivations(config))
        let extra = options.activationFilter ?? { _ in true }
        var o = RunOptions()
        o.hooks = options.forwardHooks
        let restricted = options.logitColumns
        if let bad = restricted?.first(where: { $0 < 0 || $0 >= config.dVocab }) {
            throw TLModelError.invalidInput("logit column \(bad) is outside the vocabulary (0..<\(config.dVocab))")
        }
        o.cacheFilter = restricted == nil ? { needed.contains($0) || extra($0) } : { $0 != "unembed.hook_out" && (needed.contains($0) || extra($0)) }
        o.logitTokens = restricted
        o.isCancelled = options.isCancelled
        let out = try run(tokens: tokens, options: o)
        let logits = out.logits!
        let g = try seed(logits)
        let V = config.dVocab, width = g.columns?.count ?? V
        guard g.values.count == g.rows.count * width, g.rows.allSatisfy({ $0 >= 0 && $0 < logits.count / logits.shape[2] }) else {
            throw TLModelError.invalidInput("the metric's logit gradient does not match the logits \(logits.shape)")
        }
        if let restricted, g.columns != restricted {
            throw TLModelError.invalidInput("the run computed the logits of columns \(restricted) only, but the metric's gradient reads \(g.columns.map { "\($0)" } ?? "every column")")
        }
        let grads = try Backward(model: self, options: options, acts: out.cache, logits: logits, batch: tokens.count, positions: tokens[0].count).run(g)
        return GradientRun(logits: logits, activations: out.cache, gradients: grads)
    }
}

struct Backward {
    let model: HookedTransformer
    let options: GradientOptions
    /// The forward run's cache.
    let acts: ActivationCache
    /// The forward run's logits [B, P, V] (after the final soft-cap, where the family has one).
    let logits: Tensor
    let B: Int, P: Int
    let grads: ActivationCache
    let hooks: [GradientHook]

    var cfg: ModelConfig { model.config }
    var w: ModelWeights { model.weights }

    init(model: HookedTransformer, options: GradientOptions, acts: ActivationCache, logits: Tensor, batch: Int, positions: Int) {
        self.model = model; self.options = options; self.acts = acts; self.logits = logits
        self.B = batch; self.P = positions
        self.grads = ActivationCache(model: model)
        self.hooks = options.hooks
    }

    /// The activations the backward reads: each norm's scale and output, q/k/v (rotated and
    /// normed where the family does so), the pattern (and the soft-capped scores), the MLP's pre-activations.
    static func neededActivations(_ cfg: ModelConfig) -> [String] {
        var names = ["ln_final.hook_scale", "ln_final.hook_normalized"]
        func norm(_ prefix: String) -> [String] { [prefix + "hook_scale", prefix + "hook_normalized"] }
        for l in 0..<cfg.nLayers {
            let p = "blocks.\(l)."
            names += norm(p + "ln1.") + norm(p + "ln2.")
            names += [p + "attn.hook_q", p + "attn.hook_k", p + "attn.hook_v", p + "attn.hook_pattern", p + "mlp.hook_pre"]
            if cfg.isRotary { names += [p + "attn.hook_rot_q", p + "attn.hook_rot_k"] }
            if cfg.useQKNorm { names += norm(p + "attn.q_norm.") + norm(p + "attn.k_norm.") }
            if cfg.attnScoresSoftCap > 0 { names.append(p + "attn.hook_attn_scores") }
            if cfg.useNormalizationBeforeAndAfter { names += norm(p + "ln1_post.") + norm(p + "ln2_post.") }
            if cfg.gatedMLP { names.append(p + "mlp.hook_pre_linear") }
        }
        return names
    }

    func act(_ name: String) throws -> Tensor {
        guard let t = acts[name] else { throw TLModelError.invalidInput("the backward needs the activation '\(name)', which the forward run did not keep") }
        return t
    }

    /// Whether a gradient named `name` is kept or hooked (otherwise, where optional, it need not be built).
    func wants(_ name: String) -> Bool {
        (options.gradientFilter?(name) ?? true) || hooks.contains { $0.filter.matches(name) }
    }

    /// The gradient at hook point `name` is complete: run backward hooks on it, keep it, and zero
    /// it if the gradient stops here.
    func fire(_ name: String, _ g: inout Tensor) throws {
        for hook in hooks where hook.filter.matches(name) {
            let shape = g.shape
            try hook.function(&g, HookPoint(name: name, layer: HookNames.layer(of: name)))
            guard g.shape == shape else {
                throw TLModelError.invalidInput("a gradient hook on \(name) changed the gradient's shape from \(shape) to \(g.shape); hooks must keep the shape")
            }
        }
        if options.gradientFilter?(name) ?? true { grads.store(name, g) }
        if let stop = options.stopGradient, stop(name) {
            g = Tensor(zeros: g.shape)
        }
    }

    func checkCancelled() throws {
        if let c = options.isCancelled, c() { throw TLModelError.cancelled }
    }

    // MARK: The whole pass, in reverse

    func run(_ seed: LogitGradient) throws -> ActivationCache {
        // d resid after the last block  [B, P, d]
        var dResid = try unembedBackward(seed)
        for l in stride(from: cfg.nLayers - 1, through: 0, by: -1) {
            try checkCancelled()
            try blockBackward(l, &dResid)
        }
        // resid_pre 0 = hook_embed (+ hook_pos_embed with learned positions): both receive its gradient.
        var dEmbed = dResid
        if !cfg.isRotary {
            var dPos = dResid
            try fire("hook_pos_embed", &dPos)
        }
        try fire("hook_embed", &dEmbed)
        return grads
    }

    /// Gemma-2's final soft-cap, logits = cap · tanh(unembed.hook_out / cap) after the hook:
    /// d hook_out = d logits · (1 − (logits / cap)²), on the seed's rows and columns.
    func softCapBackward(_ seed: LogitGradient) -> LogitGradient {
        let cap = cfg.outputLogitsSoftCap, V = cfg.dVocab
        guard cap > 0 else { return seed }
        var out = seed
        let width = seed.columns?.count ?? V
        // Logits of just the seed's columns (GradientOptions.logitColumns) are indexed by c itself.
        let logitWidth = logits.shape[2], restricted = logitWidth != V
        for (i, r) in seed.rows.enumerated() {
            for c in 0..<width {
                let t = logits.data[r * logitWidth + (restricted ? c : (seed.columns?[c] ?? c))] / cap
                out.values[i * width + c] *= 1 - t * t
            }
        }
        return out
    }

    /// logits = unembed.hook_in @ W_U + b_U, unembed.hook_in = ln_final(resid): d resid [B, P, d].
    func unembedBackward(_ metricSeed: LogitGradient) throws -> Tensor {
        let d = cfg.dModel, V = cfg.dVocab
        let seed = softCapBackward(metricSeed)
        var dIn = Tensor(zeros: [B, P, d])  // d unembed.hook_in
        let hookedOut = hooks.contains { $0.filter.matches("unembed.hook_out") }
        let stoppedOut = options.stopGradient?("unembed.hook_out") ?? false
        if !hookedOut && wants("unembed.hook_out") {
            // Kept but not hooked: store the dense gradient, and go on from the sparse seed below.
            var dLogits = Self.dense(seed, B: B, P: P, V: V)
            try fire("unembed.hook_out", &dLogits)
        }
        if stoppedOut && !hookedOut {
            // Nothing flows past the logits (fire above recorded them where kept).
        } else if hookedOut {
            // Hooked: the dense gradient [B, P, V] (hooks may change any of it), then dIn = dLogits @ W_Uᵀ.
            var dLogits = Self.dense(seed, B: B, P: P, V: V)
            try fire("unembed.hook_out", &dLogits)
            dIn = model.unembedMatrix.productTransposed(dLogits, shape: [B, P, d])
        } else if let columns = seed.columns {
            // Few columns: dIn[r] = Σ_c g[r, c] · W_U[:, col_c].
            let wU = model.unembedMatrix
            seed.values.withUnsafeBufferPointer { g in
                dIn.data.withUnsafeMutableBufferPointer { o in
                    for (i, r) in seed.rows.enumerated() {
                        wU.addTransposed(columns: columns, g.baseAddress! + i * columns.count, to: o.baseAddress! + r * d)
                    }
                }
            }
        } else {
            // Dense rows: [n, V] @ W_Uᵀ → [n, d], scattered to their rows.
            var part = [Float](repeating: 0, count: seed.rows.count * d)
            seed.values.withUnsafeBufferPointer { g in
                part.withUnsafeMutableBufferPointer { o in
                    model.unembedMatrix.multiplyTransposed(m: seed.rows.count, a: g.baseAddress!, lda: V, c: o.baseAddress!, ldc: d)
                }
            }
            for (i, r) in seed.rows.enumerated() { for j in 0..<d { dIn.data[r * d + j] += part[i * d + j] } }
        }
        try fire("unembed.hook_in", &dIn)
        return try normBackward(dIn, weight: w.lnFinalW, prefix: "ln_final.")
    }

    /// The seed as a dense [B, P, V] gradient.
    static func dense(_ seed: LogitGradient, B: Int, P: Int, V: Int) -> Tensor {
        var out = Tensor(zeros: [B, P, V])
        let width = seed.columns?.count ?? V
        for (i, r) in seed.rows.enumerated() {
            for c in 0..<width { out.data[r * V + (seed.columns?[c] ?? c)] += seed.values[i * width + c] }
        }
        return out
    }

    // MARK: LayerNorm(Pre) and RMSNorm(Pre)

    /// Backward of x ↦ norm(x) (then × w (+ b) when not folded), given d output [..., d]: the
    /// family's LayerNorm or RMSNorm. Fires hook_normalized and hook_scale gradients; returns d x.
    /// With n = x_c / s (x_c = x − mean(x) for LayerNorm, x itself for RMSNorm), s = sqrt(mean(x_c²) + eps):
    ///   d s = −Σ dn·n / s;   d x_c = dn / s + d s · n / d;   LayerNorm: d x = d x_c − mean(d x_c).
    func normBackward(_ dOut: Tensor, weight: [Float]?, prefix: String) throws -> Tensor {
        let normalized = try act(prefix + "hook_normalized")  // [..., d]
        let scale = try act(prefix + "hook_scale")            // [..., 1]
        var dn = dOut
        let d = dn.shape.last!, rows = dn.count / d
        if let weight { for r in 0..<rows { for i in 0..<d { dn.data[r * d + i] *= weight[i] } } }
        try fire(prefix + "hook_normalized", &dn)
        var ds = Tensor(zeros: scale.shape)
        for r in 0..<rows {
            var s: Float = 0
            for i in 0..<d { s += dn.data[r * d + i] * normalized.data[r * d + i] }
            ds.data[r] = -s / scale.data[r]
        }
        try fire(prefix + "hook_scale", &ds)
        return Self.normInputGradient(dn: dn, ds: ds, normalized: normalized, scale: scale, centred: cfg.normalizationType != .rms)
    }

    /// d x from the gradients at hook_normalized [rows·d] and hook_scale [rows] (both final);
    /// `centred` for LayerNorm (the mean was subtracted), not for RMSNorm.
    static func normInputGradient(dn: Tensor, ds: Tensor, normalized: Tensor, scale: Tensor, centred: Bool) -> Tensor {
        let d = dn.shape.last!, rows = dn.count / d
        var dx = Tensor(uninitialized: dn.shape)
        dn.data.withUnsafeBufferPointer { g in
            normalized.data.withUnsafeBufferPointer { n in
                dx.data.withUnsafeMutableBufferPointer { o in
                    for r in 0..<rows {
                        let inv = 1 / scale.data[r], dsr = ds.data[r] / Float(d)
                        var mean: Float = 0
                        for i in 0..<d {
                            let v = g[r * d + i] * inv + dsr * n[r * d + i]
                            o[r * d + i] = v
                            mean += v
                        }
                        guard centred else { continue }
                        mean /= Float(d)
                        for i in 0..<d { o[r * d + i] -= mean }
                    }
                }
            }
        }
        return dx
    }
}
