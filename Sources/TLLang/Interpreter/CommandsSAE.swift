// Sparse autoencoders in the language: sae (load), features (activations at the SAE's hook),
// feature (one feature: its logit effects and Neuronpedia link), sae_stats (quality numbers), and
// the saes= / error= / ablate= options of run that splice SAEs into a run.
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
    // MARK: sae

    func cmdSAE(_ a: Arguments) throws -> Value {
        guard let p = a.positional(0) else { throw TLLangError.at(a.range, "sae needs a directory, e.g. s = sae \"./my-sae\"") }
        let source = try p.dottedName ?? stringValue(p)
        let value: SAEValue
        if let idExpr = a.positional(1) {
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
    func splices(_ a: Arguments, model m: LoadedModel) throws -> [SAESplice] {
        guard let e = a.option("saes") else {
            if let x = a.option("error") ?? a.option("ablate") { throw TLLangError.at(x.range, "error= and ablate= go with saes=[...]") }
            return []
        }
        let items: [Value]
        switch try evaluate(e) {
        case .list(let l): items = l
        case .sae(let s): items = [.sae(s)]
        default: throw TLLangError.at(e.range, "saes= takes a list of SAEs, e.g. saes=[s]")
        }
        let useError = try a.bool("error")
        let ablate = try a.option("ablate").map { try indexList($0, limit: nil) } ?? []
        var seen = Set<String>()
        return try items.map { item in
            guard case .sae(let s) = item else { throw TLLangError.at(e.range, "saes= holds SAEs, not a \(item.typeName)") }
            try checkSAE(s, against: m, range: e.range)
            guard seen.insert(s.sae.config.outputHook).inserted else {
                throw TLLangError.at(e.range, "two SAEs write to \(s.sae.config.outputHook); splice one SAE per hook")
            }
            for f in ablate where f < 0 || f >= s.sae.config.dSae {
                throw TLLangError.at(a.option("ablate")!.range, "feature \(f) is out of range for an SAE with d_sae \(s.sae.config.dSae)")
            }
            return SAESplice(s.sae, useErrorTerm: useError, ablate: ablate)
        }
    }

    // MARK: features

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

    func cmdFeatures(_ a: Arguments, assigning: Bool) throws -> Value {
        let s = try saeArgument(a.positional(0), range: a.range)
        let input = try a.positional(1).map { (expr: $0, value: try evaluate($0)) }
        // A prompt (not a cache), without dla=: the model runs only until the SAE's hook fires.
        let c: CacheValue?, sparse: SparseFeatureActivations, strTokens: [String]
        if let input, a.option("dla") == nil, backend.isLocal, let ids = try promptIDs(input.value, range: input.expr.range) {
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
        let labels = strTokens.map(visibleToken)
        let k = try a.int("k")
        if let fe = a.option("feature") {
            let f = try intValue(fe)
            guard f >= 0 && f < F else { throw TLLangError.at(fe.range, "feature \(f) is out of range (d_sae \(F))") }
            let values = sparse.column(f)
            let data = NamedTensor(Tensor(shape: [P], data: values), axes: ["pos"], tokenLabels: strTokens)
            if assigning { return .tensor(data) }
            var d = Display(text: "feature \(f) along the text" + (s.neuronpediaLink(f).map { " — \($0)" } ?? ""))
            d.tables.append(Table(title: "feature \(f)", columns: ["pos", "token", "activation"],
                                  rows: (0..<P).map { [.int($0), .token(strTokens[$0]), .float(Double(values[$0]))] }))
            d.pictures.append(AnyPicture(BarChart(labels: labels, values: values, title: "feature \(f)", xLabel: "position", yLabel: "activation"), title: "feature \(f)"))
            return .result(d, data: data)
        }
        if let target = a.option("dla"), let c {
            return try featureDLA(s, c, acts: sparse.dense(), target: target, a: a, k: k, assigning: assigning)
        }
        // Assigned, the value is the dense tensor (what `save f "f.npy"` writes); shown, the
        // table and heatmap read the sparse rows, and the dense array is made only as the
        // result's data when a consumer asks for it.
        let data = { NamedTensor(sparse.dense(), axes: ["pos", "feature"], tokenLabels: strTokens) }
        if assigning { return .tensor(data()) }
        /// Position p's top k positive features, largest first (ties: lower feature first).
        func top(_ p: Int) -> [(index: Int, value: Float)] {
            let (idx, vals) = sparse.row(p)
            var fired: [(index: Int, value: Float)] = []
            for (f, v) in zip(idx, vals) where v > 0 { fired.append((index: Int(f), value: v)) }
            fired.sort { (x: (index: Int, value: Float), y: (index: Int, value: Float)) -> Bool in
                x.value != y.value ? x.value > y.value : x.index < y.index
            }
            return Array(fired.prefix(k))
        }
        func active(_ p: Int) -> Int { sparse.row(p).values.filter { $0 > 0 }.count }
        if let pe = a.option("pos") {
            let p0 = try intValue(pe), p = p0 < 0 ? p0 + P : p0
            guard p >= 0 && p < P else { throw TLLangError.at(pe.range, "position \(p0) is out of range for \(P) tokens") }
            let rows = top(p).enumerated().map { i, t -> [Table.Cell] in
                [.int(i + 1), .int(t.index), .float(Double(t.value)), .text(s.neuronpediaLink(t.index) ?? "")]
            }
            return .result(Display(text: "\(active(p)) of \(F) features fire at position \(p) (\(labels[p]))",
                                   tables: [Table(title: "top features at \(labels[p])", columns: ["rank", "feature", "activation", "Neuronpedia"], rows: rows)]), data: data())
        }
        // Every position: its top features, and a heatmap of the features that are ever in a top k.
        var chosen: [Int] = []
        var rows: [[Table.Cell]] = []
        for p in 0..<P {
            let top = top(p)
            for t in top where !chosen.contains(t.index) { chosen.append(t.index) }
            rows.append([.int(p), .token(strTokens[p]), .int(active(p)), .text(top.map { "\($0.index) (\(String(format: "%.2f", $0.value)))" }.joined(separator: ", "))])
        }
        chosen = Array(chosen.prefix(40)).sorted()
        var values: [Float] = []
        let columns = chosen.map(sparse.column)
        for p in 0..<P { for j in chosen.indices { values.append(columns[j][p]) } }
        var d = Display(tables: [Table(title: "features at \(s.sae.config.hookName)", columns: ["pos", "token", "L0", "top features (activation)"], rows: rows)])
        if !chosen.isEmpty {
            d.pictures.append(AnyPicture(Figure(Heatmap(values: values, rows: P, cols: chosen.count, rowLabels: labels, colLabels: chosen.map(String.init),
                                                        title: "feature activations", xLabel: "feature", yLabel: "position", scale: .sequential())), title: "features"))
        }
        return .result(d, data: data())
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

    /// `features s c dla=...`: the features ranked by their direct logit attribution at pos=.
    func featureDLA(_ s: SAEValue, _ c: CacheValue, acts: Tensor, target: Expr, a: Arguments, k: Int, assigning: Bool) throws -> Value {
        let m = try requireModel()
        guard Self.writesResidualWidth(s, m) else {
            throw TLLangError.at(target.range, "dla= needs an SAE that writes to a d_model-wide activation inside the blocks")
        }
        let t = try tokenTarget(target, model: m)
        let P = acts.shape[0], F = acts.shape[1]
        let p0 = try a.int("pos", default: -1), p = p0 < 0 ? p0 + P : p0
        guard p >= 0 && p < P else { throw TLLangError.at(a.range, "position \(p0) is out of range for \(P) tokens") }
        let contributions = try featureLogitAttributions(s, acts: acts, cache: c, position: p, target: t, range: target.range).data
        let data = NamedTensor(Tensor(shape: [F], data: contributions), axes: ["feature"])
        if assigning { return .tensor(data) }
        let order = contributions.indices.filter { contributions[$0] != 0 }.sorted { abs(contributions[$0]) > abs(contributions[$1]) }.prefix(k)
        let rows = order.enumerated().map { i, f -> [Table.Cell] in
            [.int(i + 1), .int(f), .float(Double(acts.data[p * F + f])), .float(Double(contributions[f])), .text(s.neuronpediaLink(f) ?? "")]
        }
        let label = visibleToken(c.strTokens[p])
        let total = contributions.reduce(0, +)
        return .result(Display(text: String(format: "direct logit attribution of features to %@ at position %d (%@): %.4f in all",
                                            t.label, p, label, total),
                               tables: [Table(title: "top features by |attribution|", columns: [.init(name: "rank"), .init(name: "feature"), .init(name: "activation", decimals: 3),
                                                                                                  .init(name: "attribution", decimals: 4), .init(name: "Neuronpedia")], rows: rows)]),
                       data: data)
    }

    // MARK: feature

    /// One feature: decoder norm, density, Neuronpedia link, and the tokens its decoder direction
    /// promotes and suppresses through the unembedding (W_dec[f] @ W_U).
    func cmdFeature(_ a: Arguments) throws -> Value {
        let s = try saeArgument(a.positional(0), range: a.range)
        guard let fe = a.positional(1) else { throw TLLangError.at(a.range, "name a feature, e.g. feature s 123") }
        let f = try intValue(fe), cfg = s.sae.config
        guard f >= 0 && f < cfg.dSae else { throw TLLangError.at(fe.range, "feature \(f) is out of range (d_sae \(cfg.dSae))") }
        let m = try requireModel()
        let k = try a.int("k")
        var lines = ["feature \(f) of \(s.summary)", String(format: "decoder norm %.4g", s.sae.decoderNorms[f])]
        if let ls = s.sae.logSparsity { lines.append(String(format: "fires on %.3g%% of tokens (log10 density %.3f)", 100 * pow(10, Double(ls[f])), ls[f])) }
        if let link = s.neuronpediaLink(f) { lines.append("Neuronpedia: \(link)") }
        var d = Display(text: lines.joined(separator: "\n"))
        guard cfg.dOut == m.model.config.dModel, !cfg.reshapeHookZ else {
            d.text += "\n(its decoder does not write to the residual stream width, so it has no direct logit effect)"
            return .result(d, data: nil)
        }
        // Direct effect on the logits, as Neuronpedia's "top logits": W_dec[f] @ W_U.
        let dir = Tensor(shape: [1, cfg.dOut], data: s.sae.decoderDirection(f))
        let wU = Tensor(shape: [m.model.config.dModel, m.model.config.dVocab], data: m.model.weights.wU)
        let effect = try dir.matmul(wU).reshaped([-1])
        let up = effect.topK(k)
        let down = Tensor(shape: effect.shape, data: effect.data.map { -$0 }).topK(k)
        let rows = (0..<min(k, up.count)).map { i -> [Table.Cell] in
            [.int(i + 1), .token(m.strTokens([up[i].index])[0]), .float(Double(up[i].value)),
             .token(m.strTokens([down[i].index])[0]), .float(Double(-down[i].value))]
        }
        d.tables.append(Table(title: "logit effect of feature \(f)'s decoder direction (W_dec[\(f)] @ W_U)",
                              columns: ["rank", "promotes", "logit", "suppresses", "logit"], rows: rows))
        return .result(d, data: NamedTensor(effect, axes: ["vocab"]))
    }

    // MARK: sae_stats

    /// L0, MSE, explained variance, and the loss with the SAE spliced in (with and without the
    /// error term) against the clean and the zero-ablated loss.
    func cmdSAEStats(_ a: Arguments) throws -> Value {
        let s = try saeArgument(a.positional(0), range: a.range)
        let m = try requireModel()
        try checkSAE(s, against: m, range: a.range)
        let clean = try cacheArgument(a.positional(1), range: a.range)
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
        let recovered = zero != base ? (zero - spliced) / (zero - base) : .nan
        let rows: [[Table.Cell]] = [
            [.text("L0 (mean active features per token)"), .float(l0)],
            [.text("MSE"), .float(mse)],
            [.text("explained variance"), .float(explained)],
            [.text("loss, clean"), .float(base)],
            [.text("loss, SAE spliced"), .float(spliced)],
            [.text("loss, SAE spliced with error term"), .float(withError)],
            [.text("loss, \(cfg.outputHook) zero-ablated"), .float(zero)],
            [.text("loss change when spliced"), .float(spliced - base)],
            [.text("fraction of loss recovered"), .float(recovered)],
        ]
        let data = Tensor(shape: [9], data: rows.map { if case .float(let v) = $0[1] { return Float(v) }; return 0 })
        return .result(Display(text: s.summary + "\non \(n) tokens",
                               tables: [Table(title: "SAE quality", columns: ["measure", "value"], rows: rows)]),
                       data: NamedTensor(data, axes: ["measure"]))
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
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
