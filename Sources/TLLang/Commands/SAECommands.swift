// Commands: sparse autoencoders and transcoders. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor

enum SAECommand: TLCommand {
    static let about = CommandAbout("sae", .saes, "Load a sparse autoencoder or transcoder (SAELens, Gemma Scope or Llama Scope layout), from a directory or by SAELens release",
                                     examples: ["s = sae \"./sae-res-2\"", "s = sae gpt2-small-res-jb blocks.8.hook_resid_pre", "s = sae gemma-scope-2b-pt-res-canonical layer_12/width_16k/canonical"],
                                     details: "Reads SAELens's architectures standard, gated, jumprelu, topk, batchtopk (saved for inference) and transcoders, with apply_b_dec_to_input, normalize_activations and hook_z reshaping as SAELens 6 applies them; F16 and BF16 weights are widened to Float32. Gemma Scope, Gemma Scope 2 and Llama Scope files are converted as SAELens converts them (JumpReLU; hook and model derived from the release's repo and folder, so a local copy must keep those names; Llama Scope's dataset norm factor is folded in). With a model loaded, the SAE's hook must exist in it with the SAE's width. Members: s.dec (decoder [d_sae, d_model]; s.dec[123] is one feature's direction), s.enc, s.b_dec, s.b_enc, s.threshold, s.d_sae, s.hook, s.layer.")
    static let source = Argument<Expr>("SOURCE", .path, "a directory (SAELens's cfg.json + sae_weights.safetensors, Gemma Scope's params.npz or params.safetensors, Llama Scope's hyperparams.json + checkpoints/), a SAELens release name, or default (the SAE shipped for the embedded model)")
    static let saeId = Argument<Expr?>("SAE_ID", .word, "with a release: the SAE's id in it, e.g. blocks.8.hook_resid_pre")
    static let arguments: [any ArgumentDeclaration] = [source, saeId]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdSAE(a) }
}

enum FeaturesCommand: TLCommand {
    static let about = CommandAbout("features", .saes, "Show which SAE features fire at each position of a prompt",
                                     examples: ["f = features s cache", "features s \"The capital of France is\" pos=-1 k=10", "features s cache feature=123",
                           "features s cache dla=\" Paris\" - \" Rome\""],
                                     details: "Assigned, the result is the tensor [pos, feature] of activations (hook_sae_acts_post), or [pos] with feature=. Shown, it is a table of each position's top features and a position × feature heatmap. With dla=, each feature's direct logit attribution at pos= (default -1): activation × its decoder direction (centred) · (W_U[:, a] − W_U[:, b]) ÷ the final LayerNorm's cached scale, as TransformerLens's logit_attrs treats a residual component; assigned, the tensor [feature]. Without INPUT, uses \(lastCache).")
    static let sae = Argument<Expr>("SAE", "an SAE")
    static let input = Argument<Expr?>("INPUT", "a cache or a prompt")
    static let k = Option<Int>("k", "features to list per position", default: 5, bounds: .atLeast(1))
    static let pos = Option<Int?>("pos", "list the top features at this position only")
    static let feature = Option<Int?>("feature", "show this one feature's activation along the text")
    static let dla = Option<Expr?>("dla", .tokens, "rank the features at pos= by their direct logit attribution to this token (or difference)")
    static let options: [any OptionDeclaration] = [k, pos, feature, dla]
    static let arguments: [any ArgumentDeclaration] = [sae, input]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdFeatures(a, assigning: a.assigning) }
}

enum FeatureCommand: TLCommand {
    static let about = CommandAbout("feature", .saes, "Describe one SAE feature: the tokens its decoder direction promotes and its Neuronpedia page",
                                     examples: ["feature s 123"],
                                     details: "The logit effect is W_dec[feature] @ W_U, the feature's direct effect on the logits (direct logit attribution of the feature, before the final LayerNorm's scale). Steer with its direction: generate \"I think\" add=s.dec[123]*8 at=resid_post layer=2.")
    static let sae = Argument<Expr>("SAE", "an SAE")
    static let feature = Argument<Int>("FEATURE", "the feature's index")
    static let k = Option<Int>("k", "tokens to list each way", default: 10, bounds: .atLeast(1, atMost: .vocabulary))
    static let options: [any OptionDeclaration] = [k]
    static let arguments: [any ArgumentDeclaration] = [sae, feature]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdFeature(a) }
}

