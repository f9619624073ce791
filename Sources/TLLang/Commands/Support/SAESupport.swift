// Sparse autoencoders in the language: the SAE value, loading, checking against the model, the
// saes= / error= / ablate= splices, and feature activations and attributions the SAE commands share.
import Foundation
import TLHub
import TLModel
import TLRender
import TLTensor

/// A loaded SAE or transcoder and where it came from.
public final class SAEValue: @unchecked Sendable {
    public let sae: SparseAutoencoder
    public let name: String
    /// The Neuronpedia id: the release table's, else cfg.json's.
    public let neuronpediaID: String?
    /// Whether the "model name cannot be checked" note was shown (once per SAE).
    var notedUncheckedModel = false
    init(sae: SparseAutoencoder, name: String, neuronpediaID: String? = nil) {
        self.sae = sae; self.name = name; self.neuronpediaID = neuronpediaID ?? sae.config.neuronpediaID
    }

    var summary: String {
        let c = sae.config
        let kind = c.architecture.isTranscoder ? "\(c.architecture.rawValue) \(c.hookName) → \(c.outputHook)" : "\(c.architecture.rawValue) SAE at \(c.hookName)"
        var parts = ["\(kind): d_in \(c.dIn), d_sae \(c.dSae)"]
        if c.architecture.isTranscoder { parts.append("d_out \(c.dOut)") }
        if let k = c.k, c.architecture == .topk { parts.append("k \(k)") }
        if c.normalization != .none { parts.append("normalize \(c.normalization.rawValue)") }
        if c.reshapeHookZ { parts.append("hook_z across heads") }
        if let m = c.modelName { parts.append("trained on \(m)") }
        return parts.joined(separator: ", ")
    }

    /// Neuronpedia's dashboard for `feature`, when the SAE names its Neuronpedia id.
    func neuronpediaLink(_ feature: Int) -> String? {
        neuronpediaID.map { "https://www.neuronpedia.org/\($0)/\(feature)" }
    }
}

extension Session {
    // MARK: Loading

    func loadSAE(_ url: URL, range: SourceRange, origin: SAEOrigin? = nil, normScalingFactor: Double? = nil) throws -> SparseAutoencoder {
        do { return try SparseAutoencoder.load(directory: url, origin: origin, normScalingFactor: normScalingFactor) } catch let e as SAEError {
            throw TLLangError.at(range, e.description)
        } catch let e as NumpyError {
            throw TLLangError.at(range, e.description)
        } catch let e as TLModelError {
            throw TLLangError.at(range, e.description)
        }
    }

    /// `sae RELEASE ID`: SAELens's release table names the repo and folder; the files come through
    /// the hub cache like a model's (HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN apply).
    func releaseSAE(release: String, id: String, range: SourceRange) throws -> SAEValue {
        let table: [String: SAERelease]
        do { table = try SAEReleases.load(from: SAEReleases.tableURL(override: hub.environment.saeReleaseTable)) } catch { throw TLLangError.at(range, "\(error)") }
        guard let r = table[release] else {
            let hint = Suggest.nearest(to: release, in: Array(table.keys)).map { "did you mean '\($0)'?" }
            throw TLLangError.at(range, "'\(release)' is not a release in tlsh's SAE table (SAELens's releases for GPT-2, Gemma Scope and Llama Scope)",
                                 hint: hint ?? "or download the SAE's folder and load it with sae \"DIR\"")
        }
        guard let entry = r.saes[id] else {
            let ids = r.saes.keys.sorted()
            let hint = Suggest.nearest(to: id, in: ids).map { "did you mean '\($0)'?" } ?? "its SAEs: " + ids.prefix(6).joined(separator: ", ") + (ids.count > 6 ? ", …" : "")
            throw TLLangError.at(range, "release \(release) has no SAE '\(id)'", hint: hint)
        }
        let folder = entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
        let files = SAEReleases.files(format: r.format)
        let snapshot: URL
        do {
            snapshot = try hub.snapshot(repo: r.repo, required: files.required.map { "\(folder)/\($0)" },
                                        optional: files.optional.map { "\(folder)/\($0)" })
        } catch TLHubError.cancelled { throw TLHubError.cancelled } catch { throw TLLangError.at(range, "\(error)") }
        // SAELens derives a converted release's hook from its repo and folder; a release's
        // dataset-level input scale is folded in, as SAE.from_pretrained does.
        let sae = try loadSAE(snapshot.appendingPathComponent(folder), range: range, origin: SAEOrigin(repo: r.repo, folder: folder),
                              normScalingFactor: entry.normScalingFactor)
        return SAEValue(sae: sae, name: "\(release)/\(id)", neuronpediaID: entry.neuronpedia)
    }

