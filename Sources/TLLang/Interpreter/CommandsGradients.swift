// The gradient verbs: `grad` (a gradient cache under TransformerLens names) and `attrib`
// (attribution patching, shown like `patch`).
import Foundation
import TLCore
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// metric= if given, else the variable `metric`.
    func metricArgument(_ a: Arguments, verb: String) throws -> MetricValue {
        if let e = a.option("metric") {
            guard case .metric(let mv) = try evaluate(e) else { throw TLLangError.at(e.range, "metric= takes a metric, e.g. logit_diff \" Paris\" \" Rome\"") }
            return mv
        }
        if case .metric(let mv)? = variables["metric"] { return mv }
        throw TLLangError.at(a.range, "\(verb) needs a metric", hint: "metric = logit_diff \" Paris\" \" Rome\"")
    }

    /// stop=TEXT or stop=[TEXT, …]: the gradient stops at every hook point whose name contains one of them.
    func stopArgument(_ a: Arguments) throws -> ((String) -> Bool)? { try hookTextsArgument(a, "stop") }

    /// OPTION=TEXT or OPTION=[TEXT, …]: hook points whose names contain one of the texts.
    func hookTextsArgument(_ a: Arguments, _ option: String) throws -> ((String) -> Bool)? {
        guard let e = a.option(option) else { return nil }
        let stop = option
        let parts: [String]
        switch try evaluate(e) {
        case .string(let s): parts = [s]
        case .list(let items):
            parts = try items.map { item in
                guard case .string(let s) = item else { throw TLLangError.at(e.range, "\(stop)= takes hook-name texts such as \"hook_scale\"") }
                return s
            }
        default:
            if let name = e.dottedName { parts = [name] } else {
                throw TLLangError.at(e.range, "\(stop)= takes hook-name texts such as \"hook_scale\" or [\"hook_scale\", \"pattern\"]")
            }
        }
        return { name in parts.contains { name.contains($0) } }
    }

    func cmdGrad(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let run: CacheValue
        if let e = a.positional(0) { run = try runPrompt(try evaluate(e), bos: true, range: e.range) } else {
            run = try cacheArgument(nil, range: a.range)
        }
        let metric = try metricArgument(a, verb: "grad")
        var o = GradientOptions()
        o.stopGradient = try stopArgument(a)
        o.gradientFilter = try hookTextsArgument(a, "names")
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
    func gradientHooks(_ a: Arguments) throws -> [GradientHook] {
        let scale = try a.numberIfGiven("scale"), given = a.option("set")
        guard let at = try hookTextsArgument(a, "at") else {
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

    func cmdAttrib(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.option("clean"), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.option("corrupt"), range: a.range)
        let metric = try metricArgument(a, verb: "attrib")
        guard clean.tokens.count == corrupt.tokens.count else {
            throw TLLangError.at(a.range, "clean and corrupt prompts must have the same number of tokens: clean has \(clean.tokens.count), corrupt has \(corrupt.tokens.count)",
                                 hint: "reword one prompt so both tokenize to the same length (see `tokens`)")
        }
        let hook = a.positional(0).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let cfg = m.model.config, P = clean.tokens.count
        // Axes in `patch`'s order: layer, then pos (dest for patterns), head (second for patterns), src, neuron.
        let isPattern = hook == "pattern" || hook == "attn" || hook == "attn_scores" || hook.hasSuffix("hook_pattern") || hook.hasSuffix("hook_attn_scores")
        var axes: [AttributionAxis] = [.layer]
        var ranges: [AttributionAxis: [Int]] = [:]
        if let l = a.option("layer") { ranges[.layer] = try indexList(l, limit: cfg.nLayers) }
        if let p = a.option("pos") { axes.append(isPattern ? .dest : .pos); ranges[isPattern ? .dest : .pos] = try indexList(p, limit: P) }
        if let h = a.option("head") { axes.insert(.head, at: isPattern ? 1 : axes.count); ranges[.head] = try indexList(h, limit: headAxis(of: hook, config: cfg).count) }
        if let s = a.option("src") { axes.append(.src); ranges[.src] = try indexList(s, limit: P) }
        if let n = a.option("neuron") { axes.append(.neuron); ranges[.neuron] = try indexList(n, limit: cfg.dMLP) }
        let result: AttributionResult
        do {
            let atp = try AttributionPatcher(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric,
                                             cleanCache: clean.cache, cleanLogits: clean.logits, stopGradient: try stopArgument(a),
                                             isCancelled: monitorCancel)
            let qkFix = try a.bool("qk_fix"), gradDrop = try a.bool("graddrop")
            if qkFix && gradDrop {
                throw TLLangError.at(a.range, "qk_fix=true and graddrop=true are separate estimates; ask for one at a time")
            }
            if qkFix {
                guard hook == "q" || hook == "k" else { throw TLLangError.at(a.range, "qk_fix=true applies to q and k only") }
                result = try atp.attributeQKFixed(activation: hook, axes: axes, ranges: ranges)
            } else if gradDrop {
                result = try atp.attributeGradDrop(activation: hook, axes: axes, ranges: ranges,
                                                   stopGradient: try stopArgument(a), isCancelled: monitorCancel)
            } else {
                result = try atp.attribute(activation: hook, axes: axes, ranges: ranges)
            }
        } catch TLInterpError.invalidArgument(let msg) {
            throw TLLangError.at(a.range, msg)
        }
        let shown = attributionDisplay(result, metric: metric, tokens: clean.strTokens)
        guard try a.bool("exact"), case .result(var d, let data) = shown else { return shown }
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

    /// How well the attribution estimates match exact patching: correlation and largest gap.
    static func agreement(_ estimate: [Float], _ truth: [Float]) -> String {
        let n = Float(estimate.count)
        let me = estimate.reduce(0, +) / n, mt = truth.reduce(0, +) / n
        var cov: Float = 0, ve: Float = 0, vt: Float = 0, gap: Float = 0
        for (e, t) in zip(estimate, truth) {
            cov += (e - me) * (t - mt); ve += (e - me) * (e - me); vt += (t - mt) * (t - mt)
            gap = max(gap, abs(e - t))
        }
        let r = ve > 0 && vt > 0 ? cov / (ve * vt).squareRoot() : .nan
        return String(format: "against exact patching (patched − corrupt) over %d cells: correlation %.3f, largest gap %.4f", estimate.count, r, gap)
    }

    func attributionDisplay(_ r: AttributionResult, metric: MetricValue, tokens: [String]) -> Value {
        let summary = String(format: "attribution patching %@ — %@: estimated change of the metric when patching clean into corrupt (clean %.4f, corrupt %.4f, difference %.4f)",
                             r.activation, metric.description, r.cleanValue, r.corruptValue, r.cleanValue - r.corruptValue)
        var d = Display(text: summary)
        let grid = SweepGrid(axes: r.axes.map(\.rawValue), axisValues: r.axisValues, values: r.values, valueName: "attribution",
                             title: "attrib \(r.activation): \(metric.description)", largestTitle: "largest attributions")
        grid.present(into: &d, tokens: tokens)
        return .result(d, data: NamedTensor(r.values, axes: grid.axes))
    }
}

extension Session {
    func cmdEAP(_ a: Arguments) throws -> Value {
        let m = try requireModel()
        let clean = try cacheVariable("clean", option: a.option("clean"), range: a.range)
        let corrupt = try cacheVariable("corrupt", option: a.option("corrupt"), range: a.range)
        let metric = try metricArgument(a, verb: "eap")
        // Through the declared bounds (steps 1…1000, top ≥ 1): steps=0 or steps=10⁹ used to reach the engine.
        let steps = try a.intIfGiven("steps")
        let threshold = try a.numberIfGiven("threshold").map(Float.init)
        let top = try a.intIfGiven("top") ?? (threshold == nil ? 20 : nil)
        let integration = try a.choice("ig", as: EdgeIntegration.self), ablation = try a.choice("ablation", as: CircuitAblation.self)
        let scores: EdgeScores, circuit: Circuit, circuitValue: Float, baseline: Float
        do {
            if a.option("ig") != nil && steps == nil {
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
        let span = scores.cleanValue - baseline
        let faithfulness = span == 0 ? Float.nan : (circuitValue - baseline) / span
        let selection = threshold.map { String(format: "|score| ≥ %g", Double($0)) + (top.map { ", at most \($0)" } ?? "") } ?? "top \(top ?? 0)"
        let meanNote = ablation == .mean ? String(format: ", empty circuit (mean-ablated) %.4f", baseline) : ""
        let zero = ablation == .mean ? "the empty circuit, mean-ablated" : "corrupt"
        let summary = String(format: "%@ over %d edges — %@; circuit (%@, pruned to paths from input to logits): %d edges, %d components; " +
                             "metric clean %.4f, corrupt %.4f%@, circuit %.4f: faithfulness %.3f (1 = clean, 0 = %@)",
                             scores.method, scores.edges.count, metric.description, selection, circuit.edges.count,
                             circuit.components.count, scores.cleanValue, scores.corruptValue, meanNote, circuitValue, faithfulness, zero)
        var d = Display(text: summary)
        let k = try a.int("k")
        d.tables.append(Table(title: "circuit edges", columns: [.init(name: "edge"), .init(name: "score", decimals: 4)],
                              rows: circuit.edges.prefix(k).map { [.text($0.name), .float(Double($0.score))] }))
        let inCircuit = circuit.edgeNames
        d.tables.append(Table(title: "highest-scoring edges", columns: [.init(name: "edge"), .init(name: "score", decimals: 4), .init(name: "in circuit")],
                              rows: scores.edges.prefix(k).map { [.text($0.name), .float(Double($0.score)), .text(inCircuit.contains($0.name) ? "yes" : "")] }))
        // The circuit as a layered graph (what `save e "circuit.png"` writes), then the
        // component × component scores inside it (q, k and v summed) as a heatmap.
        let comps = circuit.components
        if !comps.isEmpty {
            let graph = Self.circuitGraph(circuit, title: "circuit (\(scores.method)): \(metric.description)")
            d.pictures.append(AnyPicture(graph, title: graph.title))
            let senders = comps.filter { $0 != "logits" }, receivers = comps.filter { $0 != "input" }
            var grid = [Float](repeating: 0, count: senders.count * receivers.count)
            for e in circuit.edges {
                // A key/value head's input (grouped-query attention) counts for each query head reading it.
                for reader in e.to.readers {
                    if let i = senders.firstIndex(of: e.from.component), let j = receivers.firstIndex(of: reader.component) {
                        grid[i * receivers.count + j] += e.score
                    }
                }
            }
            let title = "circuit: \(metric.description)"
            d.pictures.append(AnyPicture(Figure(Heatmap(values: grid, rows: senders.count, cols: receivers.count, rowLabels: senders,
                                                        colLabels: receivers, title: title, xLabel: "receiver", yLabel: "sender",
                                                        scale: .diverging())), title: title))
        }
        if let out = a.option("out") {
            let path = (try (out.dottedName ?? stringValue(out)) as NSString).expandingTildeInPath
            let inGraph = circuit.edgeNames
            var nodes: [String: Bool] = ["input": true, "logits": true]
            for s in scores.senders { nodes[s.component] = circuit.components.contains(s.component) }
            var edges: [(key: String, value: JSON)] = []
            for e in scores.edges { edges.append((e.name, .object(["score": .float(e.score), "in_graph": .bool(inGraph.contains(e.name))]))) }
            let object = JSON.object([
                "format": .string("tlsh circuit 1 (nodes and edges as in the eap / MIB circuit files)"),
                "method": .string(scores.method), "metric": .string(metric.description),
                "clean_metric": .float(scores.cleanValue), "corrupt_metric": .float(scores.corruptValue),
                "circuit_metric": .float(circuitValue), "faithfulness": faithfulness.isFinite ? .float(faithfulness) : .null,
                "ablation": .string(ablation.rawValue), "empty_circuit_metric": .float(baseline),
                "selection": .string(selection), "nodes": .object(nodes.map { (key: $0.key, value: .bool($0.value)) }),
                "edges": .object(edges),
            ])
            do {
                let data = Data(try object.bytes(.init(pretty: true, sortedKeys: true)))
                try data.write(to: URL(fileURLWithPath: path))
            } catch {
                throw TLLangError.at(out.range, "cannot write \(path): \(error.localizedDescription)")
            }
            d.text += "\nwrote \(path)"
        }
        return .result(d, data: NamedTensor(scores.matrix, axes: ["sender", "receiver"]))
    }
}

extension Session {
    /// A circuit's components placed by residual-stream row (embeddings 0, layer l's attention
    /// 2l + 1, its MLP 2l + 2, logits last) and its edges scored, for TLRender's layered graph.
    static func circuitGraph(_ circuit: Circuit, title: String) -> CircuitGraph {
        func place(_ n: EdgeNode) -> (rank: Int, row: String, within: Int) {
            switch n.kind {
            case .input: return (0, "embed", 0)
            case .head(let l, let h): return (2 * l + 1, "L\(l) attn", h)
            case .mlp(let l): return (2 * l + 2, "L\(l) mlp", 0)
            case .logits: return (Int.max, "logits", 0)
            }
        }
        var components: [String: (rank: Int, row: String, within: Int)] = [:]
        for e in circuit.edges {
            for n in [e.from] + e.to.readers { components[n.component] = place(n) }
        }
        let nodes = components.sorted { a, b in
            (a.value.rank, a.value.within, a.key) < (b.value.rank, b.value.within, b.key)
        }.map { CircuitGraph.Node(name: $0.key, rank: $0.value.rank, rowLabel: $0.value.row) }
        let edges = circuit.edges.flatMap { e in
            e.to.readers.map { CircuitGraph.Edge(from: e.from.component, to: $0.component, channel: e.to.channel, score: e.score) }
        }
        return CircuitGraph(nodes: nodes, edges: edges, title: title)
    }
}
