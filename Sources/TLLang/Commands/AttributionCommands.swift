// Commands: patching, gradients and attribution. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLCore
import TLInterp
import TLModel
import TLRender
import TLTensor

enum LogitDiffCommand: TLCommand {
    static let about = CommandAbout("logit_diff", .attribution, "Make a metric: logit of the correct token minus logit of the wrong one",
                                     examples: ["metric = logit_diff \" Paris\" \" Rome\""],
                                     details: "Bind the result to `metric` so that patch uses it by default.")
    static let correct = Argument<Expr>("CORRECT", .tokens, "the token the clean prompt should predict")
    static let wrong = Argument<Expr?>("WRONG", .tokens, "the token the corrupt prompt predicts")
    static let arguments: [any ArgumentDeclaration] = [correct, wrong]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdLogitDiff(a) }
}

enum PatchCommand: TLCommand {
    static let about = CommandAbout("patch", .attribution, "Patch one activation (or SAE feature) from the clean run into the corrupt run and measure the metric",
                                     examples: ["patch resid_post layer=*", "patch resid_post layer=* pos=*", "patch z layer=* head=*",
                           "patch attn_out layer=0..6 pos=-1 clean=c1 corrupt=c2",
                           "patch features saes=[s] error=true pos=*", "patch features saes=[s] error=true feature=[453] value=0"],
                                     details: "Every swept index is one forward pass of the corrupt prompt with the clean activation copied in; the result is the metric per index (a bar chart for one axis, a heatmap for two). Positional patching needs clean and corrupt prompts of the same token length. With saes=, every run (clean, corrupt and each patched one) has the SAEs spliced in; `patch features` then copies one feature's activation (hook_sae_acts_post) of the first SAE from the clean run into the corrupt run, at each position of pos= or at every position at once, as a hook on it does in HookedSAETransformer (with error=true the error term stays that of the unpatched reconstruction).")
    static let hook = Argument<Expr>("HOOK", .hook, "which activation, e.g. resid_post, attn_out, z, pattern; features: the features of the first SAE in saes=")
    static let layer = Option<Expr?>("layer", .layers, "layers to sweep", default: .described("*"))
    static let pos = Option<Expr?>("pos", .positions, "positions to sweep; omit to patch all positions at once")
    static let head = Option<Expr?>("head", .heads, "heads to sweep (for z, q, k, v, pattern)")
    static let normalize = Option<Bool>("normalize", "report (patched − corrupt) / (clean − corrupt): 0 = no effect, 1 = fully restored", default: false)
    static let feature = Option<Expr?>("feature", .positions, "with features: the features to sweep, e.g. feature=[453, 320] or feature=*", default: .described("the k features whose activation differs most between clean and corrupt"))
    static let k = Option<Int>("k", "with features and no feature=: how many of the most changed features to sweep", default: 10, bounds: .atLeast(1))
    static let value = Option<Double?>("value", "with features: set each swept feature to this instead of its clean activation (0 ablates it)")
    static let options: [any OptionDeclaration] = [layer, pos, head, Shared.clean, Shared.corrupt, Shared.metric, normalize, feature, k, value] + Splice.options
    static let arguments: [any ArgumentDeclaration] = [hook]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdPatch(a) }
}

