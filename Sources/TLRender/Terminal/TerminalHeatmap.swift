// Heatmaps in a terminal: each text line shows two data rows with the upper half block "▀"
// (foreground = upper row's colour, background = lower row's), row labels at the left, a key to
// the column labels below, and a one-line colour legend. Without colour: a grid of numbers.
import Foundation

enum TerminalHeatmap {
    static let maxLabelWidth = 16

    static func render(_ figure: Figure, mode: TerminalColorMode, maxWidth: Int) -> String {
        let scale = ResolvedScale(figure.panels[0].scale, data: figure.panels.map(\.values))
        var out: [String] = []
        if !figure.title.isEmpty { out.append(truncateToDisplayWidth(singleLine(figure.title), max(1, maxWidth))) }
        if mode == .none {
            for panel in figure.panels { out.append(contentsOf: numberGrid(panel, showTitle: figure.panels.count > 1)) }
            return out.joined(separator: "\n") + "\n"
        }
        var panels = figure.panels
        let sharedY = panels.allSatisfy { $0.rows == panels[0].rows && $0.rowLabels == panels[0].rowLabels }
        let labelWidth = panels.map { p in (0..<(p.rows + 1) / 2).map { displayWidth(lineLabel(p, $0)) }.max() ?? 0 }.max() ?? 0
        // More columns than the terminal is wide: show the leading ones and say so.
        let fullCols = panels.map(\.cols).max() ?? 1
        let room = max(1, maxWidth - labelWidth - 1)
        if fullCols > room { panels = panels.map { leadingColumns($0, room) } }
        let maxCols = panels.map(\.cols).max() ?? 1
        let perRow = min(panels.count, 4)
        // Two characters per cell when that still fits the panels side by side, else one.
        var cellWidth = 2 * maxCols + labelWidth + 3 <= max(1, maxWidth / perRow) ? 2 : 1
        if panels.count == 1 { cellWidth = max(1, min(4, (maxWidth - labelWidth - 1) / maxCols)) }
        let blockWidth = labelWidth + 1 + maxCols * cellWidth
        let labelledWidth = blockWidth, bareWidth = maxCols * cellWidth
        let gap = 2

        // Pack panels into rows of blocks that fit maxWidth.
        var index = 0
        while index < panels.count {
            var blocks: [[String]] = [], widths: [Int] = []
            var used = 0
            while index < panels.count {
                let labelled = !sharedY || blocks.isEmpty
                let w = labelled ? labelledWidth : bareWidth
                if !blocks.isEmpty && used + gap + w > maxWidth { break }
                blocks.append(panelLines(panels[index], scale: scale, mode: mode, cellWidth: cellWidth, blockCols: maxCols,
                                         labelWidth: labelled ? labelWidth : nil, multi: panels.count > 1))
                widths.append(w); used += (blocks.count > 1 ? gap : 0) + w
                index += 1
            }
            let height = blocks.map(\.count).max() ?? 0
            for line in 0..<height {
                var text = ""
                for (b, block) in blocks.enumerated() {
                    if b > 0 { text += String(repeating: " ", count: gap) }
                    text += line < block.count ? block[line] : String(repeating: " ", count: widths[b])
                }
                out.append(rstrip(text))
            }
        }
        if fullCols > maxCols {
            out.append("(columns 0…\(maxCols - 1) of \(fullCols) shown; save as PNG or SVG for all of them)")
        }
        if panels.count == 1, let ruler = columnRuler(panels[0], labelWidth: labelWidth, cellWidth: cellWidth, maxWidth: maxWidth) {
            out.append(ruler)
        }
        out.append(contentsOf: columnKey(panels[0], maxWidth: maxWidth))
        out.append(legend(scale, mode: mode, hasNaN: panels.contains { $0.values.contains(where: \.isNaN) }, maxWidth: maxWidth))
        return out.joined(separator: "\n") + "\n"
    }

    /// The first `count` columns of `p`.
    private static func leadingColumns(_ p: Heatmap, _ count: Int) -> Heatmap {
        guard p.cols > count else { return p }
        var sliced = p
        sliced.values = (0..<p.rows).flatMap { r in p.values[(r * p.cols)..<(r * p.cols + count)] }
        sliced.cols = count
        if !p.colLabels.isEmpty { sliced.colLabels = Array(p.colLabels.prefix(count)) }
        return sliced
    }

    /// Label of text line `line`, which shows rows 2·line and 2·line+1.
    private static func lineLabel(_ p: Heatmap, _ line: Int) -> String {
        let top = truncateToDisplayWidth(singleLine(p.rowLabel(2 * line)), 7)
        guard 2 * line + 1 < p.rows else { return top }
        return top + "/" + truncateToDisplayWidth(singleLine(p.rowLabel(2 * line + 1)), 7)
    }