enum SAEStatsCommand: TLCommand {
    static let about = CommandAbout("sae_stats", .saes, "Measure an SAE on a text: L0, MSE, explained variance and the loss when spliced in",
                                     examples: ["sae_stats s \"The capital of France is Paris. The capital of Italy is Rome.\""],
                                     details: "Explained variance is 1 − Σ‖x − x̂‖² / Σ‖x − mean(x)‖² over positions; the losses are the clean loss, the loss with the SAE spliced in without and with its error term, and with the hook zero-ablated; the fraction of loss recovered is (zero − spliced) / (zero − clean).")
    static let sae = Argument<Expr>("SAE", "an SAE")
    static let input = Argument<Expr?>("INPUT", "a cache or a prompt")
    static let arguments: [any ArgumentDeclaration] = [sae, input]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdSAEStats(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdSAE(_ a: Invocation) throws -> Value {
        guard let p = a.expression(of: SAECommand.source) else { throw TLLangError.at(a.range, "sae needs a directory, e.g. s = sae \"./my-sae\"") }
        let source = try p.dottedName ?? stringValue(p)
        let value: SAEValue
        if let idExpr = a.expression(of: SAECommand.saeId) {
            value = try releaseSAE(release: source, id: try idExpr.dottedName ?? stringValue(idExpr), range: a.range)
        } else if source == "default" {
            // The SAE trained for the embedded default model (tools/train_default_sae).
            let url = DefaultModel.directory(override: hub.environment.defaultModelDirectory).appendingPathComponent("sae")
            value = SAEValue(sae: try loadSAE(url, range: p.range), name: "default (embedded, \(url.lastPathComponent))")
        } else {
            let url = URL(fileURLWithPath: (source as NSString).expandingTildeInPath)
            value = SAEValue(sae: try loadSAE(url, range: p.range), name: url.path)
        }
        if let m = current { try checkSAE(value, against: m, range: p.range) }
        return .sae(value)
    }

    func cmdFeatures(_ a: Invocation, assigning: Bool) throws -> Value {
        let s = try saeArgument(a.expression(of: FeaturesCommand.sae), range: a.range)
        let input = try a.expression(of: FeaturesCommand.input).map { (expr: $0, value: try evaluate($0)) }
        // A prompt (not a cache), without dla=: the model runs only until the SAE's hook fires.
        let c: CacheValue?, sparse: SparseFeatureActivations, strTokens: [String]
        if let input, a.expression(of: FeaturesCommand.dla) == nil, backend.isLocal, let ids = try promptIDs(input.value, range: input.expr.range) {
            let m = try requireModel()
            try checkSAE(s, against: m, range: a.range)
            let x: Tensor
            do { x = try m.model.activation(at: s.sae.config.hookName, tokens: [ids], isCancelled: monitorCancel) } catch TLModelError.invalidInput(let msg) {
                throw TLLangError.at(input.expr.range, msg)
            }
            sparse = try wrap { try s.sae.sparseFeatures(of: x) }
            c = nil; strTokens = m.strTokens(ids)
        } else {
            let cache = try input.map { try runPrompt($0.value, bos: nil, range: $0.expr.range) } ?? cacheArgument(nil, range: a.range)
            sparse = try sparseFeatureActivations(s, cache, range: a.range)
            c = cache; strTokens = cache.strTokens
        }
        let P = sparse.rows, F = sparse.features
        let k = try a[FeaturesCommand.k]
        if let f = try a[FeaturesCommand.feature] {
            guard f >= 0 && f < F else { throw TLLangError.at(a.range(of: FeaturesCommand.feature), "feature \(f) is out of range (d_sae \(F))") }
            let trace = FeatureTrace(feature: f, link: s.neuronpediaLink(f), tokens: strTokens, values: sparse.column(f))
            return assigning ? .tensor(trace.tensor!) : value(of: trace)
        }
        if let target = a.expression(of: FeaturesCommand.dla), let c {
            return try featureDLA(s, c, acts: sparse.dense(), target: target, a: a, k: k, assigning: assigning)
        }
        // Assigned, the value is the dense tensor (what `save f "f.npy"` writes); shown, the
        // table and heatmap read the sparse rows.
        var result = FeatureActivations(sparse: sparse, hook: s.sae.config.hookName, tokens: strTokens, k: k, position: nil, link: s.neuronpediaLink)
        if assigning { return .tensor(result.tensor!) }
        if let p0 = try a[FeaturesCommand.pos] {
            let p = p0 < 0 ? p0 + P : p0
            guard p >= 0 && p < P else { throw TLLangError.at(a.range(of: FeaturesCommand.pos), "position \(p) is out of range for \(P) tokens") }
            result.position = p
        }
        return value(of: result)
    }

    /// `features s c dla=...`: the features ranked by their direct logit attribution at pos=.
    func featureDLA(_ s: SAEValue, _ c: CacheValue, acts: Tensor, target: Expr, a: Invocation, k: Int, assigning: Bool) throws -> Value {
        let m = try requireModel()
        guard Self.writesResidualWidth(s, m) else {
            throw TLLangError.at(target.range, "dla= needs an SAE that writes to a d_model-wide activation inside the blocks")
        }
        let t = try tokenTarget(target, model: m)
        let P = acts.shape[0], F = acts.shape[1]
        // Without pos=, the features at the last position (help's details say so).
        let p0 = try a[FeaturesCommand.pos] ?? -1, p = p0 < 0 ? p0 + P : p0
        guard p >= 0 && p < P else { throw TLLangError.at(a.range, "position \(p0) is out of range for \(P) tokens") }
        let contributions = try featureLogitAttributions(s, acts: acts, cache: c, position: p, target: t, range: target.range).data
        let result = FeatureAttribution(target: t.label, position: p, positionToken: c.strTokens[p], activations: Array(acts.data[(p * F)..<((p + 1) * F)]),
                                        contributions: contributions, k: k, link: s.neuronpediaLink)
        return assigning ? .tensor(result.tensor!) : value(of: result)
    }

    /// One feature: decoder norm, density, Neuronpedia link, and the tokens its decoder direction
    /// promotes and suppresses through the unembedding (W_dec[f] @ W_U).
    func cmdFeature(_ a: Invocation) throws -> Value {
        let s = try saeArgument(a.expression(of: FeatureCommand.sae), range: a.range)
        guard let fe = a.expression(of: FeatureCommand.feature) else { throw TLLangError.at(a.range, "name a feature, e.g. feature s 123") }
        let f = try intValue(fe), cfg = s.sae.config
        guard f >= 0 && f < cfg.dSae else { throw TLLangError.at(fe.range, "feature \(f) is out of range (d_sae \(cfg.dSae))") }
        let m = try requireModel()
        let k = try a[FeatureCommand.k]
        var lines = ["feature \(f) of \(s.summary)", String(format: "decoder norm %.4g", s.sae.decoderNorms[f])]
        if let ls = s.sae.logSparsity { lines.append(String(format: "fires on %.3g%% of tokens (log10 density %.3f)", 100 * pow(10, Double(ls[f])), ls[f])) }
        if let link = s.neuronpediaLink(f) { lines.append("Neuronpedia: \(link)") }
        // Direct effect on the logits, as Neuronpedia's "top logits": W_dec[f] @ W_U.
        var effect: Tensor?
        if cfg.dOut == m.model.config.dModel, !cfg.reshapeHookZ {
            let dir = Tensor(shape: [1, cfg.dOut], data: s.sae.decoderDirection(f))
            effect = m.model.matrix(.unembed).product(dir, plus: nil, shape: [m.model.config.dVocab])
        }
        return value(of: FeatureDescription(lines: lines, feature: f, effect: effect, k: k, tokenString: { m.strTokens([$0])[0] }))
    }

    /// L0, MSE, explained variance, and the loss with the SAE spliced in (with and without the
    /// error term) against the clean and the zero-ablated loss.
    func cmdSAEStats(_ a: Invocation) throws -> Value {
        let s = try saeArgument(a.expression(of: SAEStatsCommand.sae), range: a.range)
        let m = try requireModel()
        try checkSAE(s, against: m, range: a.range)
        let clean = try cacheArgument(a.expression(of: SAEStatsCommand.input), range: a.range)
        let cfg = s.sae.config
        let inHook = m.model.firedHookName(cfg.hookName), outHook = m.model.firedHookName(cfg.outputHook)
        guard let x = clean.cache[inHook], let target = clean.cache[outHook] else {
            throw TLLangError.at(a.range, "the cache has no \(inHook); run the text without SAEs first")
        }
        let (rowsIn, _) = try wrap { try s.sae.rows(of: x) }
        let enc = s.sae.encodeSparse(rowsIn)
        let out = s.sae.decode(enc.acts, encoding: enc).output
        let n = enc.acts.rows
        let l0 = Double(enc.acts.values.filter { $0 > 0 }.count) / Double(n)
        let t = target.data, d = cfg.dOut
        var sse = 0.0, sst = 0.0
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(t[r * d + j]) / Double(n) } }
        for r in 0..<n { for j in 0..<d {
            let diff: Float = t[r * d + j] - out.data[r * d + j]
            let centred: Double = Double(t[r * d + j]) - mean[j]
            sse += Double(diff) * Double(diff)
            sst += centred * centred
        } }
        let mse = sse / Double(n * d)
        let explained = sst > 0 ? 1 - sse / sst : .nan
        func loss(_ hooks: [ForwardHook]) throws -> Double {
            var o = RunOptions()
            o.hooks = hooks
            o.isCancelled = monitorCancel
            let logits = try m.model.run(tokens: [clean.tokens], options: o).logits!
            return Double(crossEntropyLoss(logits: logits, tokens: [clean.tokens]).mean)
        }
        let base = Double(crossEntropyLoss(logits: clean.logits, tokens: [clean.tokens]).mean)
        func splice(error: Bool) -> [ForwardHook] {
            let splice = SAESplice(s.sae, useErrorTerm: error)
            splice.records = false  // only the loss is read
            return splice.hooks(for: m.model)
        }
        let spliced = try loss(splice(error: false))
        let withError = try loss(splice(error: true))
        let zero = try loss([ForwardHook(name: outHook) { t, _ in t = Tensor(zeros: t.shape) }])
        return value(of: SAEQuality(summary: s.summary, tokens: n, l0: l0, mse: mse, explainedVariance: explained, cleanLoss: base,
                                    splicedLoss: spliced, splicedWithErrorLoss: withError, zeroAblatedLoss: zero, outputHook: cfg.outputHook))
    }
}