enum GradCommand: TLCommand {
    static let about = CommandAbout("grad", .attribution, "Differentiate the metric: its gradient at every hook point of a run, as a cache under TransformerLens names",
                                     examples: ["g = grad corrupt", "g = grad corrupt stop=\"hook_scale\"", "g = grad clean metric=m", "g = grad corrupt names=\"resid_post\"",
                           "g = grad corrupt at=\"blocks.1.hook_attn_out\" scale=0"],
                                     details: "One forward and one backward pass. g[\"blocks.3.hook_resid_post\"] is d metric / d activation, shaped like the activation (the gradient cache beside the activation cache, under TransformerLens names); ln1's gradient is the sum over its three uses (the q, k and v inputs). stop= records the gradient at its hook points and lets nothing flow upstream from them (detach); at= with scale= or set= is a backward hook that replaces the gradient (TransformerLens's dir=\"bwd\" hooks). Without RUN, uses \(lastCache).")
    static let runInput = Argument<Expr?>("RUN", "a cache (or a prompt) to differentiate at")
    static let stop = Option<Expr?>("stop", "stop the gradient (detach) at hook points whose names contain this text, e.g. \"hook_scale\" or [\"hook_scale\", \"pattern\"]")
    static let names = Option<Expr?>("names", "keep only the gradients at hook points whose names contain this text (or one of a list), e.g. \"resid_post\"")
    static let at = Option<Expr?>("at", "with scale= or set=: the hook points (names containing this text) whose gradient is replaced")
    static let scale = Option<Double?>("scale", "with at=: multiply the gradient there by this before it is kept and flows upstream (0 cuts those paths)")
    static let set = Option<Expr?>("set", "with at=: replace the gradient there by this tensor (shaped like the activation) or number")
    static let options: [any OptionDeclaration] = [Shared.metric, stop, names, at, scale, set]
    static let arguments: [any ArgumentDeclaration] = [runInput]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdGrad(a) }
}

enum AttribCommand: TLCommand {
    static let about = CommandAbout("attrib", .attribution, "Attribution patching: estimate every activation patch at once from one backward pass",
                                     examples: ["a = attrib resid_post layer=* pos=*", "b = attrib z layer=* head=*", "attrib pattern layer=0 head=* pos=*",
                           "attrib post layer=1 neuron=*", "attrib k layer=* pos=* head=* qk_fix=true", "attrib z layer=* head=* graddrop=true", "attrib resid_post layer=* pos=* exact=true"],
                                     details: "Each cell is Σ (clean − corrupt) · d metric / d activation at the corrupt run, summed over every axis not shown: a linear estimate of patch's (patched − corrupt) from two forward passes and one backward pass, in patch's orientation.")
    static let hook = Argument<Expr>("HOOK", .hook, "which activation, e.g. resid_post, attn_out, z, pattern, post")
    static let layer = Option<Expr?>("layer", .layers, "layers to show", default: .described("*"))
    static let pos = Option<Expr?>("pos", .positions, "positions to show; omit to sum over positions")
    static let head = Option<Expr?>("head", .heads, "heads to show (for z, q, k, v, pattern)")
    static let src = Option<Expr?>("src", .positions, "source positions (for pattern)")
    static let neuron = Option<Expr?>("neuron", .positions, "neurons to show (for pre and post)")
    static let stop = Option<Expr?>("stop", "stop the gradient at hook points whose names contain this text")
    static let exact = Option<Bool>("exact", "also run exact activation patching over the same cells and show it beside the estimate, with their correlation", default: false)
    static let qkFix = Option<Bool>("qk_fix", "AtP*'s QK fix for q and k: recompute the attention pattern with the clean q or k instead of going linearly through the softmax", default: false)
    static let graddrop = Option<Bool>("graddrop", "AtP*'s GradDrop: 1/(L − 1) Σ over layers ℓ of |the estimate with the gradient through layer ℓ's attn_out and mlp_out dropped| (L backward passes; scores ≥ 0)", default: false)
    static let options: [any OptionDeclaration] = [layer, pos, head, src, neuron, Shared.clean, Shared.corrupt, Shared.metric, stop, exact, qkFix, graddrop]
    static let arguments: [any ArgumentDeclaration] = [hook]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdAttrib(a) }
}