    /// Hooks and widths always; the model name where the loaded model has a hub name to compare.
    func checkSAE(_ s: SAEValue, against m: LoadedModel, range: SourceRange) throws {
        do { try s.sae.checkCompatible(with: m.model) } catch let e as SAEError {
            throw TLLangError.at(range, e.description)
        }
        guard let trained = s.sae.config.modelName, !trained.isEmpty else { return }
        // The SAE shipped for the embedded model names it "tlsh-default".
        if m.name.hasPrefix("default") && trained == "tlsh-default" { return }
        if let loadedRepo = m.hubRepo, case .hub(let repo, _)? = try? ModelSource.parse(trained) {
            guard repo.lowercased() == loadedRepo.lowercased() else {
                throw TLLangError.at(range, "this SAE was trained on \(trained) (\(repo)) but the current model is \(loadedRepo)",
                                     hint: "load the matching model first: model \(trained)")
            }
            return
        }
        if !s.notedUncheckedModel {
            s.notedUncheckedModel = true
            note("note: the SAE says it was trained on \(trained); the current model (\(m.name)) has no hub name to compare, so only its hooks and widths were checked")
        }
    }

    func saeArgument(_ e: Expr?, range: SourceRange) throws -> SAEValue {
        guard let e else { throw TLLangError.at(range, "name an SAE first, e.g. s = sae \"./my-sae\"") }
        guard case .sae(let s) = try evaluate(e) else { throw TLLangError.at(e.range, "expected an SAE here (s = sae \"DIR\")") }
        return s
    }

    /// The splices asked for by run's saes= (with error= and ablate=), checked against the model.
    func splices(_ a: Invocation, model m: LoadedModel) throws -> [SAESplice] {
        guard let e = a.expression(of: Splice.saes) else {
            if let x = a.expression(of: Splice.error) ?? a.expression(of: Splice.ablate) { throw TLLangError.at(x.range, "error= and ablate= go with saes=[...]") }
            return []
        }
        let items: [Value]
        switch try evaluate(e) {
        case .list(let l): items = l
        case .sae(let s): items = [.sae(s)]
        default: throw TLLangError.at(e.range, "saes= takes a list of SAEs, e.g. saes=[s]")
        }
        let useError = try a[Splice.error]
        let ablate = try a.expression(of: Splice.ablate).map { try indexList($0, limit: nil) } ?? []
        var seen = Set<String>()
        return try items.map { item in
            guard case .sae(let s) = item else { throw TLLangError.at(e.range, "saes= holds SAEs, not a \(item.typeName)") }
            try checkSAE(s, against: m, range: e.range)
            guard seen.insert(s.sae.config.outputHook).inserted else {
                throw TLLangError.at(e.range, "two SAEs write to \(s.sae.config.outputHook); splice one SAE per hook")
            }
            for f in ablate where f < 0 || f >= s.sae.config.dSae {
                throw TLLangError.at(a.expression(of: Splice.ablate)!.range, "feature \(f) is out of range for an SAE with d_sae \(s.sae.config.dSae)")
            }
            return SAESplice(s.sae, useErrorTerm: useError, ablate: ablate)
        }
    }

    // MARK: Features

    /// Feature activations [pos, d_sae] of a cache (spliced caches give what the SAE saw).
    func featureActivations(_ s: SAEValue, _ c: CacheValue, range: SourceRange) throws -> Tensor {
        let cfg = s.sae.config
        if let spliced = c.cache[cfg.outputHook + ".hook_sae_acts_post"], spliced.shape.last == cfg.dSae {
            return spliced.reshaped([-1, cfg.dSae])
        }
        try checkSAE(s, against: try requireModel(), range: range)
        let hook = c.cache.model.firedHookName(cfg.hookName)
        guard let x = c.cache[hook] else { throw TLLangError.at(range, "the cache has no \(hook)") }
        do { return try s.sae.features(of: x).reshaped([-1, cfg.dSae]) } catch let e as SAEError {
            throw TLLangError.at(range, e.description)
        }
    }

    /// Feature activations of a cache, kept sparse (what `features` shows reads a few per position).
    func sparseFeatureActivations(_ s: SAEValue, _ c: CacheValue, range: SourceRange) throws -> SparseFeatureActivations {
        let cfg = s.sae.config
        if let spliced = c.cache[cfg.outputHook + ".hook_sae_acts_post"], spliced.shape.last == cfg.dSae {
            return SparseFeatureActivations(dense: spliced.reshaped([-1, cfg.dSae]))
        }
        try checkSAE(s, against: try requireModel(), range: range)
        let hook = c.cache.model.firedHookName(cfg.hookName)
        guard let x = c.cache[hook] else { throw TLLangError.at(range, "the cache has no \(hook)") }
        do { return try s.sae.sparseFeatures(of: x) } catch let e as SAEError {
            throw TLLangError.at(range, e.description)
        }
    }

