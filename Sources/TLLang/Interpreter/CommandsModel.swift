// Commands about the model and single runs: model, info, tokens, hooks, run, top, loss, test,
// norms, vars, set.
import Foundation
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor
import TLTokenizer

extension Session {
    func cmdModel(_ a: Arguments) throws -> Value {
        let name = a.positional(0).map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
        let process = try a.bool("process")
        let dtype = try a.choice("dtype", as: WeightDType.self)
        let loaded: LoadedModel
        do { loaded = try LoadedModel.load(name: name, process: process, dtype: dtype, hub: hub) } catch let e as TLLangError { throw e } catch TLHubError.cancelled {
            throw TLHubError.cancelled  // reported as an interrupt; a later `model` resumes the download
        } catch {
            throw TLLangError.at(a.range, "\(error)")
        }
        current = loaded
        lastCache = nil
        let precision = MatmulPrecision.current
        if !loaded.model.reducedPrecisionPermitted(precision) {
            note("note: the bf16 copy of this model's weights for matmul=\(precision.rawValue) "
                 + "(\(bf16CopySize(loaded.model, precision))) would take more than half "
                 + "of the memory available, so its products stay Float32")
        }
        ProcessMemory.releaseFreedMemory()  // the previous model's weights, if nothing else holds them
        return .result(Display(text: "loaded \(loaded.name): " + summary(loaded)), data: nil)
    }

    /// "247 MB": the bf16 weight copies `precision` needs for `model`.
    func bf16CopySize(_ model: HookedTransformer, _ precision: MatmulPrecision) -> String {
        MemoryBudget.describe(bytes: Double(model.reducedPrecisionBytes(precision)))
    }

    func summary(_ m: LoadedModel) -> String {
        let c = m.model.config
        return "\(c.nLayers) layers, \(c.nHeads) heads, d_model \(c.dModel), d_vocab \(c.dVocab), n_ctx \(c.nCtx)"
    }

    func cmdInfo() throws -> Value {
        let m = try requireModel()
        let c = m.model.config
        let p = m.model.processing
        // The steps actually applied (TransformerLens skips some per family, e.g. centring for RMSNorm).
        let steps = [("fold_ln", p.foldLN), ("center_writing_weights", p.centerWritingWeights),
                     ("center_unembed", p.centerUnembed), ("fold_value_biases", p.foldValueBiases)].filter(\.1).map(\.0)
        let processing = steps.isEmpty ? "none (raw weights)" : steps.joined(separator: ", ")
        let rows: [[Table.Cell]] = [
            [.text("model"), .text(m.name)], [.text("architecture"), .text(c.originalArchitecture)], [.text("n_layers"), .text("\(c.nLayers)")], [.text("n_heads"), .text("\(c.nHeads)")],
            [.text("d_model"), .text("\(c.dModel)")], [.text("d_head"), .text("\(c.dHead)")], [.text("d_mlp"), .text("\(c.dMLP)")],
            [.text("d_vocab"), .text("\(c.dVocab)")], [.text("n_ctx"), .text("\(c.nCtx)")], [.text("act_fn"), .text(c.actFn)],
            [.text("parameters"), .text("\(m.model.totalParameters) (\(c.nParams) in attention and MLP weights, TransformerLens n_params)")], [.text("processing"), .text(processing)],
            [.text("dtype"), .text(m.model.dtype == .f32 ? "f32" : "\(m.model.dtype.rawValue) block matrices (embeddings, W_U, norms and biases f32)")],
            [.text("weight bytes"), .text(MemoryBudget.describe(bytes: Double(m.model.weightBytes))
                + (m.model.panelBytes > 0 ? " (+ \(MemoryBudget.describe(bytes: Double(m.model.panelBytes))) of Float32 panels for speed)" : ""))],
            [.text("tokenizer"), .text(m.tokenizer.map { "BPE, \($0.vocabSize) tokens" } ?? "none (pass token ids: run [1, 2, 3])")],
        ]
        return .result(Display(tables: [Table(title: "model", columns: ["property", "value"], rows: rows)]), data: nil)
    }