enum EAPCommand: TLCommand {
    static let about = CommandAbout("eap", .attribution, "Edge attribution patching: score every edge between components and run the top ones as a circuit",
                                     examples: ["eap", "eap top=30 steps=5", "eap steps=5 ig=activations", "e = eap threshold=0.05 out=\"circuit.json\""],
                                     details: "Senders: input (embeddings), each head aL.hH, each MLP mL; receivers: each head's q, k and v input (under grouped-query attention aL.hG<k> and aL.hG<v> are key/value head G's inputs), each MLP, the logits; with parallel attention and MLP (GPT-NeoX) no head feeds its own layer's MLP. score(u → v) = (a_u clean − a_u corrupt) · d metric / d in_v on the clean input (EAP), through ln1_post's Jacobian for heads of post-normed models (Gemma-2), or averaged over `steps` interpolations from corrupt to clean (EAP-IG; ig=inputs: the embeddings; ig=activations: each layer node's output in turn); positive = the edge carries the clean behaviour. The selected edges are pruned to paths from input to logits, then run: the clean input with every other edge fed its corrupt value; faithfulness = (circuit − corrupt) / (clean − corrupt). It shows the circuit as a layered graph (components in rows by layer, embeddings at the bottom and logits at the top; each edge a line whose width and colour depth follow |score|, red positive, blue negative) and a sender × receiver heatmap; `save e \"circuit.png\"` (or .svg) writes the graph.")
    static let top = Option<Int?>("top", "keep this many edges by |score| before pruning", default: .described("20 unless threshold= is given"), bounds: .atLeast(1))
    static let threshold = Option<Double?>("threshold", "keep edges with |score| at least this")
    static let steps = Option<Int?>("steps", "EAP-IG: average gradients over this many interpolations from corrupt to clean; omit for plain EAP", bounds: .atLeast(1, atMost: .value(1000)))
    static let ig = Option<EdgeIntegration>("ig", "with steps=, where EAP-IG interpolates: the embeddings, or each layer node's output in turn (input, each attention layer, each MLP; (1 + 2·layers)·steps runs)", default: .inputs)
    static let ablation = Option<CircuitAblation>("ablation", "what edges outside the circuit carry in the faithfulness run: the sender's corrupt output, or its mean over the corrupt run's positions (then 0 is the empty circuit's value, not the corrupt run's)", default: .corrupt)
    static let k = Option<Int>("k", "rows in each table of edges", default: 15, bounds: .atLeast(1))
    static let out = Option<Expr?>("out", .path, "also write the scored graph and circuit as JSON here")
    static let options: [any OptionDeclaration] = [top, threshold, steps, ig, ablation, k, out, Shared.clean, Shared.corrupt, Shared.metric]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdEAP(a) }
}