    /// Lines of one panel, each exactly `labelWidth + 1 + cols·cellWidth` columns wide (escape
    /// sequences aside): optional title line, then the half-block rows.
    private static func panelLines(_ p: Heatmap, scale: ResolvedScale, mode: TerminalColorMode,
                                   cellWidth: Int, blockCols: Int, labelWidth: Int?, multi: Bool) -> [String] {
        let width = (labelWidth.map { $0 + 1 } ?? 0) + blockCols * cellWidth
        var lines: [String] = []
        if multi {
            // The panel title sits over the cells, not over the row labels.
            let indent = labelWidth.map { $0 + 1 } ?? 0
            let title = truncateToDisplayWidth(singleLine(p.title), blockCols * cellWidth)
            lines.append(pad(String(repeating: " ", count: indent) + title, to: width))
        }
        for line in 0..<(p.rows + 1) / 2 {
            var text = labelWidth.map { pad(lineLabel(p, line), to: $0, alignRight: true) + " " } ?? ""
            var lastFg: RGB?, lastBg: RGB?, bgIsDefault = false
            for c in 0..<p.cols {
                let top = scale.color(p.value(2 * line, c))
                if lastFg != top { text += ANSI.foreground(top, mode); lastFg = top }
                if 2 * line + 1 < p.rows {
                    let bottom = scale.color(p.value(2 * line + 1, c))
                    if lastBg != bottom || bgIsDefault { text += ANSI.background(bottom, mode); lastBg = bottom; bgIsDefault = false }
                } else if !bgIsDefault {
                    text += ANSI.defaultBackground; bgIsDefault = true; lastBg = nil
                }
                text += String(repeating: "▀", count: cellWidth)
            }
            text += ANSI.reset + String(repeating: " ", count: (blockCols - p.cols) * cellWidth)
            lines.append(text)
        }
        return lines
    }

    /// Column indices under the cells, so the key below can be read against the picture:
    /// every column when the cells are wide enough, else every 5th.
    private static func columnRuler(_ p: Heatmap, labelWidth: Int, cellWidth: Int, maxWidth: Int) -> String? {
        var line = String(repeating: " ", count: labelWidth + 1)
        let every = cellWidth >= 3 || (cellWidth == 2 && p.cols <= 10) ? 1 : 5
        var c = 0
        while c < p.cols {
            let index = String(c)
            let room = every * cellWidth
            if line.count + index.count > maxWidth { break }
            line += index.count < room ? pad(index, to: room) : String(repeating: " ", count: room)
            c += every
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line.trimmingCharacters(in: .whitespaces).isEmpty ? nil : line
    }

    /// "x: 0 <|endoftext|> · 1 The · …", wrapped, at most four lines.
    private static func columnKey(_ p: Heatmap, maxWidth: Int) -> [String] {
        let name = p.xLabel.isEmpty ? "columns" : singleLine(p.xLabel)
        guard !p.colLabels.isEmpty else { return ["\(name): 0…\(p.cols - 1) left to right"] }
        let indent = String(repeating: " ", count: displayWidth(name) + 1)
        var lines: [String] = [], current = "\(name):", entries = 0
        for c in 0..<p.cols {
            let entry = "  \(c):" + truncateToDisplayWidth(singleLine(p.colLabels[c]), 20)
            if entries > 0 && displayWidth(current) + displayWidth(entry) > maxWidth {
                lines.append(current)
                if lines.count == 4 { lines[3] = truncateToDisplayWidth(lines[3] + " …", maxWidth); return lines }
                current = indent + entry
            } else {
                current += entry
            }
            entries += 1
        }
        lines.append(current)
        return lines
    }

    /// "-2.3 ████████████████████████ 2.3  (blue < 0 < red)", shortened to fit `maxWidth`.
    private static func legend(_ scale: ResolvedScale, mode: TerminalColorMode, hasNaN: Bool, maxWidth: Int) -> String {
        let low = NumberFormat.compact(scale.low), high = NumberFormat.compact(scale.high)
        var hint = scale.isDiverging ? "  (blue < 0 < red)" : "  (viridis)"
        if hasNaN { hint += "  █ = NaN" }
        let fixed = displayWidth(low) + displayWidth(high) + 2
        if fixed + 8 + displayWidth(hint) > maxWidth { hint = "" }
        let steps = max(4, min(24, maxWidth - fixed - displayWidth(hint)))
        var text = low + " "
        for i in 0..<steps {
            text += ANSI.foreground(scale.map.color(at: Double(i) / Double(steps - 1)), mode) + "█"
        }
        text += ANSI.reset + " " + high
        if hasNaN, !hint.isEmpty {
            hint = hint.replacingOccurrences(of: "█ = NaN", with: ANSI.foreground(.missing, mode) + "█" + ANSI.reset + " = NaN")
        }
        return text + hint
    }

    /// Plain-text fallback: row labels, column labels, numbers with a shared number of decimals.
    static func numberGrid(_ p: Heatmap, showTitle: Bool) -> [String] {
        let maxAbs = p.values.filter(\.isFinite).map { abs(Double($0)) }.max() ?? 0
        let decimals = NumberFormat.columnDecimals(maxAbs: maxAbs)
        var columns = [Table.Column(name: p.yLabel.isEmpty ? "" : singleLine(p.yLabel), alignment: .left)]
        for c in 0..<p.cols {
            columns.append(Table.Column(name: truncateToDisplayWidth(singleLine(p.colLabel(c)), 12), alignment: .right,
                                        decimals: decimals))
        }
        let rows: [[Table.Cell]] = (0..<p.rows).map { r in
            [.text(singleLine(p.rowLabel(r)))] + (0..<p.cols).map { .float(Double(p.value(r, $0))) }
        }
        let table = Table(title: showTitle && !p.title.isEmpty ? singleLine(p.title) : nil, columns: columns, rows: rows)
        return table.renderLines(style: .plain)
    }

    private static func rstrip(_ s: String) -> String {
        var s = s
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