    func cmdTokens(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let ids = try m.tokens(try a.string(0) ?? "", bos: try a.optionalBool("bos"))
        let strs = m.strTokens(ids)
        let rows = ids.indices.map { [Table.Cell.int($0), .int(ids[$0]), .token(strs[$0])] }
        return .result(Display(tables: [Table(title: "\(ids.count) tokens", columns: ["pos", "id", "token"], rows: rows)]),
                       data: NamedTensor(Tensor(shape: [ids.count], data: ids.map(Float.init)), axes: ["pos"], tokenLabels: strs))
    }

    func cmdHooks(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let filter = a.positional(0).map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
        let layers = try a.option("layer").map { try indexList($0, limit: m.model.config.nLayers) }
        let c = m.model.config
        var rows: [[Table.Cell]] = []
        for name in m.model.hookNames {
            if let filter, !filter.isEmpty, !name.contains(filter) { continue }
            let layer = HookNames.layer(of: name)
            if let layers, let layer, !layers.contains(layer) { continue }
            if layers != nil && layer == nil { continue }
            // Sizes from the hook registry (key/value hooks have kv_heads heads under grouped-query attention).
            let axes = HookRegistry.spec(for: name)?.axes.filter { $0 != .batch } ?? [.pos, .dModel]
            let shape = "[" + axes.map { [.pos, .queryPos, .keyPos].contains($0) ? "pos" : String($0.size(c, batch: 1, positions: 1)) }
                .joined(separator: ", ") + "]"
            let short = name.split(separator: ".").last.map { String($0.dropFirst(5)) } ?? name
            rows.append([.text(name), .text(short), .text(shape)])
        }
        return .result(Display(tables: [Table(title: "\(rows.count) hook points", columns: ["hook", "short", "shape (no batch)"], rows: rows)]), data: nil)
    }

    /// A token-id list as written (`[464, 3139, 286]`), checked to hold whole numbers.
    func tokenIDs(_ items: [Value], range: SourceRange) throws -> [Int] {
        try items.map { item -> Int in
            guard case .number(let n) = item, n == n.rounded() else { throw TLLangError.at(range, "a token list holds whole numbers") }
            return try integer(n, at: range, what: "a token id")
        }
    }

    /// Runs a prompt (string) or token ids (list, used verbatim) with a full cache.
    /// `bos` nil: the model family's default_prepend_bos.
    /// `names`: cache only hook points whose names contain one of these texts (nil: every one).
    /// `storage`: how the cache keeps its activations (`run ... store=`).
    func runPrompt(_ value: Value, bos: Bool?, range: SourceRange, saes: [SAESplice] = [], names: [String]? = nil,
                   storage: CacheStorage = .f32) throws -> CacheValue {
        let m = try requireModel()
        let ids: [Int], prompt: String?
        switch value {
        case .string(let s): ids = try m.tokens(s, bos: bos); prompt = s
        case .list(let items):
            ids = try tokenIDs(items, range: range)
            prompt = nil
        case .cache(let c):
            if saes.isEmpty { return c }
            ids = c.tokens; prompt = c.prompt  // a spliced rerun of the cache's tokens
        default: throw TLLangError.at(range, "run takes a prompt string or a list of token ids, not a \(value.typeName)")
        }
        if !backend.isLocal {
            guard storage == .f32 else { throw TLLangError.at(range, "store= runs on the Swift engine only for now", hint: "`backend local` first") }
            guard saes.isEmpty else {
                throw TLLangError.at(range, "saes= runs on the Swift engine only for now", hint: "`backend local` first")
            }
            return try runPromptPlan(m, ids: ids, prompt: prompt, names: names, range: range)
        }
        var o = RunOptions()
        o.cacheFilter = names.map { filter in { name in filter.contains { name.contains($0) } } } ?? { _ in true }
        o.isCancelled = monitorCancel
        o.cacheStorage = storage
        o.hooks = saes.flatMap { $0.hooks(for: m.model) }
        let out: RunOutput
        do { out = try m.model.run(tokens: [ids], options: o) } catch TLModelError.invalidInput(let msg) {
            throw TLLangError.at(range, msg)
        } catch let e as SAEError { throw TLLangError.at(range, e.description) }
        for s in saes { s.insertRecorded(into: out.cache, model: m.model) }
        return CacheValue(cache: out.cache, logits: out.logits!, tokens: ids, strTokens: m.strTokens(ids), prompt: prompt)
    }