enum DLACommand: TLCommand {
    static let about = CommandAbout("dla", .attribution, "Attribute a token's logit (or a logit difference) to every head and MLP",
                                     examples: ["dla \" Paris\"", "dla \" Paris\" - \" Rome\"", "dla \" Paris\" cache=clean k=5", "dla \" Paris\" neurons=1",
                           "dla \" Paris\" - \" Rome\" saes=[s] error=true"],
                                     details: "With saes=, the cache's tokens run again with the SAEs spliced in; the components are those of that run, and each SAE that writes a d_model-wide activation inside the blocks gets a table of its features: activation × decoder direction, through the final LayerNorm's cached scale and the unembedding (TransformerLens's logit_attrs on the stack of feature contributions).")
    static let target = Argument<Expr>("TARGET", .tokens, "a token string, or a difference such as \" Paris\" - \" Rome\"")
    static let cache = Option<Expr?>("cache", "the cache to attribute", default: .described(lastCache))
    static let pos = Option<Int>("pos", "the position whose prediction is explained (negative counts from the end)", default: -1)
    static let k = Option<Int>("k", "rows in the table of top components", default: 10, bounds: .atLeast(1))
    static let neurons = Option<Int?>("neurons", "also attribute to every neuron of this layer's MLP")
    static let options: [any OptionDeclaration] = [cache, pos, k, neurons] + Splice.options
    static let arguments: [any ArgumentDeclaration] = [target]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdDLA(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdLogitDiff(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        guard let first = a.expression(of: LogitDiffCommand.correct) else { throw TLLangError.at(a.range, "logit_diff needs tokens, e.g. logit_diff \" Paris\" \" Rome\"") }
        var target = try tokenTarget(first, model: m)
        if let second = a.expression(of: LogitDiffCommand.wrong) {
            let w = try tokenTarget(second, model: m)
            target = (target.answer, w.answer, "\(target.label) − \(w.label)")
        }
        guard let wrong = target.wrong else {
            return .metric(MetricValue(metric: .logit(token: target.answer), description: "logit of \(target.label)"))
        }
        return .metric(MetricValue(metric: .logitDiff(answer: target.answer, wrong: wrong), description: "logit difference \(target.label)"))
    }

    func cmdPatch(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.expression(of: Shared.clean), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.expression(of: Shared.corrupt), range: a.range)
        let metric: MetricValue
        if let e = a.expression(of: Shared.metric) {
            guard case .metric(let mv) = try evaluate(e) else { throw TLLangError.at(e.range, "metric= takes a metric, e.g. logit_diff \" Paris\" \" Rome\"") }
            metric = mv
        } else if case .metric(let mv)? = variables["metric"] { metric = mv } else {
            throw TLLangError.at(a.range, "patch needs a metric", hint: "metric = logit_diff \" Paris\" \" Rome\"")
        }
        guard clean.tokens.count == corrupt.tokens.count else {
            throw TLLangError.at(a.range, "clean and corrupt prompts must have the same number of tokens for positional patching: clean has \(clean.tokens.count) (\(clean.strTokens.map(visibleToken).joined(separator: " | "))), corrupt has \(corrupt.tokens.count) (\(corrupt.strTokens.map(visibleToken).joined(separator: " | ")))",
                                 hint: "reword one prompt so both tokenize to the same length (see `tokens`)")
        }
        let hook = a.expression(of: PatchCommand.hook).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let splices = try splices(a, model: m)
        if hook == "features" {
            return try patchFeatures(a, model: m, splices: splices, clean: clean, corrupt: corrupt, metric: metric)
        }
        if let (name, e) = a.firstGiven(PatchCommand.feature, PatchCommand.k, PatchCommand.value) {
            throw TLLangError.at(e.range, "\(name)= goes with patch features saes=[s]")
        }
        try checkActivationName(hook, at: a.range(of: PatchCommand.hook), model: m)
        let cfg = m.model.config, P = clean.tokens.count
        var axes: [PatchAxis] = [.layer]
        var ranges: [PatchAxis: [Int]] = [:]
        if let l = a.expression(of: PatchCommand.layer) { ranges[.layer] = try checkedIndices(l, limit: cfg.nLayers, option: "layer", what: "layers") }
        let isPattern = hook == "pattern" || hook == "attn" || hook.hasSuffix("hook_pattern")
        if let p = a.expression(of: PatchCommand.pos) {
            axes.append(isPattern ? .dest : .pos)
            ranges[isPattern ? .dest : .pos] = try checkedIndices(p, limit: P, option: "pos", what: "positions")
        }
        if let h = a.expression(of: PatchCommand.head) {
            axes.insert(.head, at: isPattern ? 1 : axes.count)
            let (heads, what) = headAxis(of: hook, config: cfg)
            ranges[.head] = try checkedIndices(h, limit: heads, option: "head", what: what)
        }
        if !backend.isLocal {
            guard splices.isEmpty else {
                throw TLLangError.at(a.range, "patch with saes= runs on the local engine only; the \(backend.kind.rawValue) backend has no SAE plans yet", hint: "backend local")
            }
            return try patchThroughPlan(m, hook: hook, axes: axes, ranges: ranges, clean: clean, corrupt: corrupt,
                                        metric: metric, normalize: try a[PatchCommand.normalize], range: a.range)
        }
        // With SAEs, the clean activations patched in are those of the spliced clean run.
        let cleanCache = splices.isEmpty ? clean.cache : try runPrompt(.cache(clean), bos: nil, range: a.range, saes: splices).cache
        let patcher: Patcher
        do {
            // The session's own clean and corrupt runs serve as the patcher's (no forward repeated).
            patcher = try Patcher(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric, cleanCache: cleanCache,
                                  cleanLogits: clean.logits, corruptCache: corrupt.cache, corruptLogits: corrupt.logits,
                                  spliceHooks: splices.flatMap { $0.hooks(for: m.model) })
        } catch let e as SAEError { throw TLLangError.at(a.range, e.description) }
        let result: PatchResult
        do { result = try patcher.sweep(activation: hook, axes: axes, ranges: ranges, normalize: try a[PatchCommand.normalize],
                                      monitor: monitor("patch \(hook)")) } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        return patchDisplay(result, metric: metric, tokens: clean.strTokens)
    }

