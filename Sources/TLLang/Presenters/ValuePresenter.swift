// How session values display (text, tables, pictures): the presenter of values that are not
// result models (tensors, caches, metrics, SAEs).
import Foundation
import TLCore
import TLModel
import TLRender
import TLTensor

extension Session {
    /// What a bare value shows.
    func display(of v: Value) throws -> Display? {
        switch v {
        case .none, .wildcard: return nil
        case .number(let n): return Display(text: formatNumber(n))
        case .string(let s): return Display(text: "\"\(s)\"")
        case .list(let items): return Display(text: "[" + items.map(plainString).joined(separator: ", ") + "]")
        case .metric(let m): return Display(text: "metric: \(m.description)")
        case .result(let d, _): return d
        case .cacheSeries(_, let s): return Display(text: "cache.\(s): index it with a layer, e.g. cache.\(s)[0]")
        case .cache(let c):
            let shape = c.logits.shape.map(String.init).joined(separator: ", ")
            let toks = c.strTokens.map { visibleToken($0) }.joined(separator: " | ")
            return Display(text: "cache of \(c.tokens.count) tokens: \(toks)\nlogits [\(shape)], \(c.cache.count) activations (cache.resid_post[0], cache[\"pattern\", 0], …)")
        case .tensor(let t): return Display(text: describe(t))
        case .sae(let s): return Display(text: s.summary + "\nfrom \(s.name)")
        }
    }

    func describe(_ t: NamedTensor) -> String {
        let shape = zip(t.axes, t.tensor.shape).map { "\($0)=\($1)" }.joined(separator: ", ")
        let n = t.tensor.count
        let preview = t.tensor.data.prefix(8).map { formatNumber(Double($0)) }.joined(separator: ", ")
        var stats = ""
        if n > 0 {
            let mn = t.tensor.data.min()!, mx = t.tensor.data.max()!
            let mean = t.tensor.data.reduce(0, +) / Float(n)
            stats = String(format: "\nmin %.4g, max %.4g, mean %.4g", mn, mx, mean)
        }
        return "tensor [\(shape)]\n[\(preview)\(n > 8 ? ", …" : "")]" + stats
    }

    /// A picture of a tensor: 1-D bar chart, 2-D heatmap, 3-D one panel per head (or first axis).
    func picture(of t: NamedTensor, title: String?) throws -> AnyPicture {
        let data = t.tensor.data, shape = t.tensor.shape
        func labels(_ axis: Int) -> [String] {
            let name = t.axes[axis], n = shape[axis]
            if ["pos", "query", "key"].contains(name), let tl = t.tokenLabels, tl.count == n { return tl.map(visibleToken) }
            if name == "head" { return (0..<n).map { "H\($0)" } }
            return (0..<n).map(String.init)
        }
        let isProbability = t.axes.contains("query") && !(data.contains { $0 < 0 })
        let scale: ColorScale = isProbability ? .sequential(min: 0, max: 1) : (data.contains { $0 < 0 } ? .diverging() : .sequential())
        switch shape.count {
        case 1:
            return AnyPicture(BarChart(labels: labels(0), values: data, title: title ?? "", xLabel: t.axes[0]), title: title ?? "")
        case 2:
            return AnyPicture(Figure(Heatmap(values: data, rows: shape[0], cols: shape[1], rowLabels: labels(0), colLabels: labels(1),
                                             title: title ?? "", xLabel: t.axes[1], yLabel: t.axes[0], scale: scale)), title: title ?? "")
        case 3:
            let per = shape[1] * shape[2]
            let panels = (0..<shape[0]).map { i in
                Heatmap(values: Array(data[(i * per)..<((i + 1) * per)]), rows: shape[1], cols: shape[2], rowLabels: labels(1), colLabels: labels(2),
                        title: "\(t.axes[0] == "head" ? "head" : t.axes[0]) \(i)", xLabel: t.axes[2], yLabel: t.axes[1], scale: scale)
            }
            return AnyPicture(Figure(title: title ?? "", panels: panels), title: title ?? "")
        default:
            throw TLLangError.runtime("show draws tensors of 1 to 3 axes; this one has \(shape.count) (\(t.axes.joined(separator: ", "))); index or reduce it first")
        }
    }

    var sourceOfLastStatement: String? { history.last }
}
