// Splicing SAEs into the forward pass with HookedSAETransformer's semantics: the SAE replaces the
// activation at its (output) hook with its reconstruction, optionally plus the error term
// (original − clean reconstruction), and records hook_sae_input / acts_pre / acts_post / recons /
// error / output. A transcoder reads its input at hook_name and writes at hook_name_out.
import TLTensor

extension HookedTransformer {
    /// The hook an SAE names, as this model fires it: HookedSAETransformer adds
    /// `blocks.L.mlp.hook_in` (the MLP's input), which is the value of `blocks.L.ln2.hook_normalized`.
    public func firedHookName(_ name: String) -> String {
        if name.hasPrefix("blocks."), name.hasSuffix(".mlp.hook_in"), let l = HookNames.layer(of: name) {
            return "blocks.\(l).ln2.hook_normalized"
        }
        return name
    }

    /// The shape of one position's activation at `name` ([d_model], [n_heads, d_head], ...),
    /// or nil where the hook is not one of this model's position-wise activations.
    public func positionShape(ofHook name: String) -> [Int]? {
        let fired = firedHookName(name)
        guard hookNames.contains(fired) else { return nil }
        let c = config
        switch fired.split(separator: ".").last.map(String.init) ?? fired {
        case "hook_q", "hook_k", "hook_v", "hook_z": return [c.nHeads, c.dHead]
        case "hook_result", "hook_q_input", "hook_k_input", "hook_v_input", "hook_attn_in": return [c.nHeads, c.dModel]
        case "hook_pattern", "hook_attn_scores": return nil
        case "hook_pre", "hook_post": return [c.dMLP]
        case "hook_scale": return [1]
        case "hook_out" where fired.hasPrefix("unembed"): return [c.dVocab]
        default: return [c.dModel]
        }
    }
}

extension SparseAutoencoder {
    /// Checks that this SAE fits `model` (hooks exist, widths match) before anything runs.
    public func checkCompatible(with model: HookedTransformer) throws {
        let c = config
        func width(_ hook: String, role: String) throws -> [Int] {
            guard let shape = model.positionShape(ofHook: hook) else {
                let known = model.hookNames.contains(model.firedHookName(hook))
                throw SAEError.incompatible(known
                    ? "the SAE's \(role) hook \(hook) is not a per-position activation; SAEs attach to activations such as blocks.L.hook_resid_pre"
                    : "the SAE's \(role) hook \(hook) does not exist in this model (\(model.config.nLayers) layers); it was trained for \(c.modelName ?? "another model") — load that model, or pick an SAE for this one (`hooks` lists this model's hook names)")
            }
            return shape
        }
        let inShape = try width(c.hookName, role: "input")
        let inWidth = c.reshapeHookZ ? inShape.reduce(1, *) : inShape.last!
        guard inWidth == c.dIn else {
            throw SAEError.incompatible("the SAE's d_in is \(c.dIn) but \(c.hookName) has width \(inWidth) in this model\(c.reshapeHookZ ? " (n_heads × d_head)" : ""); it was trained for \(c.modelName ?? "another model")")
        }
        if c.architecture.isTranscoder {
            let outShape = try width(c.outputHook, role: "output")
            guard outShape.last! == c.dOut else {
                throw SAEError.incompatible("the transcoder's d_out is \(c.dOut) but its output hook \(c.outputHook) has width \(outShape.last!) in this model")
            }
            guard outShape.count == 1 && inShape.count == 1 || c.hookName == c.outputHook else {
                throw SAEError.unsupported("a transcoder between per-head activations (\(c.hookName) → \(c.outputHook)) is not supported")
            }
        }
    }

    /// Rows of `t` as the SAE reads them: [rows, d_in], and the leading (batch, pos) shape.
    public func rows(of t: Tensor) throws -> (rows: Tensor, lead: [Int]) {
        let tail = config.reshapeHookZ ? 2 : 1
        guard t.rank > tail else { throw SAEError.incompatible("the activation at \(config.hookName) has shape \(t.shape); too few axes for this SAE") }
        let lead = Array(t.shape.prefix(t.rank - tail))
        let width = t.shape.suffix(tail).reduce(1, *)
        guard width == config.dIn || (!config.reshapeHookZ && t.shape.last! == config.dIn) else {
            throw SAEError.incompatible("the activation at \(config.hookName) has shape \(t.shape) but the SAE's d_in is \(config.dIn)")
        }
        let rows = t.count / config.dIn
        return (t.reshaped([rows, config.dIn]), lead)
    }

    /// Feature activations [leading..., d_sae] of an activation read at the SAE's input hook.
    public func features(of activation: Tensor) throws -> Tensor {
        let lead = try rows(of: activation).lead
        return try sparseFeatures(of: activation).dense().reshaped(lead + [config.dSae])
    }

    /// Feature activations [rows, d_sae] of an activation read at the SAE's input hook, kept sparse
    /// (rows are the activation's leading positions flattened).
    public func sparseFeatures(of activation: Tensor) throws -> SparseFeatureActivations {
        encodeSparse(try rows(of: activation).rows).acts
    }
}

extension HookedTransformer {
    /// The activation at `hook` (a name as an SAE gives it) for `tokens`, running the model only
    /// until that hook has fired: no later block, no unembedding, nothing else cached.
    public func activation(at hook: String, tokens: [[Int]], isCancelled: (() -> Bool)? = nil) throws -> Tensor {
        let fired = firedHookName(hook)
        guard hookNames.contains(fired) else { throw TLModelError.invalidInput("'\(hook)' is not a hook name of this model; see `hooks` for the list") }
        final class Capture: @unchecked Sendable { var value: Tensor? }
        struct Reached: Error {}
        let capture = Capture()
        var o = RunOptions()
        o.isCancelled = isCancelled
        o.hooks = [ForwardHook(name: fired) { t, _ in capture.value = t; throw Reached() }]
        // The block that fires it is the last one needed; the hook stops the run inside it.
        if let l = HookNames.layer(of: fired) { o.stopAtLayer = min(l + 1, config.nLayers) }
        do { _ = try run(tokens: tokens, options: o) } catch is Reached {}
        guard let value = capture.value else { throw TLModelError.invalidInput("\(fired) did not fire in this run") }
        return value
    }
}