    /// `patch features saes=[s]`: each feature of the first SAE copied from the clean into the
    /// corrupt run (or set to value=), at each position of pos= or at every position at once.
    func patchFeatures(_ a: Invocation, model m: LoadedModel, splices: [SAESplice], clean: CacheValue, corrupt: CacheValue,
                       metric: MetricValue) throws -> Value {
        guard let first = splices.first else {
            throw TLLangError.at(a.range(of: PatchCommand.hook), "patch features needs the SAE whose features to patch",
                                 hint: "patch features saes=[s] (with error=true to keep the error term)")
        }
        if let (name, e) = a.firstGiven(PatchCommand.layer, PatchCommand.head) {
            throw TLLangError.at(e.range, "\(name)= does not apply to features: the SAE's hook fixes where they are patched",
                                 hint: "sweep features with feature= and positions with pos=")
        }
        let patcher: FeaturePatcher
        do {
            patcher = try FeaturePatcher(model: m.model, splices: splices, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric)
        } catch let e as SAEError { throw TLLangError.at(a.range, e.description) }
        let cfg = first.sae.config
        let features: [Int]
        if let fe = a.expression(of: PatchCommand.feature) {
            features = try checkedIndices(fe, limit: cfg.dSae, option: "feature", what: "features").map { $0 < 0 ? $0 + cfg.dSae : $0 }
        } else {
            features = patcher.mostChangedFeatures(try a[PatchCommand.k])
            guard !features.isEmpty else {
                throw TLLangError.at(a.range, "no feature of the SAE at \(cfg.outputHook) differs between the clean and corrupt runs",
                                     hint: "name the features to patch, e.g. feature=[0, 1] value=0")
            }
        }
        let positions = try a.expression(of: PatchCommand.pos).map { try checkedIndices($0, limit: clean.tokens.count, option: "pos", what: "positions") }
        let value = try a[PatchCommand.value].map(Float.init)
        let result: FeaturePatchResult
        do {
            result = try patcher.sweep(features: features, positions: positions, value: value, normalize: try a[PatchCommand.normalize],
                                       monitor: monitor("patch features"))
        } catch TLInterpError.invalidArgument(let msg) { throw TLLangError.at(a.range, msg) }
        catch let e as SAEError { throw TLLangError.at(a.range, e.description) }
        let what = value.map { "set to \(formatNumber(Double($0)))" } ?? "clean → corrupt"
        let summary = String(format: "patching features of the SAE at %@ (%@) — %@%@; clean %.4f, corrupt %.4f (SAEs spliced%@)",
                             cfg.outputHook, what, metric.description, result.normalized ? " (normalised: 0 = corrupt, 1 = clean)" : "",
                             result.cleanValue, result.corruptValue, try a[Splice.error] ? ", with error terms" : "")
        var d = Display(text: summary)
        let axes = result.positions == nil ? ["feature"] : ["feature", "pos"]
        let grid = SweepGrid(axes: axes, axisValues: [result.features] + (result.positions.map { [$0] } ?? []), values: result.values,
                             valueName: "metric", title: "patch features (\(what)): \(metric.description)", largestTitle: "largest effects",
                             rankingBase: result.normalized ? 0 : result.corruptValue)
        grid.present(into: &d, tokens: clean.strTokens)
        return .result(d, data: NamedTensor(result.values, axes: grid.axes))
    }

