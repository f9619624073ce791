// `norms` and `hooks`: the norm of one activation at every layer, and the model's hook points.
import TLRender
import TLTensor

/// The L2 norm of one activation at every layer, at some positions.
struct ActivationNorms: ResultModel {
    var hook: String
    /// [layers, positions]
    var norms: Tensor
    /// The positions' tokens, as shown.
    var positionLabels: [String]

    func display(_ context: PresentationContext) -> Display {
        let L = norms.shape[0], n = norms.shape[1], values = norms.data
        let rows = (0..<L).map { l in [Table.Cell.int(l)] + (0..<n).map { .float(Double(values[l * n + $0])) } }
        var d = Display(tables: [Table(title: "‖\(hook)‖ by layer", columns: ["layer"] + positionLabels, rows: rows)])
        if n == 1 {
            d.pictures.append(AnyPicture(LineChart(xLabels: (0..<L).map(String.init), series: [Series(name: positionLabels[0], values: values)],
                                                   title: "norm of \(hook) at \(positionLabels[0])", xLabel: "layer", yLabel: "L2 norm"), title: "norms"))
        } else {
            d.pictures.append(AnyPicture(Figure(Heatmap(values: values, rows: L, cols: n, rowLabels: (0..<L).map(String.init), colLabels: positionLabels,
                                                        title: "norm of \(hook)", xLabel: "position", yLabel: "layer", scale: .sequential())), title: "norms"))
        }
        return d
    }

    var tensor: NamedTensor? { NamedTensor(norms, axes: ["layer", "pos"]) }
}

/// The hook points a model fires, with their short names and shapes.
struct HookList: ResultModel {
    struct Entry { var name: String; var short: String; var shape: String }
    var entries: [Entry]

    func display(_ context: PresentationContext) -> Display {
        Display(tables: [Table(title: "\(entries.count) hook points", columns: ["hook", "short", "shape (no batch)"],
                               rows: entries.map { [.text($0.name), .text($0.short), .text($0.shape)] })])
    }
}
