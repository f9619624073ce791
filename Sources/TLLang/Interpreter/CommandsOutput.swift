// How values display (text, tables, pictures), and the show and save commands.
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

    /// `show` displays at once (Jupyter display_data, the REPL's terminal picture), like IPython's
    /// display(). Its value is what it showed, so `p = show x` then `save p "p.png"` saves the picture;
    /// a bare `show x` returns nothing, so the picture is not shown twice.
    func cmdShow(_ a: Arguments, assigning: Bool) throws -> Value {
        guard let e = a.positional(0) else { throw TLLangError.at(a.range, "show needs a value, e.g. show cache.pattern[0]") }
        let v = try evaluate(e)
        let title = try a.option("title").map(stringValue)
        var shown: Display
        switch v {
        case .tensor(let t):
            let name = title ?? e.range.text(in: sourceOfLastStatement ?? "")
            do { shown = Display(pictures: [try picture(of: t, title: name)]) } catch let err as TLLangError {
                throw TLLangError.at(e.range, err.description)
            }
        case .result(var d, _):
            if let title, !d.pictures.isEmpty { d.text = title + (d.text.isEmpty ? "" : "\n" + d.text) }
            shown = d
        default:
            guard let d = try display(of: v) else { return .none }
            shown = d
        }
        try checkCancelled()  // interrupted while the value was computed: draw nothing
        output?.display(shown)
        guard assigning else { return .none }
        return .result(shown, data: SaveFormats.tensor(of: v))
    }

    var sourceOfLastStatement: String? { history.last }

    func cmdSave(_ a: Arguments) throws -> Value {
        guard let e = a.positional(0), let f = a.positional(1) else { throw TLLangError.at(a.range, "save needs a value and a file, e.g. save v \"v.npy\"") }
        let v = try evaluate(e)
        let path: String
        if let name = f.dottedName { path = name } else { path = try stringValue(f) }
        let ext = try a.option("format").flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? (path as NSString).pathExtension.lowercased()
        let target = (path as NSString).expandingTildeInPath
        // Refuse a directory, device, FIFO, socket or link before encoding anything (which may be slow).
        if let kind = SafeFileWriter.kind(at: target), kind != "a regular file" {
            throw TLLangError.at(f.range, SafeFileWriter.Failure.notARegularFile(path: path, kind: kind).description)
        }
        // A whole cache goes to the file entry by entry (it may be larger than memory: store=disk).
        if ext == "safetensors", case .cache(let c) = v {
            var written = 0
            do {
                try SafeFileWriter.write(toPath: target) { append in try SaveFormats.writeCache(c) { written += $0.count; try append($0) } }
            } catch { throw TLLangError.at(f.range, (error as? TLLangError)?.description ?? "\(error)") }
            return .result(Display(text: "saved \(path) (\(written) bytes)"), data: nil)
        }
        let bytes: [UInt8]
        do { bytes = try SaveFormats.encode(v, format: ext, session: self) } catch let err as TLLangError {
            throw TLLangError.at(f.range, err.description)
        }
        do { try SafeFileWriter.write(bytes, toPath: target) } catch {
            throw TLLangError.at(f.range, error.description)
        }
        return .result(Display(text: "saved \(path) (\(bytes.count) bytes)"), data: nil)
    }
}