    func cmdDLA(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        guard let t = a.expression(of: DLACommand.target) else { throw TLLangError.at(a.range, "dla needs a token, e.g. dla \" Paris\"") }
        let target = try tokenTarget(t, model: m)
        let pos = try a[DLACommand.pos], k = try a[DLACommand.k]
        let c = try cacheArgument(a.expression(of: DLACommand.cache), range: a.range, splicing: a, names: backend.isLocal ? nil : [])
        guard pos >= -c.tokens.count && pos < c.tokens.count else {
            throw TLLangError.at(a.range(of: DLACommand.pos), "position \(pos) is out of range for \(c.tokens.count) tokens", hint: "positions run 0…\(c.tokens.count - 1); negative counts from the end")
        }
        let neuronLayer = try a[DLACommand.neurons].map { try resolveLayer($0, m.model, range: a.range(of: DLACommand.neurons)) }
        try checkCancelled()
        let attr = backend.isLocal
            ? try DirectLogitAttribution.attribute(cache: c.cache, token: target.answer, wrong: target.wrong, position: pos,
                                                   neuronLayer: neuronLayer)
            : try dlaThroughPlan(m, tokens: c.tokens, target: target, position: pos, neuronLayer: neuronLayer, range: a.range)
        try checkCancelled()
        var result = DLAResult(target: target.label, position: pos, attribution: attr, nLayers: m.model.config.nLayers,
                               nHeads: m.model.config.nHeads, k: k)
        // saes=: each spliced SAE's features, as decoder directions through the unembedding.
        for splice in try splices(a, model: m) {
            let s = SAEValue(sae: splice.sae, name: splice.sae.config.outputHook)
            guard Self.writesResidualWidth(s, m) else {
                note("the SAE at \(s.sae.config.outputHook) does not write a d_model-wide activation inside the blocks; its features have no direct logit attribution")
                continue
            }
            let acts = try featureActivations(s, c, range: a.range)
            let attrs = try featureLogitAttributions(s, acts: acts, cache: c, position: pos, target: target, range: a.range)
            let P = acts.shape[0], F = acts.shape[1], p = pos < 0 ? pos + P : pos
            result.features.append(.init(hook: s.sae.config.outputHook, activations: Array(acts.data[(p * F)..<((p + 1) * F)]),
                                         attributions: attrs.data))
        }
        return value(of: result)
    }

    func cmdGrad(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let run: CacheValue
        if let e = a.expression(of: GradCommand.runInput) { run = try runPrompt(try evaluate(e), bos: true, range: e.range) } else {
            run = try cacheArgument(nil, range: a.range)
        }
        let metric = try metricArgument(a, verb: "grad")
        var o = GradientOptions()
        o.stopGradient = try stopArgument(a, GradCommand.stop)
        o.gradientFilter = try hookTextsArgument(a, GradCommand.names)
        o.activationFilter = { _ in false }
        o.isCancelled = monitorCancel
        o.hooks = try gradientHooks(a)
        let tokens = run.tokens
        let result: GradientRun
        do {
            result = try m.model.gradients(tokens: [tokens], options: o) { try metric.metric.logitGradient(logits: $0, tokens: [tokens]) }
        } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        } catch TLModelError.invalidInput(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        return .cache(CacheValue(cache: result.gradients, logits: result.logits, tokens: tokens, strTokens: run.strTokens, prompt: run.prompt))
    }

    /// at= with scale= or set=: backward hooks that replace the gradient at the matching hook
    /// points (TransformerLens's add_hook(name, fn, dir="bwd") returning a new gradient) before it
    /// is recorded and flows upstream.
    func gradientHooks(_ a: Invocation) throws -> [GradientHook] {
        let scale = try a[GradCommand.scale], given = a.expression(of: GradCommand.set)
        guard let at = try hookTextsArgument(a, GradCommand.at) else {
            if scale != nil || given != nil { throw TLLangError.at(a.range, "scale= and set= need at=, the hook points whose gradient they replace", hint: "g = grad corrupt at=\"hook_pattern\" scale=0") }
            return []
        }
        if scale != nil && given != nil { throw TLLangError.at(a.range, "give scale= or set=, not both") }
        if let scale {
            let factor = Float(scale)
            return [GradientHook(.predicate(at)) { g, _ in for i in 0..<g.count { g.data[i] *= factor } }]
        }
        guard let given else { throw TLLangError.at(a.range, "at= names where to replace the gradient; add scale=NUMBER or set=TENSOR", hint: "g = grad corrupt at=\"blocks.1.hook_resid_post\" scale=0") }
        let replacement: Tensor
        switch try evaluate(given) {
        case .tensor(let t): replacement = t.tensor
        case .number(let x): replacement = Tensor(shape: [], data: [Float(x)])
        default: throw TLLangError.at(given.range, "set= takes a tensor shaped like the gradient (or a number for every entry)")
        }
        let range = given.range
        return [GradientHook(.predicate(at)) { g, point in
            if replacement.count == 1 && replacement.shape.isEmpty {
                for i in 0..<g.count { g.data[i] = replacement.data[0] }
            } else if replacement.count == g.count {
                g.data = replacement.data
            } else {
                throw TLLangError.at(range, "set= has \(replacement.count) values but the gradient at \(point.name) has shape \(g.shape)")
            }
        }]
    }