    func cmdRun(_ a: Arguments) throws -> Value {
        guard let p = a.positional(0) else { throw TLLangError.at(a.range, "run needs a prompt, e.g. cache = run \"The capital of France is\"") }
        let saes = try splices(a, model: try requireModel())
        let c = try runPrompt(try evaluate(p), bos: try a.optionalBool("bos"), range: p.range, saes: saes, names: try namesFilter(a),
                              storage: try a.choice("store", as: CacheStorage.self))
        lastCache = c
        return .cache(c)
    }

    /// The cache an analysis reads: an explicit argument (cache or prompt), else the last cache.
    /// With `splicing` (a command declaring saes=, error=, ablate=), a prompt runs with those SAEs
    /// spliced in, and a cache's tokens are rerun with them.
    /// `names` narrows what a prompt's run caches (top needs only the logits).
    func cacheArgument(_ e: Expr?, range: SourceRange, splicing a: Arguments? = nil, names: [String]? = nil) throws -> CacheValue {
        let saes = try a.map { try splices($0, model: try requireModel()) } ?? []
        if let e { return try runPrompt(try evaluate(e), bos: nil, range: e.range, saes: saes, names: names) }
        guard let c = lastCache else {
            throw TLLangError.at(range, "there is no cache yet", hint: "run a prompt first: cache = run \"The capital of France is\"")
        }
        return saes.isEmpty ? c : try runPrompt(.cache(c), bos: nil, range: range, saes: saes)
    }

    /// `firstRank`: 1 for `top`; 0 for `test`, whose answer ranks count from 0 as TransformerLens's
    /// test_prompt does, so its two tables agree.
    func topTable(_ c: CacheValue, position: Int, k: Int, title: String, firstRank: Int = 1) throws -> Table {
        let m = try requireModel()
        let logits = try c.logits.select(axis: 0, index: 0)  // [pos, vocab]
        let P = logits.shape[0], V = logits.shape[1]
        let p = position < 0 ? position + P : position
        guard p >= 0 && p < P else { throw TLLangError.runtime("position \(position) is out of range for \(P) tokens") }
        let row = Tensor(shape: [V], data: Array(logits.data[(p * V)..<((p + 1) * V)]))
        let probs = row.softmax()
        let top = row.topK(k)
        let rows = top.enumerated().map { i, t in
            [Table.Cell.int(i + firstRank), .token(m.strTokens([t.index])[0]), .int(t.index), .float(Double(probs.data[t.index])), .float(Double(t.value))]
        }
        return Table(title: title, columns: [.init(name: "rank"), .init(name: "token"), .init(name: "id"), .init(name: "prob", decimals: 4), .init(name: "logit", decimals: 3)], rows: rows)
    }

    func cmdTop(_ a: Arguments) throws -> Value {
        // On nnsight a prompt's run sends back only its logits.
        let c = try cacheArgument(a.positional(0), range: a.range, splicing: a, names: backend.isLocal ? nil : [])
        let pos = try a.int("pos"), k = try a.int("k")
        try checkCancelled()
        let label = c.strTokens.isEmpty ? "" : " after \(visibleToken(c.strTokens[pos < 0 ? max(0, pos + c.strTokens.count) : min(pos, c.strTokens.count - 1)]))"
        return .result(Display(tables: [try topTable(c, position: pos, k: k, title: "top \(k) next tokens\(label)")]), data: nil)
    }

