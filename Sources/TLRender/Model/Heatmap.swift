// The data model of a heatmap: plain arrays, no tensors, so TLRender stays below TLTensor.

/// A rows × cols grid of values drawn as coloured cells.
///
/// `values` is row-major with `rows * cols` entries: row `r` (drawn top to bottom, e.g. a layer
/// or a query position) and column `c` (left to right, e.g. a token position) is
/// `values[r * cols + c]`. NaN cells are drawn grey.
public struct Heatmap: Sendable, Equatable {
    public var values: [Float]
    public var rows: Int
    public var cols: Int
    /// One label per row ("0", "L3H5", a token), or empty for row indices.
    public var rowLabels: [String]
    /// One label per column (usually token strings), or empty for column indices.
    public var colLabels: [String]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var scale: ColorScale

    public init(values: [Float], rows: Int, cols: Int, rowLabels: [String] = [], colLabels: [String] = [],
                title: String = "", xLabel: String = "", yLabel: String = "",
                scale: ColorScale = .diverging()) {
        self.values = values; self.rows = rows; self.cols = cols
        self.rowLabels = rowLabels; self.colLabels = colLabels
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.scale = scale
    }

    /// Throws when the value count or a label count does not fit `rows × cols`.
    public func validate() throws {
        let name = title.isEmpty ? "heatmap" : "heatmap \"\(title)\""
        guard rows > 0, cols > 0 else { throw TLRenderError.empty(what: name) }
        guard values.count == rows * cols else {
            throw TLRenderError.shapeMismatch(what: "\(name) (\(rows) rows × \(cols) cols, row-major)", expected: rows * cols, got: values.count)
        }
        guard rowLabels.isEmpty || rowLabels.count == rows else {
            throw TLRenderError.labelCount(what: "\(name) row labels", expected: rows, got: rowLabels.count)
        }
        guard colLabels.isEmpty || colLabels.count == cols else {
            throw TLRenderError.labelCount(what: "\(name) column labels", expected: cols, got: colLabels.count)
        }
    }

    func value(_ r: Int, _ c: Int) -> Float { values[r * cols + c] }
    func rowLabel(_ r: Int) -> String { rowLabels.isEmpty ? String(r) : rowLabels[r] }
    func colLabel(_ c: Int) -> String { colLabels.isEmpty ? String(c) : colLabels[c] }
}

/// Several heatmaps in a grid sharing one colour range and one colour bar, e.g. the twelve
/// attention heads of a layer. Each panel's `title` labels its panel ("H3"); the figure's
/// `title` goes on top. Panels take their scale from the first panel.
public struct Figure: Sendable, Equatable {
    public var title: String
    public var panels: [Heatmap]
    /// Panels per row; nil picks a near-square grid that is wider than tall.
    public var columns: Int?

    public init(title: String = "", panels: [Heatmap], columns: Int? = nil) {
        self.title = title; self.panels = panels; self.columns = columns
    }

    /// A one-panel figure whose title is the heatmap's.
    public init(_ heatmap: Heatmap) {
        var panel = heatmap
        panel.title = ""
        self.init(title: heatmap.title, panels: [panel], columns: 1)
    }

    public func validate() throws {
        guard !panels.isEmpty else { throw TLRenderError.empty(what: title.isEmpty ? "figure" : "figure \"\(title)\"") }
        for panel in panels { try panel.validate() }
    }

    /// Panels per row actually used.
    var gridColumns: Int {
        if let columns, columns > 0 { return min(columns, panels.count) }
        if panels.count <= 3 { return panels.count }
        return Int(Double(panels.count).squareRoot().rounded(.up))
    }
}