    func cmdAttrib(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.expression(of: Shared.clean), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.expression(of: Shared.corrupt), range: a.range)
        let metric = try metricArgument(a, verb: "attrib")
        guard clean.tokens.count == corrupt.tokens.count else {
            throw TLLangError.at(a.range, "clean and corrupt prompts must have the same number of tokens: clean has \(clean.tokens.count), corrupt has \(corrupt.tokens.count)",
                                 hint: "reword one prompt so both tokenize to the same length (see `tokens`)")
        }
        let hook = a.expression(of: AttribCommand.hook).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let cfg = m.model.config, P = clean.tokens.count
        // Axes in `patch`'s order: layer, then pos (dest for patterns), head (second for patterns), src, neuron.
        let isPattern = hook == "pattern" || hook == "attn" || hook == "attn_scores" || hook.hasSuffix("hook_pattern") || hook.hasSuffix("hook_attn_scores")
        var axes: [AttributionAxis] = [.layer]
        var ranges: [AttributionAxis: [Int]] = [:]
        if let l = a.expression(of: AttribCommand.layer) { ranges[.layer] = try indexList(l, limit: cfg.nLayers) }
        if let p = a.expression(of: AttribCommand.pos) { axes.append(isPattern ? .dest : .pos); ranges[isPattern ? .dest : .pos] = try indexList(p, limit: P) }
        if let h = a.expression(of: AttribCommand.head) { axes.insert(.head, at: isPattern ? 1 : axes.count); ranges[.head] = try indexList(h, limit: headAxis(of: hook, config: cfg).count) }
        if let s = a.expression(of: AttribCommand.src) { axes.append(.src); ranges[.src] = try indexList(s, limit: P) }
        if let n = a.expression(of: AttribCommand.neuron) { axes.append(.neuron); ranges[.neuron] = try indexList(n, limit: cfg.dMLP) }
        let result: AttributionResult
        do {
            let atp = try AttributionPatcher(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric,
                                             cleanCache: clean.cache, cleanLogits: clean.logits, stopGradient: try stopArgument(a, AttribCommand.stop),
                                             isCancelled: monitorCancel)
            let qkFix = try a[AttribCommand.qkFix], gradDrop = try a[AttribCommand.graddrop]
            if qkFix && gradDrop {
                throw TLLangError.at(a.range, "qk_fix=true and graddrop=true are separate estimates; ask for one at a time")
            }
            if qkFix {
                guard hook == "q" || hook == "k" else { throw TLLangError.at(a.range, "qk_fix=true applies to q and k only") }
                result = try atp.attributeQKFixed(activation: hook, axes: axes, ranges: ranges)
            } else if gradDrop {
                result = try atp.attributeGradDrop(activation: hook, axes: axes, ranges: ranges,
                                                   stopGradient: try stopArgument(a, AttribCommand.stop), isCancelled: monitorCancel)
            } else {
                result = try atp.attribute(activation: hook, axes: axes, ranges: ranges)
            }
        } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        let shown = attributionDisplay(result, metric: metric, tokens: clean.strTokens)
        guard try a[AttribCommand.exact], case .result(var d, let data) = shown else { return shown }
        // Side by side with exact activation patching (patched − corrupt), same axes and ranges.
        let patchAxes: [PatchAxis] = try axes.map { axis in
            guard let p = PatchAxis(rawValue: axis.rawValue) else { throw TLLangError.at(a.range, "exact=true cannot sweep \(axis.rawValue)=; patch has no such axis") }
            return p
        }
        var patchRanges: [PatchAxis: [Int]] = [:]
        for (axis, values) in ranges { if let p = PatchAxis(rawValue: axis.rawValue) { patchRanges[p] = values } }
        let exact: PatchResult
        do {
            let patcher = try Patcher(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric, cleanCache: clean.cache)
            exact = try patcher.sweep(activation: hook, axes: patchAxes, ranges: patchRanges, monitor: monitor("patch \(hook)"))
        } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        let estimate = result.values.data, truth = exact.values.data.map { $0 - exact.corruptValue }
        d.text += "\n" + Self.agreement(estimate, truth)
        if result.axes.count == 2 || (result.axes.count > 2 && result.axisValues.filter { $0.count > 1 }.count <= 2) {
            let rows = result.axisValues.first { $0.count > 1 }.map(\.count) ?? 1
            let title = "exact patching \(hook): patched − corrupt"
            d.pictures.append(AnyPicture(Figure(Heatmap(values: truth, rows: rows, cols: truth.count / max(rows, 1), title: title,
                                                        scale: .diverging())), title: title))
        }
        return .result(d, data: data)
    }

    func cmdEAP(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.expression(of: Shared.clean), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.expression(of: Shared.corrupt), range: a.range)
        let metric = try metricArgument(a, verb: "eap")
        // Through the declared bounds (steps 1…1000, top ≥ 1): steps=0 or steps=10⁹ used to reach the engine.
        let steps = try a[EAPCommand.steps]
        let threshold = try a[EAPCommand.threshold].map(Float.init)
        let top = try a[EAPCommand.top] ?? (threshold == nil ? 20 : nil)
        let integration = try a[EAPCommand.ig], ablation = try a[EAPCommand.ablation]
        let scores: EdgeScores, circuit: Circuit, circuitValue: Float, baseline: Float
        do {
            if a.expression(of: EAPCommand.ig) != nil && steps == nil {
                throw TLLangError.at(a.range, "ig= chooses where EAP-IG interpolates; it needs steps=, e.g. eap steps=5 ig=activations")
            }
            scores = try EdgeAttribution.scores(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric,
                                                steps: steps, integration: integration, isCancelled: monitorCancel)
            circuit = EdgeAttribution.circuit(scores, top: top, threshold: threshold)
            circuitValue = try EdgeAttribution.evaluate(model: m.model, circuit: circuit.edgeNames, clean: clean.tokens,
                                                        corrupt: corrupt.tokens, metric: metric.metric, ablation: ablation)
            // Faithfulness runs from the empty circuit (0) to the clean run (1): under corrupt ablation
            // the empty circuit is the corrupt run; under mean ablation it is measured.
            baseline = ablation == .corrupt ? scores.corruptValue
                : try EdgeAttribution.evaluate(model: m.model, circuit: [], clean: clean.tokens, corrupt: corrupt.tokens,
                                               metric: metric.metric, ablation: .mean)
        } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        let selection = threshold.map { String(format: "|score| ≥ %g", Double($0)) + (top.map { ", at most \($0)" } ?? "") } ?? "top \(top ?? 0)"
        var report = CircuitReport(scores: scores, circuit: circuit, metric: metric.description, selection: selection, ablation: ablation,
                                   circuitValue: circuitValue, emptyCircuitValue: baseline, k: try a[EAPCommand.k])
        if let out = a.expression(of: EAPCommand.out) {
            let path = (try (out.dottedName ?? stringValue(out)) as NSString).expandingTildeInPath
            do {
                try Data(try report.json.bytes(.init(pretty: true, sortedKeys: true))).write(to: URL(fileURLWithPath: path))
            } catch {
                throw TLLangError.at(out.range, "cannot write \(path): \(error.localizedDescription)")
            }
            report.written = path
        }
        return value(of: report)
    }
}
