// Interpretability commands: logit_diff, patch, dla, lens, induction, detect, generate.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// A token target: `" Paris"` or `" Paris" - " Rome"` → (answer, wrong) ids and a label.
    func tokenTarget(_ e: Expr, model m: LoadedModel) throws -> (answer: Int, wrong: Int?, label: String) {
        func single(_ x: Expr) throws -> Int {
            let id: Int
            switch x.kind {
            case .string(let s):
                do { return try m.singleToken(s) } catch let TLLangError.runtime(msg, _, h) { throw TLLangError.at(x.range, msg, hint: h) }
            case .integer(let n): id = n
            default:
                guard case .number(let n) = try evaluate(x) else { throw TLLangError.at(x.range, "expected a token string such as \" Paris\"") }
                id = try integer(n, at: x.range, what: "a token id")
            }
            // Ids index the unembedding; an id outside the vocabulary must be an error, not a crash later.
            let vocabulary = m.model.config.dVocab
            guard id >= 0 && id < vocabulary else { throw TLLangError.at(x.range, "token id \(id) is outside the vocabulary (0..<\(vocabulary))") }
            return id
        }
        if case .binary(.subtract, let l, let r) = e.kind {
            let a = try single(l), b = try single(r)
            return (a, b, "\(visibleToken(m.strTokens([a])[0])) − \(visibleToken(m.strTokens([b])[0]))")
        }
        let a = try single(e)
        return (a, nil, visibleToken(m.strTokens([a])[0]))
    }

    func cmdLogitDiff(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        guard let first = a.positional(0) else { throw TLLangError.at(a.range, "logit_diff needs tokens, e.g. logit_diff \" Paris\" \" Rome\"") }
        var target = try tokenTarget(first, model: m)
        if let second = a.positional(1) {
            let w = try tokenTarget(second, model: m)
            target = (target.answer, w.answer, "\(target.label) − \(w.label)")
        }
        guard let wrong = target.wrong else {
            return .metric(MetricValue(metric: .logit(token: target.answer), description: "logit of \(target.label)"))
        }
        return .metric(MetricValue(metric: .logitDiff(answer: target.answer, wrong: wrong), description: "logit difference \(target.label)"))
    }

    func cacheVariable(_ name: String, option: Expr?, range: SourceRange) throws -> CacheValue {
        if let option { return try runPrompt(try evaluate(option), bos: nil, range: option.range) }
        guard let v = variables[name] else {
            throw TLLangError.at(range, "patch needs a '\(name)' cache", hint: "\(name) = run \"...\" (or pass \(name)=...)")
        }
        guard case .cache(let c) = v else { throw TLLangError.at(range, "'\(name)' is a \(v.typeName), not a cache") }
        return c
    }

    func cmdPatch(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.option("clean"), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.option("corrupt"), range: a.range)
        let metric: MetricValue
        if let e = a.option("metric") {
            guard case .metric(let mv) = try evaluate(e) else { throw TLLangError.at(e.range, "metric= takes a metric, e.g. logit_diff \" Paris\" \" Rome\"") }
            metric = mv
        } else if case .metric(let mv)? = variables["metric"] { metric = mv } else {
            throw TLLangError.at(a.range, "patch needs a metric", hint: "metric = logit_diff \" Paris\" \" Rome\"")
        }
        guard clean.tokens.count == corrupt.tokens.count else {
            throw TLLangError.at(a.range, "clean and corrupt prompts must have the same number of tokens for positional patching: clean has \(clean.tokens.count) (\(clean.strTokens.map(visibleToken).joined(separator: " | "))), corrupt has \(corrupt.tokens.count) (\(corrupt.strTokens.map(visibleToken).joined(separator: " | ")))",
                                 hint: "reword one prompt so both tokenize to the same length (see `tokens`)")
        }
        let hook = a.positional(0).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let splices = try splices(a, model: m)
        if hook == "features" {
            return try patchFeatures(a, model: m, splices: splices, clean: clean, corrupt: corrupt, metric: metric)
        }
        for name in ["feature", "k", "value"] where a.option(name) != nil {
            throw TLLangError.at(a.option(name)!.range, "\(name)= goes with patch features saes=[s]")
        }
        try checkActivationName(hook, at: a.positional(0)?.range ?? a.range, model: m)
        let cfg = m.model.config, P = clean.tokens.count
        var axes: [PatchAxis] = [.layer]
        var ranges: [PatchAxis: [Int]] = [:]
        if let l = a.option("layer") { ranges[.layer] = try checkedIndices(l, limit: cfg.nLayers, option: "layer", what: "layers") }
        let isPattern = hook == "pattern" || hook == "attn" || hook.hasSuffix("hook_pattern")
        if let p = a.option("pos") {
            axes.append(isPattern ? .dest : .pos)
            ranges[isPattern ? .dest : .pos] = try checkedIndices(p, limit: P, option: "pos", what: "positions")
        }
        if let h = a.option("head") {
            axes.insert(.head, at: isPattern ? 1 : axes.count)
            let (heads, what) = headAxis(of: hook, config: cfg)
            ranges[.head] = try checkedIndices(h, limit: heads, option: "head", what: what)
        }
        if !backend.isLocal {
            guard splices.isEmpty else {
                throw TLLangError.at(a.range, "patch with saes= runs on the local engine only; the \(backend.kind.rawValue) backend has no SAE plans yet", hint: "backend local")
            }
            return try patchThroughPlan(m, hook: hook, axes: axes, ranges: ranges, clean: clean, corrupt: corrupt,
                                        metric: metric, normalize: try a.bool("normalize"), range: a.range)
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
        do { result = try patcher.sweep(activation: hook, axes: axes, ranges: ranges, normalize: try a.bool("normalize"),
                                      monitor: monitor("patch \(hook)")) } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        return patchDisplay(result, metric: metric, tokens: clean.strTokens)
    }

    /// `patch features saes=[s]`: each feature of the first SAE copied from the clean into the
    /// corrupt run (or set to value=), at each position of pos= or at every position at once.
    func patchFeatures(_ a: Arguments, model m: LoadedModel, splices: [SAESplice], clean: CacheValue, corrupt: CacheValue,
                       metric: MetricValue) throws -> Value {
        guard let first = splices.first else {
            throw TLLangError.at(a.positional(0)?.range ?? a.range, "patch features needs the SAE whose features to patch",
                                 hint: "patch features saes=[s] (with error=true to keep the error term)")
        }
        for name in ["layer", "head"] where a.option(name) != nil {
            throw TLLangError.at(a.option(name)!.range, "\(name)= does not apply to features: the SAE's hook fixes where they are patched",
                                 hint: "sweep features with feature= and positions with pos=")
        }
        let patcher: FeaturePatcher
        do {
            patcher = try FeaturePatcher(model: m.model, splices: splices, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric)
        } catch let e as SAEError { throw TLLangError.at(a.range, e.description) }
        let cfg = first.sae.config
        let features: [Int]
        if let fe = a.option("feature") {
            features = try checkedIndices(fe, limit: cfg.dSae, option: "feature", what: "features").map { $0 < 0 ? $0 + cfg.dSae : $0 }
        } else {
            features = patcher.mostChangedFeatures(try a.int("k"))
            guard !features.isEmpty else {
                throw TLLangError.at(a.range, "no feature of the SAE at \(cfg.outputHook) differs between the clean and corrupt runs",
                                     hint: "name the features to patch, e.g. feature=[0, 1] value=0")
            }
        }
        let positions = try a.option("pos").map { try checkedIndices($0, limit: clean.tokens.count, option: "pos", what: "positions") }
        let value = try a.numberIfGiven("value").map(Float.init)
        let result: FeaturePatchResult
        do {
            result = try patcher.sweep(features: features, positions: positions, value: value, normalize: try a.bool("normalize"),
                                       monitor: monitor("patch features"))
        } catch TLInterpError.invalidArgument(let msg) { throw TLLangError.at(a.range, msg) }
        catch let e as SAEError { throw TLLangError.at(a.range, e.description) }
        let what = value.map { "set to \(formatNumber(Double($0)))" } ?? "clean → corrupt"
        let summary = String(format: "patching features of the SAE at %@ (%@) — %@%@; clean %.4f, corrupt %.4f (SAEs spliced%@)",
                             cfg.outputHook, what, metric.description, result.normalized ? " (normalised: 0 = corrupt, 1 = clean)" : "",
                             result.cleanValue, result.corruptValue, try a.bool("error") ? ", with error terms" : "")
        var d = Display(text: summary)
        let axes = result.positions == nil ? ["feature"] : ["feature", "pos"]
        let grid = SweepGrid(axes: axes, axisValues: [result.features] + (result.positions.map { [$0] } ?? []), values: result.values,
                             valueName: "metric", title: "patch features (\(what)): \(metric.description)", largestTitle: "largest effects",
                             rankingBase: result.normalized ? 0 : result.corruptValue)
        grid.present(into: &d, tokens: clean.strTokens)
        return .result(d, data: NamedTensor(result.values, axes: grid.axes))
    }

    /// How many heads `hook` has, and what to call them in an error: k and v have n_key_value_heads
    /// heads under grouped- and multi-query attention, so head=* sweeps those, and a query-head
    /// index beyond them is refused at head=.
    func headAxis(of hook: String, config cfg: ModelConfig) -> (count: Int, noun: String) {
        let probe = hook.contains(".") ? hook : HookNames.actName(hook, layer: 0)
        let heads = HookRegistry.headCount(of: probe, config: cfg) ?? cfg.nHeads
        return heads == cfg.nHeads ? (heads, "heads")
            : (heads, "key/value heads (each \(hook) head serves \(cfg.nHeads / max(heads, 1)) query heads)")
    }

    /// The indices an option names, each checked against its axis so that an error underlines
    /// the option's value (not the whole statement) and says the valid range.
    func checkedIndices(_ e: Expr, limit: Int, option: String, what: String) throws -> [Int] {
        let indices = try indexList(e, limit: limit)
        if let bad = indices.first(where: { $0 >= limit || $0 < -limit }) {
            throw TLLangError.at(e.range, "\(option)=\(bad) is out of range: there are \(limit) \(what), 0…\(limit - 1)",
                                 hint: "negative values count from the end (\(option)=-1 is \(limit - 1)); \(option)=* takes all")
        }
        return indices
    }

    /// An activation name as the user wrote it (`resid_post`, `blocks.0.hook_resid_post`),
    /// refused at its own range with the nearest known short name when the model has no such hook.
    func checkActivationName(_ name: String, at range: SourceRange, model m: LoadedModel) throws {
        // As the patcher resolves it: a dotted name as given, else the name at layer 0.
        if m.model.hookNames.contains(name.contains(".") ? name : HookNames.actName(name, layer: 0)) { return }
        let known = Session.cacheShortNames(fullNames: m.model.hookNames).filter { $0 != "logits" && $0 != "tokens" }
        let hint = Suggest.nearest(to: name, in: known + m.model.hookNames).map { "did you mean '\($0)'?" }
            ?? "activations: " + known.joined(separator: ", ")
        throw TLLangError.at(range, "'\(name)' is not an activation of this model", hint: hint)
    }

    func patchDisplay(_ r: PatchResult, metric: MetricValue, tokens: [String]) -> Value {
        let summary = String(format: "patching %@ — %@%@; clean %.4f, corrupt %.4f", r.activation, metric.description,
                             r.normalized ? " (normalised: 0 = corrupt, 1 = clean)" : "", r.cleanValue, r.corruptValue)
        var d = Display(text: summary)
        let grid = SweepGrid(axes: r.axes.map(\.rawValue), axisValues: r.axisValues, values: r.values, valueName: "metric",
                             title: "patch \(r.activation): \(metric.description)", largestTitle: "largest effects",
                             rankingBase: r.normalized ? 0 : r.corruptValue)
        grid.present(into: &d, tokens: tokens)
        return .result(d, data: NamedTensor(r.values, axes: grid.axes))
    }

    func cmdDLA(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        guard let t = a.positional(0) else { throw TLLangError.at(a.range, "dla needs a token, e.g. dla \" Paris\"") }
        let target = try tokenTarget(t, model: m)
        let pos = try a.int("pos"), k = try a.int("k")
        let c = try cacheArgument(a.option("cache"), range: a.range, splicing: a)
        guard pos >= -c.tokens.count && pos < c.tokens.count else {
            throw TLLangError.at(a.option("pos")?.range ?? a.range, "position \(pos) is out of range for \(c.tokens.count) tokens", hint: "positions run 0…\(c.tokens.count - 1); negative counts from the end")
        }
        let neuronLayer = try a.option("neurons").map { try resolveLayer(try intValue($0), m.model, range: $0.range) }
        try checkCancelled()
        let attr = try DirectLogitAttribution.attribute(cache: c.cache, token: target.answer, wrong: target.wrong, position: pos,
                                                        neuronLayer: neuronLayer)
        try checkCancelled()
        let cfg = m.model.config
        let title = "direct logit attribution to \(target.label)"
        // Heads, MLPs and embeddings only: a block's attn_out is the sum of its heads, so ranking
        // both counted L1H0 twice. The per-block sums have their own table below.
        let ranked = attr.ranked().filter { !$0.label.hasSuffix("_attn_out") }.prefix(k)
        var d = Display(text: String(format: "%@ at position %d; components sum to %.4f", title, pos, attr.total))
        d.tables.append(Table(title: "top \(ranked.count) components (heads, MLPs, embeddings)", columns: [.init(name: "component"), .init(name: "attribution", decimals: 4)],
                              rows: ranked.map { [.text($0.label), .float(Double($0.value))] }))
        d.tables.append(Table(title: "by block (attn_out is the sum of that layer's heads)", columns: [.init(name: "component"), .init(name: "attribution", decimals: 4)],
                              rows: attr.components.map { [.text($0.label), .float(Double($0.value))] }))
        if let neurons = attr.neurons, let nl = attr.neuronLayer {
            let order = neurons.data.indices.sorted { abs(neurons.data[$0]) > abs(neurons.data[$1]) }.prefix(k)
            d.tables.append(Table(title: "top \(order.count) neurons of layer \(nl)", columns: [.init(name: "neuron"), .init(name: "attribution", decimals: 4)],
                                  rows: order.map { [.text("L\(nl)N\($0)"), .float(Double(neurons.data[$0]))] }))
        }
        // The export holds every block component and every head (and neuron), labelled by kind, since
        // a head's share is also inside its block's attn_out.
        var records: [[Table.Cell]] = attr.components.map { [.text("block"), .text($0.label), .float(Double($0.value))] }
        records += attr.heads.data.indices.map { i in [.text("head"), .text("L\(i / cfg.nHeads)H\(i % cfg.nHeads)"), .float(Double(attr.heads.data[i]))] }
        if let neurons = attr.neurons, let nl = attr.neuronLayer {
            records += neurons.data.indices.map { [.text("neuron"), .text("L\(nl)N\($0)"), .float(Double(neurons.data[$0]))] }
        }
        // saes=: each spliced SAE's features, as decoder directions through the unembedding.
        for splice in try splices(a, model: m) {
            let s = SAEValue(sae: splice.sae, name: splice.sae.config.outputHook)
            guard Self.writesResidualWidth(s, m) else {
                note("the SAE at \(s.sae.config.outputHook) does not write a d_model-wide activation inside the blocks; its features have no direct logit attribution")
                continue
            }
            let acts = try featureActivations(s, c, range: a.range)
            let attrs = try featureLogitAttributions(s, acts: acts, cache: c, position: pos, target: target, range: a.range)
            let order = attrs.data.indices.filter { attrs.data[$0] != 0 }.sorted { abs(attrs.data[$0]) > abs(attrs.data[$1]) }.prefix(k)
            let P = acts.shape[0], F = acts.shape[1], p = pos < 0 ? pos + P : pos
            d.tables.append(Table(title: "top \(order.count) features of the SAE at \(s.sae.config.outputHook) (sum \(formatNumber(Double(attrs.data.reduce(0, +)))))",
                                  columns: [.init(name: "feature"), .init(name: "activation", decimals: 3), .init(name: "attribution", decimals: 4)],
                                  rows: order.map { [.int($0), .float(Double(acts.data[p * F + $0])), .float(Double(attrs.data[$0]))] }))
            records += attrs.data.indices.filter { attrs.data[$0] != 0 }.map {
                [.text("feature"), .text("\(s.sae.config.outputHook):\($0)"), .float(Double(attrs.data[$0]))]
            }
        }
        d.records = Table(title: title, columns: ["kind", "component", "attribution"], rows: records)
        d.pictures.append(AnyPicture(Figure(Heatmap(values: attr.heads.data, rows: cfg.nLayers, cols: cfg.nHeads,
            rowLabels: (0..<cfg.nLayers).map(String.init), colLabels: (0..<cfg.nHeads).map { "H\($0)" }, title: title,
            xLabel: "head", yLabel: "layer", scale: .diverging())), title: title))
        return .result(d, data: NamedTensor(attr.heads, axes: ["layer", "head"]))
    }

    func cmdLens(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let c = try cacheArgument(a.positional(0), range: a.range, splicing: a)
        let P = c.tokens.count
        let positions = try a.option("pos").map { try indexList($0, limit: P) } ?? [P - 1]
        let k = try a.int("k")
        try checkCancelled()
        let point = try a.choice("at", as: LogitLens.Point.self)
        let lens = try LogitLens.compute(cache: c.cache, positions: positions, at: point)
        let labels = lens.labels.map { label -> String in
            if label == "final_post" { return "out" }
            // resid_post's rows are each block's input (L0 = the embeddings); the other points name theirs.
            return "L" + label.replacingOccurrences(of: "_pre", with: point == .resid_post ? "" : " pre").replacingOccurrences(of: "_mid", with: " mid")
        }
        var d = Display()
        if positions.count == 1 {
            let rows = lens.labels.indices.map { row -> [Table.Cell] in
                let top = lens.top(layer: row, position: 0, k: k)
                return [.text(labels[row])] + top.flatMap { [Table.Cell.token(m.strTokens([$0.token])[0]), .float(Double($0.prob))] }
            }
            let cols = ["layer"] + (1...k).flatMap { ["top \($0)", "prob"] }
            d.tables.append(Table(title: "logit lens at \(visibleToken(c.strTokens[(positions[0] + P) % P])) (position \(positions[0]))", columns: cols, rows: rows))
            // Rank of the final prediction across layers.
            let final = lens.top(layer: lens.labels.count - 1, position: 0, k: 1)[0].token
            let track = lens.track(token: final, position: 0)
            d.pictures.append(AnyPicture(LineChart(xLabels: labels, series: [Series(name: "p(\(visibleToken(m.strTokens([final])[0])))", values: track.map(\.prob))],
                                                   title: "logit lens: probability of the final prediction", xLabel: "layer", yLabel: "probability"), title: "lens"))
        } else {
            var probs: [Float] = [], rows: [[Table.Cell]] = []
            for row in lens.labels.indices {
                var cells: [Table.Cell] = [.text(labels[row])]
                for col in positions.indices {
                    let top = lens.top(layer: row, position: col, k: 1)[0]
                    probs.append(top.prob)
                    cells.append(.token(m.strTokens([top.token])[0]))
                }
                rows.append(cells)
            }
            let colLabels = positions.map { visibleToken(c.strTokens[($0 + P) % P]) }
            d.tables.append(Table(title: "logit lens: top token per layer and position", columns: ["layer"] + colLabels, rows: rows))
            d.pictures.append(AnyPicture(Figure(Heatmap(values: probs, rows: labels.count, cols: positions.count, rowLabels: labels, colLabels: colLabels,
                title: "logit lens: probability of the top token", xLabel: "position", yLabel: "layer", scale: .sequential(min: 0, max: 1))), title: "lens"))
        }
        return .result(d, data: NamedTensor(lens.logProbs, axes: ["layer", "pos", "vocab"]))
    }

    func headTable(_ scores: Tensor, threshold: Float, title: String) -> Table {
        let H = scores.shape[1]
        let order = scores.data.indices.sorted { scores.data[$0] > scores.data[$1] }
        let rows = order.prefix(10).filter { scores.data[$0] > threshold || $0 == order[0] }.map { i in
            [Table.Cell.text("L\(i / H)H\(i % H)"), .float(Double(scores.data[i]))]
        }
        return Table(title: title, columns: [.init(name: "head"), .init(name: "score", decimals: 3)], rows: rows)
    }

    /// Every head's score, for CSV/JSON export (the shown table lists only the top ten).
    func headRecords(_ scores: Tensor, title: String) -> Table {
        let H = scores.shape[1]
        return Table(title: title, columns: ["layer", "head", "score"],
                     rows: scores.data.indices.map { [.int($0 / H), .int($0 % H), .float(Double(scores.data[$0]))] })
    }

    func headHeatmap(_ scores: Tensor, title: String) -> AnyPicture {
        let L = scores.shape[0], H = scores.shape[1]
        return AnyPicture(Figure(Heatmap(values: scores.data, rows: L, cols: H, rowLabels: (0..<L).map(String.init),
                                         colLabels: (0..<H).map { "H\($0)" }, title: title, xLabel: "head", yLabel: "layer",
                                         scale: .sequential(min: 0, max: 1))), title: title)
    }

    func cmdInduction(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let len = try a.int("len", default: min(50, (m.model.config.nCtx - 1) / 2))
        guard 2 * len + 1 <= m.model.config.nCtx else {
            throw TLLangError.at(a.option("len")?.range ?? a.range, "len=\(len) needs 2 × \(len) + 1 = \(2 * len + 1) tokens but the context is \(m.model.config.nCtx)", hint: "use len=\((m.model.config.nCtx - 1) / 2) or less")
        }
        let seed = try a.int("seed", default: settings.seed)
        let threshold = Float(try a.number("threshold"))
        let r = try HeadDetector.induction(model: m.model, length: len, seed: UInt64(bitPattern: Int64(seed)), bos: m.bos,
                                           isCancelled: monitorCancel)
        let loss = r.lossPerToken.data
        let first = loss.prefix(len).reduce(0, +) / Float(max(len, 1))
        let second = loss.suffix(len).reduce(0, +) / Float(max(len, 1))
        var d = Display(text: String(format: "repeated random tokens (2 × %d): loss %.3f on the first copy, %.3f on the second", len, first, second))
        let above = r.scores.data.filter { $0 > threshold }.count
        d.tables.append(headTable(r.scores, threshold: threshold, title: "\(above) head\(above == 1 ? "" : "s") score\(above == 1 ? "s" : "") above \(threshold)"))
        d.pictures.append(headHeatmap(r.scores, title: "induction score"))
        d.records = headRecords(r.scores, title: "induction score")
        return .result(d, data: NamedTensor(r.scores, axes: ["layer", "head"]))
    }

    func cmdDetect(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        guard let k = a.positional(0), let kindName = k.dottedName ?? (try? stringValue(k)),
              let kind = HeadPattern(rawValue: kindName.replacingOccurrences(of: "_head", with: "")) else {
            throw TLLangError.at(a.range, "detect needs a kind: previous_token, duplicate_token or induction")
        }
        // Text goes through the tokenizer; a list of token ids is used as given (a model without a
        // tokenizer, or an exact sequence of repeats).
        let tokens: [Int]
        if let e = a.positional(1), case .list(let items) = try evaluate(e) {
            tokens = try tokenIDs(items, range: e.range)
        } else {
            tokens = try m.tokens(try a.string(1) ?? "")
        }
        let measure = try a.choice("measure", as: ErrorMeasure.self)
        let scores = try HeadDetector.detect(model: m.model, tokens: tokens, pattern: kind,
                                             excludeBOS: try a.bool("exclude_bos"),
                                             excludeCurrentToken: try a.bool("exclude_current"), measure: measure,
                                             isCancelled: monitorCancel)
        var d = Display(text: "\(kind.rawValue) head scores (\(measure.rawValue)) on \(tokens.count) tokens")
        d.tables.append(headTable(scores, threshold: 0.3, title: "top heads"))
        d.pictures.append(headHeatmap(scores, title: "\(kind.rawValue) score"))
        d.records = headRecords(scores, title: "\(kind.rawValue) score")
        return .result(d, data: NamedTensor(scores, axes: ["layer", "head"]))
    }

    func cmdGenerate(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let tok = try m.requireTokenizer()
        let prompt = try a.string(0) ?? ""
        let n = try a.int("n")
        let ids = try m.tokens(prompt)
        let temperature = try a.number("temperature")
        let sampling: Sampling = temperature == 0 ? .greedy
            : .sample(temperature: Float(temperature), topK: try a.intIfGiven("top_k"), topP: try a.numberIfGiven("top_p").map(Float.init),
                      freqPenalty: 0, seed: UInt64(bitPattern: Int64(try a.int("seed", default: settings.seed))))
        let generator = Generator(model: m.model)
        /// The continuation's text, and a note when it ended at end-of-text before n tokens.
        func continuation(_ hooks: [ForwardHook], promptOnly: [ForwardHook] = [], label: String) throws -> (text: String, count: Int, stop: String?) {
            let new = try generator.generate(prompt: ids, maxNewTokens: n, sampling: sampling, eos: tok.eosTokenID,
                                             hooks: hooks, promptOnlyHooks: promptOnly, monitor: monitor(label))
            let stop = new.count < n && new.last == tok.eosTokenID
                ? "stopped after \(new.count) of \(n) tokens: the model produced end-of-text" : nil
            return (tok.decode(new), new.count, stop)
        }
        // saes= splices SAEs into every step of the second run (see CommandsSAE.swift).
        let spliceHooks = try splices(a, model: m).flatMap { $0.hooks(for: m.model) }
        guard let add = a.option("add") else {
            let made = try continuation([], label: "generate")
            if let stop = made.stop { note("\(stop) (\(tokenLabel(tok.eosTokenID, model: m)))") }
            if spliceHooks.isEmpty { return .result(Display(text: prompt + made.text), data: nil) }
            let spliced = try continuation(spliceHooks, label: "generate (SAEs spliced)")
            let table = Table(title: "\"\(prompt)\" continued", columns: ["run", "tokens", "continuation"],
                              rows: [[.text("normal"), .int(made.count), .text(made.text)], [.text("SAEs spliced"), .int(spliced.count), .text(spliced.text)]])
            return .result(Display(text: "normal:  \(prompt)\(made.text)\nspliced: \(prompt)\(spliced.text)", tables: [table]), data: nil)
        }
        let dModel = m.model.config.dModel
        let addValue = try evaluate(add)
        guard case .tensor(let v) = addValue, v.tensor.rank == 1, v.tensor.count == dModel else {
            let got: String
            if case .tensor(let t) = addValue { got = "a tensor of shape [\(t.tensor.shape.map(String.init).joined(separator: ", "))]" } else { got = "a \(addValue.typeName)" }
            throw TLLangError.at(add.range, "add= takes a vector of shape [\(dModel)] (d_model), but this is \(got)",
                                 hint: "e.g. v = mean(pos.resid_post[2], over=pos) - mean(neg.resid_post[2], over=pos)")
        }
        if let bad = v.tensor.data.firstIndex(where: { !$0.isFinite }) {
            let count = v.tensor.data.filter { !$0.isFinite }.count
            throw TLLangError.at(add.range, "add= holds \(count) non-finite value\(count == 1 ? "" : "s") (element \(bad) is \(v.tensor.data[bad])); a steering vector must be finite",
                                 hint: "check how the vector was made, e.g. a division by zero")
        }
        let at = a.option("at").flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let layers = try a.option("layer").map { try indexList($0, limit: m.model.config.nLayers) } ?? [m.model.config.nLayers / 2]
        let promptOnly = try a.bool("prompt_only")
        var hooks: [ForwardHook] = []
        for l in layers {
            let name = HookNames.actName(at, layer: try resolveLayer(l, m.model, range: a.range))
            guard m.model.hookNames.contains(name) else { throw TLLangError.at(a.range, "'\(name)' is not a hook of this model") }
            hooks.append(steeringHook(name: name, vector: v.tensor.data, coefficient: 1))
        }
        let normal = try continuation([], label: "generate")
        let steered = try continuation(spliceHooks + (promptOnly ? [] : hooks), promptOnly: promptOnly ? hooks : [], label: "generate (steered)")
        func tokens(_ c: Int) -> String { "\(c) token\(c == 1 ? "" : "s")" }
        // The table alone: the same continuations as text above it would say everything twice.
        let table = Table(title: "\"\(prompt)\" continued", columns: ["run", "tokens", "continuation"],
                          rows: [[.text("normal"), .int(normal.count), .text(normal.text)],
                                 [.text("steered (\(at) layer \(layers.map(String.init).joined(separator: ",")))"), .int(steered.count), .text(steered.text)]])
        let stops = [("normal", normal.stop), ("steered", steered.stop)].compactMap { run, stop in stop.map { "\(run): \($0)" } }
        let summary = normal.count == steered.count ? "\(tokens(normal.count)) each" : "normal \(tokens(normal.count)), steered \(tokens(steered.count))"
        return .result(Display(text: ([summary] + stops).joined(separator: "\n"), tables: [table]), data: nil)
    }

    /// How a token reads in a note: `<|endoftext|>`.
    func tokenLabel(_ id: Int, model m: LoadedModel) -> String { visibleToken(m.strTokens([id])[0]) }
}