    /// The token ids of a prompt value (a string or a list of ids); nil for anything else.
    func promptIDs(_ value: Value, range: SourceRange) throws -> [Int]? {
        switch value {
        case .string(let text): return try requireModel().tokens(text, bos: nil)
        case .list(let items): return try tokenIDs(items, range: range)
        default: return nil
        }
    }

    /// Whether an SAE's features have a direct logit attribution: it writes a d_model-wide
    /// activation inside the blocks.
    static func writesResidualWidth(_ s: SAEValue, _ m: LoadedModel) -> Bool {
        let cfg = s.sae.config
        return cfg.dOut == m.model.config.dModel && !cfg.reshapeHookZ && HookNames.layer(of: cfg.outputHook) != nil
    }

    /// Each feature's direct logit attribution at `position`, [d_sae]: TransformerLens's
    /// logit_attrs on the stack of its contributions activation × W_dec[f] (centred for LayerNorm
    /// models, divided by the final norm's cached scale, dotted with W_U[:, a] − W_U[:, b]).
    func featureLogitAttributions(_ s: SAEValue, acts: Tensor, cache c: CacheValue, position: Int,
                                  target t: (answer: Int, wrong: Int?, label: String), range: SourceRange) throws -> Tensor {
        let m = try requireModel()
        guard m.model.isLNFolded else {
            throw TLLangError.at(range, "feature attribution reads the final norm's scale of a processed model; load the model without process=false")
        }
        let P = acts.shape[0], F = acts.shape[1], d = m.model.config.dModel
        let p = position < 0 ? position + P : position
        guard p >= 0 && p < P else { throw TLLangError.at(range, "position \(position) is out of range for \(P) tokens") }
        let active = (0..<F).filter { acts.data[p * F + $0] != 0 }
        var out = [Float](repeating: 0, count: F)
        guard !active.isEmpty else { return Tensor(shape: [F], data: out) }
        var stack = [Float](repeating: 0, count: active.count * d)
        for (i, f) in active.enumerated() {
            let act = acts.data[p * F + f], dir = s.sae.decoderDirection(f)
            for j in 0..<d { stack[i * d + j] = act * dir[j] }
        }
        let attrs: Tensor
        do {
            attrs = try c.cache.logitAttrs(Tensor(shape: [active.count, d], data: stack), token: t.answer, incorrectToken: t.wrong,
                                           posSlice: .index(p))
        } catch let e as TLModelError { throw TLLangError.at(range, e.description) }
        for (i, f) in active.enumerated() { out[f] = attrs.data[i] }
        return Tensor(shape: [F], data: out)
    }

    // MARK: Errors

    func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SAEError { throw TLLangError.runtime(e.description) }
    }

    // MARK: Members: s.dec[123], s.enc, s.b_dec, ...

    func saeMember(_ s: SAEValue, _ name: String, range: SourceRange) throws -> Value {
        let c = s.sae.config
        switch name {
        case "dec", "W_dec": return .tensor(NamedTensor(Tensor(shape: [c.dSae, c.dOut], data: s.sae.wDec), axes: ["feature", "d_model"]))
        case "enc", "W_enc": return .tensor(NamedTensor(Tensor(shape: [c.dIn, c.dSae], data: s.sae.wEnc), axes: ["d_model", "feature"]))
        case "b_dec": return .tensor(NamedTensor(Tensor(shape: [c.dOut], data: s.sae.bDec), axes: ["d_model"]))
        case "b_enc": return .tensor(NamedTensor(Tensor(shape: [c.dSae], data: s.sae.bEnc), axes: ["feature"]))
        case "threshold":
            guard let t = s.sae.threshold else { throw TLLangError.at(range, "a \(c.architecture.rawValue) SAE has no threshold") }
            return .tensor(NamedTensor(Tensor(shape: [c.dSae], data: t), axes: ["feature"]))
        case "d_in": return .number(Double(c.dIn))
        case "d_sae": return .number(Double(c.dSae))
        case "hook": return .string(c.hookName)
        case "hook_out": return .string(c.outputHook)
        case "layer": return HookNames.layer(of: c.outputHook).map { .number(Double($0)) } ?? .none
        default:
            throw TLLangError.at(range, "an SAE has no member '\(name)'", hint: "members: dec, enc, b_dec, b_enc, threshold, d_in, d_sae, hook, hook_out, layer")
        }
    }
}

extension LoadedModel {
    /// The hub repo id when the model came from the hub (its name is then "org/name[@rev]").
    var hubRepo: String? {
        guard !name.hasPrefix("/"), !name.hasPrefix("default"), name.contains("/") || !name.contains(" ") else { return nil }
        return String(name.split(separator: "@").first ?? Substring(name))
    }
}