    func cmdLoss(_ a: Arguments) throws -> Value {
        let c = try cacheArgument(a.positional(0), range: a.range)
        guard c.tokens.count >= 2 else {
            throw TLLangError.at(a.positional(0)?.range ?? a.range, "loss needs at least two tokens (each token is predicted from the ones before it); this text has \(c.tokens.count)",
                                 hint: "give a longer text, e.g. loss \"Hello world!\"")
        }
        let loss = crossEntropyLoss(logits: c.logits, tokens: [c.tokens])
        var d = Display(text: String(format: "loss %.4f (perplexity %.2f) over %d predicted tokens", loss.mean, exp(Double(loss.mean)), c.tokens.count - 1))
        if try a.bool("per_token") {
            let rows = (0..<(c.tokens.count - 1)).map { i in
                [Table.Cell.int(i + 1), .token(c.strTokens[i + 1]), .float(Double(loss.perToken.data[i]))]
            }
            d.tables.append(Table(title: "loss per token", columns: ["pos", "token", "loss"], rows: rows))
        }
        return .result(d, data: NamedTensor(loss.perToken.reshaped([-1]), axes: ["pos"]))
    }

    /// TransformerLens's utils.test_prompt: rank, logit and probability of each answer token.
    func cmdTest(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let tok = try m.requireTokenizer()
        let prompt = try a.string(0) ?? ""
        var answer = try a.string(1) ?? ""
        if !answer.hasPrefix(" ") { answer = " " + answer }  // prepend_space_to_answer
        let k = try a.int("k")
        let promptIDs = try m.tokens(prompt)
        let answerIDs = tok.encode(answer)
        let c = try runPrompt(.list((promptIDs + answerIDs).map { .number(Double($0)) }), bos: false, range: a.range)
        var d = Display(text: "Tokenized prompt: \(m.strTokens(promptIDs).map { "'\($0)'" }.joined(separator: ", "))\nTokenized answer: \(m.strTokens(answerIDs).map { "'\($0)'" }.joined(separator: ", "))")
        var rankRows: [[Table.Cell]] = []
        for (i, t) in answerIDs.enumerated() {
            let p = promptIDs.count - 1 + i
            let logits = try c.logits.select(axis: 0, index: 0)
            let V = logits.shape[1]
            let row = Tensor(shape: [V], data: Array(logits.data[(p * V)..<((p + 1) * V)]))
            let probs = row.softmax()
            let rank = row.data.filter { $0 > row.data[t] }.count
            rankRows.append([.token(m.strTokens([t])[0]), .int(rank), .float(Double(row.data[t])), .float(Double(probs.data[t]))])
            d.tables.append(try topTable(c, position: p, k: k, title: "top \(k) at position \(p) (before \(visibleToken(m.strTokens([t])[0])))", firstRank: 0))
        }
        d.tables.insert(Table(title: "answer tokens", columns: [.init(name: "token"), .init(name: "rank"), .init(name: "logit", decimals: 3), .init(name: "prob", decimals: 4)], rows: rankRows), at: 0)
        return .result(d, data: nil)
    }

