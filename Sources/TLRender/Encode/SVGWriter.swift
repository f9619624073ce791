// Writes a Scene as a standalone SVG document. Heatmap cells, bars and points carry <title>
// children, which browsers and Jupyter show as hover tooltips.

enum SVGWriter {
    static func write(_ scene: Scene) -> String {
        var out = ""
        out.reserveCapacity(64 * scene.items.count + 512)
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(scene.width)\" height=\"\(scene.height)\" "
        out += "viewBox=\"0 0 \(scene.width) \(scene.height)\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\">\n"
        if !scene.title.isEmpty { out += "<title>\(escape(scene.title))</title>\n" }
        out += "<rect width=\"\(scene.width)\" height=\"\(scene.height)\" fill=\"\(scene.background.hexString)\"/>\n"
        for item in scene.items {
            switch item {
            case let .rect(x, y, w, h, fill, tooltip):
                out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" fill=\"\(fill.hexString)\""
                out += tooltip.map { "><title>\(escape($0))</title></rect>\n" } ?? "/>\n"
            case let .frame(x, y, w, h, color):
                out += "<rect x=\"\(Double(x) + 0.5)\" y=\"\(Double(y) + 0.5)\" width=\"\(w - 1)\" height=\"\(h - 1)\" "
                out += "fill=\"none\" stroke=\"\(color.hexString)\" stroke-width=\"1\"/>\n"
            case let .cells(grid):
                writeCells(grid, into: &out)
            case let .gradient(x, y, w, h, colors):
                // Slices instead of a <linearGradient>: gradient ids would clash when a notebook
                // shows several pictures in one HTML page.
                let slices = min(h, 96)
                out += "<g shape-rendering=\"crispEdges\">"
                for s in 0..<slices {
                    let top = y + s * h / slices, next = y + (s + 1) * h / slices
                    let color = colors[min(colors.count - 1, (s * colors.count + colors.count / 2) / slices)]
                    out += "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(w)\" height=\"\(next - top)\" fill=\"\(color.hexString)\"/>"
                }
                out += "</g>\n"
            case let .line(x1, y1, x2, y2, color, width):
                out += "<line x1=\"\(num(x1))\" y1=\"\(num(y1))\" x2=\"\(num(x2))\" y2=\"\(num(y2))\" "
                out += "stroke=\"\(color.hexString)\" stroke-width=\"\(num(width))\"/>\n"
            case let .polyline(points, color, width):
                var run: [String] = []
                func flush() {
                    if run.count > 1 {
                        out += "<polyline points=\"\(run.joined(separator: " "))\" fill=\"none\" "
                        out += "stroke=\"\(color.hexString)\" stroke-width=\"\(num(width))\" stroke-linejoin=\"round\"/>\n"
                    }
                    run.removeAll()
                }
                for p in points {
                    if let p { run.append("\(num(p.0)),\(num(p.1))") } else { flush() }
                }
                flush()
            case let .circle(cx, cy, r, fill, tooltip):
                out += "<circle cx=\"\(num(cx))\" cy=\"\(num(cy))\" r=\"\(num(r))\" fill=\"\(fill.hexString)\""
                out += tooltip.map { "><title>\(escape($0))</title></circle>\n" } ?? "/>\n"
            case let .text(t):
                out += "<text x=\"\(num(t.x))\" y=\"\(num(t.y))\" font-size=\"\(t.size)\" fill=\"\(t.color.hexString)\""
                switch t.anchor {
                case .start: break
                case .middle: out += " text-anchor=\"middle\""
                case .end: out += " text-anchor=\"end\""
                }
                if t.vertical { out += " transform=\"rotate(-90 \(num(t.x)) \(num(t.y)))\"" }
                out += ">\(escape(t.text))</text>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    private static func writeCells(_ grid: CellGrid, into out: inout String) {
        let h = grid.source
        let rowName = h.yLabel.isEmpty ? "row" : singleLine(h.yLabel)
        let colName = h.xLabel.isEmpty ? "column" : singleLine(h.xLabel)
        let panel = h.title.isEmpty ? "" : singleLine(h.title) + "\n"
        out += "<g shape-rendering=\"crispEdges\">\n"
        for r in 0..<grid.rows {
            for c in 0..<grid.cols {
                let tip = "\(panel)\(rowName): \(singleLine(h.rowLabel(r)))\n\(colName): \(singleLine(h.colLabel(c)))\n"
                    + "value: \(NumberFormat.compact(Double(h.value(r, c))))"
                out += "<rect x=\"\(grid.x + c * grid.cellWidth)\" y=\"\(grid.y + r * grid.cellHeight)\" "
                out += "width=\"\(grid.cellWidth)\" height=\"\(grid.cellHeight)\" fill=\"\(grid.colors[r * grid.cols + c].hexString)\">"
                out += "<title>\(escape(tip))</title></rect>\n"
            }
        }
        out += "</g>\n"
    }

    /// Coordinates with at most two decimals and no trailing zeros.
    private static func num(_ v: Double) -> String {
        let rounded = (v * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }

    /// Text content and attribute values: the five XML special characters, and control
    /// characters (not allowed in XML 1.0) dropped.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            default:
                if scalar.value < 0x20 && scalar.value != 0x09 { continue }
                if (0xFFFE...0xFFFF).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