/// One SAE spliced into runs: build its hooks, run, then copy what it recorded into the cache.
public final class SAESplice: @unchecked Sendable {
    public let sae: SparseAutoencoder
    public let useErrorTerm: Bool
    /// Features set to zero in hook_sae_acts_post before decoding (ablation).
    public let ablate: [Int]
    /// Changes hook_sae_acts_post after ablation and before decoding, as a hook on it would in
    /// HookedSAETransformer (feature patching sets it per run): acts [rows, d_sae], and the
    /// leading (batch, pos) shape of the rows.
    public var editActs: ((inout Tensor, [Int]) throws -> Void)?
    /// Whether runs keep the hook_sae_* values (`recorded`, for a cache). Without them and without
    /// editActs, the splice encodes and decodes sparsely and holds no [rows, d_sae] array.
    public var records = true
    /// The hook_sae_* values of the last run, in firing order, under their full names.
    public private(set) var recorded: [(name: String, tensor: Tensor)] = []
    private var captured: Tensor?

    public init(_ sae: SparseAutoencoder, useErrorTerm: Bool = false, ablate: [Int] = []) {
        self.sae = sae; self.useErrorTerm = useErrorTerm; self.ablate = ablate
    }

    /// The hooks that implement the splice: a capture at the input hook for transcoders, and the
    /// replacement at the output hook.
    public func hooks(for model: HookedTransformer) -> [ForwardHook] {
        let c = sae.config
        var hooks: [ForwardHook] = []
        let outName = model.firedHookName(c.outputHook)
        if c.architecture.isTranscoder && c.hookName != c.outputHook {
            hooks.append(ForwardHook(name: model.firedHookName(c.hookName)) { [self] t, _ in captured = t })
        }
        hooks.append(ForwardHook(name: outName) { [self] t, _ in
            let source = captured ?? t
            captured = nil
            try replace(&t, input: source)
        })
        return hooks
    }

    private func replace(_ t: inout Tensor, input: Tensor) throws {
        let c = sae.config, prefix = c.outputHook + "."
        let (rows, lead) = try sae.rows(of: input)
        if !records && editActs == nil { return try replaceSparsely(&t, rows: rows) }
        let encoding = sae.encode(rows)
        var acts = encoding.post
        if !ablate.isEmpty {
            let n = acts.count / c.dSae
            for r in 0..<n { for f in ablate { acts.data[r * c.dSae + f] = 0 } }
        }
        if let editActs { try editActs(&acts, lead) }
        let changed = !ablate.isEmpty || editActs != nil
        let decoded = sae.decode(acts, encoding: encoding)
        guard decoded.output.count == t.count else {
            throw SAEError.incompatible("the SAE's output has \(decoded.output.count / max(rows.shape[0], 1)) values per position but \(c.outputHook) has \(t.count / max(rows.shape[0], 1))")
        }
        var out = decoded.output.data
        var record: [(String, Tensor)] = [
            (prefix + "hook_sae_input", encoding.input.reshaped(lead + [c.dIn])),
            (prefix + "hook_sae_acts_pre", encoding.pre.reshaped(lead + [c.dSae])),
            (prefix + "hook_sae_acts_post", acts.reshaped(lead + [c.dSae])),
            (prefix + "hook_sae_recons", decoded.recons.reshaped(lead + [c.dOut])),
        ]
        if useErrorTerm {
            // The error is measured against the clean reconstruction (no ablation or edit), as
            // HookedSAETransformer computes it with the SAE's hooks disabled.
            let clean = !changed ? decoded.output : sae.decode(encoding.post, encoding: encoding).output
            var error = t
            for i in 0..<error.count { error.data[i] -= clean.data[i] }
            for i in 0..<out.count { out[i] += error.data[i] }
            record.append((prefix + "hook_sae_error", error))
        }
        t = Tensor(shape: t.shape, data: out)
        record.append((prefix + "hook_sae_output", t))
        recorded = record
    }

    /// replace(_:input:) when nothing is recorded or edited: the activations stay sparse.
    private func replaceSparsely(_ t: inout Tensor, rows: Tensor) throws {
        let encoding = sae.encodeSparse(rows)
        let acts = encoding.acts.removing(features: Set(ablate))
        let decoded = sae.decode(acts, encoding: encoding)
        guard decoded.output.count == t.count else {
            throw SAEError.incompatible("the SAE's output has \(decoded.output.count / max(rows.shape[0], 1)) values per position but \(sae.config.outputHook) has \(t.count / max(rows.shape[0], 1))")
        }
        var out = decoded.output.data
        if useErrorTerm {
            let clean = ablate.isEmpty ? decoded.output : sae.decode(encoding.acts, encoding: encoding).output
            t.data.withUnsafeBufferPointer { orig in
                for i in 0..<out.count { out[i] += orig[i] - clean.data[i] }
            }
        }
        t = Tensor(shape: t.shape, data: out)
        recorded = []
    }

    /// Copies the recorded hook_sae_* values into `cache`, before the hook they replaced.
    public func insertRecorded(into cache: ActivationCache, model: HookedTransformer) {
        let anchor = model.firedHookName(sae.config.outputHook)
        for (name, tensor) in recorded { cache.insert(name, tensor, before: anchor) }
    }
}