    func cmdNorms(_ a: Arguments) throws -> Value {
        guard let e = a.positional(0), case .cache(let c) = try evaluate(e) else {
            throw TLLangError.at(a.range, "norms needs a cache first, e.g. norms cache resid_post")
        }
        let hook = a.positional(1).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let L = c.cache.model.config.nLayers
        let posSpec = a.option("pos")
        let P = c.tokens.count
        let positions = try posSpec.map { try indexList($0, limit: P) } ?? [P - 1]
        var values: [Float] = []
        for l in 0..<L {
            try checkCancelled()
            let name = HookNames.actName(hook, layer: l)
            guard case .tensor(let t) = try cacheTensor(c, fullName: name, range: a.range) else { continue }
            let norms = try t.tensor.reduce(.norm, axis: -1)  // [pos]
            for p in positions { values.append(norms.data[(p + P) % P]) }
        }
        let labels = positions.map { visibleToken(c.strTokens[($0 + P) % P]) }
        let tensor = Tensor(shape: [L, positions.count], data: values)
        var rows: [[Table.Cell]] = []
        for l in 0..<L { rows.append([.int(l)] + (0..<positions.count).map { .float(Double(values[l * positions.count + $0])) }) }
        let table = Table(title: "‖\(hook)‖ by layer", columns: ["layer"] + labels, rows: rows)
        var d = Display(tables: [table])
        if positions.count == 1 {
            d.pictures.append(AnyPicture(LineChart(xLabels: (0..<L).map(String.init), series: [Series(name: labels[0], values: values)],
                                                   title: "norm of \(hook) at \(labels[0])", xLabel: "layer", yLabel: "L2 norm"), title: "norms"))
        } else {
            d.pictures.append(AnyPicture(Figure(Heatmap(values: values, rows: L, cols: positions.count, rowLabels: (0..<L).map(String.init), colLabels: labels,
                                                        title: "norm of \(hook)", xLabel: "position", yLabel: "layer", scale: .sequential())), title: "norms"))
        }
        return .result(d, data: NamedTensor(tensor, axes: ["layer", "pos"]))
    }

    func cmdVars() -> Value {
        let rows = variables.keys.sorted().map { name -> [Table.Cell] in
            let v = variables[name]!
            var detail = ""
            switch v {
            case .cache(let c): detail = "\(c.tokens.count) tokens, \(c.cache.count) activations" + (c.prompt.map { ": \"\($0)\"" } ?? "")
            case .number(let n): detail = formatNumber(n)
            case .string(let s): detail = "\"\(s)\""
            case .metric(let m): detail = m.description
            case .tensor(let t): detail = "axes " + t.axes.joined(separator: ", ")
            default: break
            }
            return [.text(name), .text(v.typeName), .text(detail)]
        }
        return .result(Display(text: rows.isEmpty ? "no variables" : "", tables: rows.isEmpty ? [] : [Table(columns: ["name", "type", "value"], rows: rows)]), data: nil)
    }

    func cmdSet(_ a: Arguments) throws -> Value {
        // Every value is checked before any is applied, so a failed `set` changes nothing.
        let threads = try a.intIfGiven("threads")
        let matmul = try a.option("matmul").map { m in
            let name = try m.dottedName ?? stringValue(m)
            guard let precision = MatmulPrecision(rawValue: name) else {
                throw TLLangError.at(m.range, "matmul must be highest, high or medium, not \(name)")
            }
            do { try MatmulPrecision.validate(precision) } catch { throw TLLangError.at(m.range, "\(error)") }
            if let model = current?.model, !model.reducedPrecisionPermitted(precision) {
                throw TLLangError.at(m.range, "matmul=\(name) keeps a bf16 copy of the weights, "
                    + "\(bf16CopySize(model, precision)) for this model, more than half "
                    + "of the memory available; stay at matmul=highest" + (precision == .high ? " or try matmul=medium (half the size)" : ""))
            }
            return precision
        }
        let precision = try a.intIfGiven("precision")
        let seed = try a.intIfGiven("seed")
        let color = try a.option("color").map { try boolValue($0) }
        // Both take effect from the next statement: each statement runs under the settings'
        // engine context as it stood when the statement began.
        if let threads { settings.threads = threads }
        if let matmul { settings.matmul = matmul }
        if let precision { settings.precision = precision }
        if let seed { settings.seed = seed }
        if let color {
            settings.color = color
            output?.useColor(color)
        }
        let rows: [[Table.Cell]] = [[.text("threads"), .int(settings.threads)], [.text("matmul"), .text(settings.matmul.rawValue)],
                                    [.text("precision"), .int(settings.precision)], [.text("seed"), .int(settings.seed)],
                                    [.text("color"), .text(settings.color.map { "\($0)" } ?? "auto")]]
        return .result(Display(tables: [Table(title: "settings", columns: ["setting", "value"], rows: rows)]), data: nil)
    }
}
