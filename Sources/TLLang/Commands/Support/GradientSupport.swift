// Helpers of the gradient verbs (grad, attrib, eap): the metric, stop= and hook-name texts, and
// the displays of gradient caches and edge circuits.
import Foundation
import TLCore
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// metric= if given, else the variable `metric`.
    func metricArgument(_ a: Invocation, verb: String) throws -> MetricValue {
        if let e = try a[Shared.metric] {
            guard case .metric(let mv) = try evaluate(e) else { throw TLLangError.at(e.range, "metric= takes a metric, e.g. logit_diff \" Paris\" \" Rome\"") }
            return mv
        }
        if case .metric(let mv)? = variables["metric"] { return mv }
        throw TLLangError.at(a.range, "\(verb) needs a metric", hint: "metric = logit_diff \" Paris\" \" Rome\"")
    }

    /// stop=TEXT or stop=[TEXT, …]: the gradient stops at every hook point whose name contains one of them.
    func stopArgument(_ a: Invocation, _ option: Option<Expr?>) throws -> ((String) -> Bool)? { try hookTextsArgument(a, option) }

    /// OPTION=TEXT or OPTION=[TEXT, …]: hook points whose names contain one of the texts.
    func hookTextsArgument(_ a: Invocation, _ option: Option<Expr?>) throws -> ((String) -> Bool)? {
        guard let e = try a[option] else { return nil }
        let stop = option.name
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
        value(of: AttributionReport(result: r, metric: metric.description, tokens: tokens))
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
