// One presenter for every result that is a value per index of swept axes — activation patching
// (`patch`) and attribution patching (`attrib`): a bar chart for one axis, a heatmap for two, one
// panel per index of the first axis for more, a table of the largest cells, and the complete records
// that `save` writes as CSV/JSON.
import TLRender
import TLTensor

/// A grid of values over named, swept axes, as a patching-like command produced it.
struct SweepGrid {
    /// Axis names in order (`layer`, `pos`, `head`, `dest`, `src`, `neuron`).
    var axes: [String]
    /// The index each cell of an axis stands for (a sweep of `layer=2..5` holds 2, 3, 4).
    var axisValues: [[Int]]
    /// Shape = the axis value counts.
    var values: Tensor
    /// What a value is: "metric", "attribution".
    var valueName: String
    /// The picture's title and the table of largest cells' title.
    var title: String
    var largestTitle: String
    /// Cells are ranked by their distance from this (the corrupt metric for raw patching, else 0).
    var rankingBase: Float = 0

    static let positionAxes: Set<String> = ["pos", "dest", "src"]

    func label(_ axis: String, _ v: Int, tokens: [String]) -> String {
        switch axis {
        case "pos", "dest", "src": return "\(v) \(visibleToken(tokens.indices.contains(v) ? tokens[v] : ""))"
        case "head": return "H\(v)"
        case "neuron": return "N\(v)"
        default: return "\(v)"
        }
    }

    /// The grid without axes swept over a single index (pos=-1 adds nothing to a picture).
    var squeezed: SweepGrid {
        var g = self
        while g.axes.count > 1, let single = g.axisValues.firstIndex(where: { $0.count == 1 }) {
            g.axes.remove(at: single)
            g.axisValues.remove(at: single)
            g.values = g.values.reshaped(g.axisValues.map(\.count))
        }
        return g
    }

    /// Pictures and tables for `display`, records for export.
    func present(into d: inout Display, tokens: [String]) {
        let g = squeezed
        let values = g.values.data
        switch g.axes.count {
        case 1:
            let labels = g.axisValues[0].map { label(g.axes[0], $0, tokens: tokens) }
            d.tables.append(Table(columns: [g.axes[0], valueName], rows: zip(labels, values).map { [.text($0), .float(Double($1))] }))
            d.pictures.append(AnyPicture(BarChart(labels: labels, values: values, title: title, xLabel: g.axes[0], yLabel: valueName), title: title))
        case 2:
            let rowsL = g.axisValues[0].map { label(g.axes[0], $0, tokens: tokens) }
            let colsL = g.axisValues[1].map { label(g.axes[1], $0, tokens: tokens) }
            let colPictureLabels = Self.positionAxes.contains(g.axes[1])
                ? g.axisValues[1].map { visibleToken(tokens.indices.contains($0) ? tokens[$0] : "") } : colsL
            d.pictures.append(AnyPicture(Figure(Heatmap(values: values, rows: rowsL.count, cols: colsL.count, rowLabels: rowsL,
                colLabels: colPictureLabels, title: title, xLabel: g.axes[1], yLabel: g.axes[0], scale: .diverging())), title: title))
            let order = values.indices.sorted { abs(values[$0] - rankingBase) > abs(values[$1] - rankingBase) }
            d.tables.append(Table(title: largestTitle, columns: [g.axes[0], g.axes[1], valueName],
                                  rows: order.prefix(8).map { i in [.text(rowsL[i / colsL.count]), .text(colsL[i % colsL.count]), .float(Double(values[i]))] }))
        default:
            // [a, b, c, …]: one panel per index of the first axis, the rest flattened into columns.
            let n1 = g.axisValues[1].count, n2 = g.axisValues[2...].map(\.count).reduce(1, *)
            let panels = g.axisValues[0].enumerated().map { i, v in
                Heatmap(values: Array(values[(i * n1 * n2)..<((i + 1) * n1 * n2)]), rows: n1, cols: n2,
                        rowLabels: g.axisValues[1].map { label(g.axes[1], $0, tokens: tokens) },
                        colLabels: g.axes.count == 3 ? g.axisValues[2].map { label(g.axes[2], $0, tokens: tokens) } : (0..<n2).map(String.init),
                        title: "\(g.axes[0]) \(v)", xLabel: g.axes[2...].joined(separator: "×"), yLabel: g.axes[1], scale: .diverging())
            }
            d.pictures.append(AnyPicture(Figure(title: title, panels: panels), title: title))
        }
        d.records = records(tokens: tokens)
    }

    /// Every cell: its index on each swept axis (with the token for position axes) and its value.
    func records(tokens: [String]) -> Table {
        let tokenAxes = axes.indices.filter { Self.positionAxes.contains(axes[$0]) }
        var columns = axes.map { Table.Column(name: $0) }
        for i in tokenAxes { columns.append(.init(name: tokenAxes.count > 1 ? "\(axes[i])_token" : "token")) }
        columns.append(.init(name: valueName))
        let sizes = axisValues.map(\.count)
        var rows: [[Table.Cell]] = []
        rows.reserveCapacity(values.count)
        for flat in 0..<values.count {
            var rest = flat, index = [Int](repeating: 0, count: sizes.count)
            for axis in sizes.indices.reversed() { index[axis] = rest % sizes[axis]; rest /= sizes[axis] }
            let at = index.enumerated().map { axisValues[$0][$1] }
            var row = at.map { Table.Cell.int($0) }
            for i in tokenAxes { row.append(.token(tokens.indices.contains(at[i]) ? tokens[at[i]] : "")) }
            row.append(.float(Double(values.data[flat])))
            rows.append(row)
        }
        return Table(title: "\(title): every cell", columns: columns, rows: rows)
    }
}
