// Text tables: Unicode box drawing for terminals, aligned plain text or Markdown when piped,
// HTML for notebooks. Columns align on display width (CJK and emoji are two columns wide).

/// How a table is drawn.
public enum TableStyle: Sendable, Equatable {
    /// Unicode box drawing (┌─┬─┐), for terminals.
    case box
    /// Space-aligned columns under a dashed header rule, for pipes and logs.
    case plain
    /// A GitHub-flavoured Markdown table.
    case markdown
    /// An HTML `<table>` for notebooks.
    case html
}

/// A titled table of text and numbers.
public struct Table: Sendable, Equatable {
    public enum Alignment: Sendable, Equatable { case left, right, center }

    /// A column heading with its alignment; numbers default to right-aligned.
    public struct Column: Sendable, Equatable {
        public var name: String
        /// nil: right for columns of numbers, left otherwise.
        public var alignment: Alignment?
        /// Decimals for float cells; nil picks about 4 significant digits for the column's
        /// largest magnitude (scientific notation for very large or tiny values).
        public var decimals: Int?
        public init(name: String, alignment: Alignment? = nil, decimals: Int? = nil) {
            self.name = name; self.alignment = alignment; self.decimals = decimals
        }
    }

    /// One cell. `.token` shows a token string with visible whitespace.
    public enum Cell: Sendable, Equatable {
        case text(String)
        case token(String)
        case int(Int)
        case float(Double)
        case empty
    }

    public var title: String?
    public var columns: [Column]
    public var rows: [[Cell]]

    public init(title: String? = nil, columns: [Column], rows: [[Cell]]) {
        self.title = title; self.columns = columns; self.rows = rows
    }

    /// Convenience: column names only, alignment and decimals chosen automatically.
    public init(title: String? = nil, columns: [String], rows: [[Cell]]) {
        self.init(title: title, columns: columns.map { Column(name: $0) }, rows: rows)
    }

    /// Throws when a row has a different number of cells than there are columns.
    public func validate() throws {
        for (i, row) in rows.enumerated() where row.count != columns.count {
            throw TLRenderError.rowWidth(row: i, expected: columns.count, got: row.count)
        }
    }

    /// The table as text (a trailing newline included for text styles).
    public func render(style: TableStyle) throws -> String {
        try validate()
        if style == .html { return html() }
        return renderLines(style: style).joined(separator: "\n") + "\n"
    }

    /// The table in a text style no wider than `maxWidth` columns where it can be: a table too
    /// wide for the terminal is split into several, each repeating the first column (the row
    /// labels), instead of wrapping into fragments. HTML and Markdown ignore `maxWidth`.
    public func render(style: TableStyle, maxWidth: Int?) throws -> String {
        let whole = try render(style: style)
        guard let maxWidth, style == .box || style == .plain, columns.count > 2 else { return whole }
        let widest = whole.split(separator: "\n").map { displayWidth(String($0)) }.max() ?? 0
        guard widest > maxWidth else { return whole }
        let (cells, _) = formatted()
        let widths = columns.indices.map { c in
            ([displayWidth(singleLine(columns[c].name))] + cells.map { c < $0.count ? displayWidth($0[c]) : 0 }).max() ?? 0
        }
        // Box: "│ " + cells joined by " │ " + " │"; plain: cells joined by two spaces.
        let edge = style == .box ? 4 : 0, gap = style == .box ? 3 : 2
        var groups: [[Int]] = [[0]]
        var used = edge + widths[0]
        for c in 1..<columns.count {
            if groups[groups.count - 1].count > 1 && used + gap + widths[c] > maxWidth {
                groups.append([0])
                used = edge + widths[0]
            }
            groups[groups.count - 1].append(c)
            used += gap + widths[c]
        }
        guard groups.count > 1 else { return whole }
        return try groups.enumerated().map { i, group in
            // Later parts follow the first at once: a short title, so it fits a narrow terminal too.
            let name = i == 0 ? title : "(continued, \(i + 1) of \(groups.count))"
            let part = Table(title: name, columns: group.map { columns[$0] },
                             rows: rows.map { row in group.map { $0 < row.count ? row[$0] : .empty } })
            return try part.render(style: style)
        }.joined()
    }

    // MARK: formatting

    /// Cell strings, column by column decimals applied, and each column's alignment.
    func formatted() -> (cells: [[String]], alignments: [Alignment]) {
        var decimals: [Int?] = []
        var alignments: [Alignment] = []
        for (c, column) in columns.enumerated() {
            let floats = rows.compactMap { row -> Double? in
                if c < row.count, case .float(let v) = row[c], v.isFinite { return abs(v) }
                return nil
            }
            decimals.append(column.decimals ?? NumberFormat.columnDecimals(maxAbs: floats.max() ?? 0))
            let numeric = rows.contains { row in
                guard c < row.count else { return false }
                switch row[c] { case .int, .float: return true; default: return false }
            }
            alignments.append(column.alignment ?? (numeric ? .right : .left))
        }
        let cells = rows.map { row in
            row.enumerated().map { c, cell -> String in
                switch cell {
                case .text(let s): return singleLine(s)
                case .token(let s): return visibleToken(s)
                case .int(let v): return String(v)
                case .float(let v): return NumberFormat.fixed(v, decimals: c < decimals.count ? decimals[c] : 4)
                case .empty: return ""
                }
            }
        }
        return (cells, alignments)
    }

    /// Text styles as lines (no trailing newline); internal so the terminal heatmap can reuse it.
    func renderLines(style: TableStyle) -> [String] {
        let (cells, alignments) = formatted()
        let header = columns.map { singleLine($0.name) }
        var widths = header.map(displayWidth)
        for row in cells {
            for (c, s) in row.enumerated() where c < widths.count { widths[c] = max(widths[c], displayWidth(s)) }
        }
        func aligned(_ s: String, _ c: Int) -> String {
            let fill = max(0, widths[c] - displayWidth(s))
            switch alignments[c] {
            case .left: return s + String(repeating: " ", count: fill)
            case .right: return String(repeating: " ", count: fill) + s
            case .center:
                return String(repeating: " ", count: fill / 2) + s + String(repeating: " ", count: fill - fill / 2)
            }
        }
        func cellsOf(_ row: [String]) -> [String] { (0..<columns.count).map { aligned($0 < row.count ? row[$0] : "", $0) } }

        var lines: [String] = []
        switch style {
        case .box:
            if let title, !title.isEmpty { lines.append(singleLine(title)) }
            func rule(_ l: String, _ m: String, _ r: String) -> String {
                l + widths.map { String(repeating: "─", count: $0 + 2) }.joined(separator: m) + r
            }
            lines.append(rule("┌", "┬", "┐"))
            lines.append("│ " + cellsOf(header).joined(separator: " │ ") + " │")
            lines.append(rule("├", "┼", "┤"))
            for row in cells { lines.append("│ " + cellsOf(row).joined(separator: " │ ") + " │") }
            lines.append(rule("└", "┴", "┘"))
        case .plain:
            if let title, !title.isEmpty { lines.append(singleLine(title)) }
            func line(_ parts: [String]) -> String {
                var s = parts.joined(separator: "  ")
                while s.hasSuffix(" ") { s.removeLast() }
                return s
            }
            lines.append(line(cellsOf(header)))
            lines.append(line(widths.map { String(repeating: "-", count: $0) }))
            for row in cells { lines.append(line(cellsOf(row))) }
        case .markdown, .html:
            if let title, !title.isEmpty { lines.append("**\(markdownEscape(singleLine(title)))**"); lines.append("") }
            func escapedCells(_ row: [String]) -> [String] {
                (0..<columns.count).map { c in
                    let s = markdownEscape(c < row.count ? row[c] : "")
                    let fill = max(0, widths[c] + extraWidth(c) - displayWidth(s))
                    return alignments[c] == .right ? String(repeating: " ", count: fill) + s : s + String(repeating: " ", count: fill)
                }
            }
            // Escaping may lengthen a cell; widen the column by the most it grew.
            func extraWidth(_ c: Int) -> Int {
                ([header] + cells).map { row in c < row.count ? displayWidth(markdownEscape(row[c])) - displayWidth(row[c]) : 0 }.max() ?? 0
            }
            lines.append("| " + escapedCells(header).joined(separator: " | ") + " |")
            lines.append("|" + (0..<columns.count).map { c -> String in
                let dashes = String(repeating: "-", count: max(3, widths[c] + extraWidth(c)))
                switch alignments[c] {
                case .left: return " " + dashes + " "
                case .right: return " " + dashes.dropLast() + ": "
                case .center: return " :" + dashes.dropFirst().dropLast() + ": "
                }
            }.joined(separator: "|") + "|")
            for row in cells { lines.append("| " + escapedCells(row).joined(separator: " | ") + " |") }
        }
        return lines
    }

    private func markdownEscape(_ s: String) -> String {
        var out = ""
        for ch in s {
            if ch == "|" || ch == "\\" || ch == "`" || ch == "*" || ch == "_" { out.append("\\") }
            out.append(ch)
        }
        return out
    }

    private func html() -> String {
        let (cells, alignments) = formatted()
        // Every cell says its alignment: notebook styles right-align table cells by default, which
        // put tokens and hook names on the right.
        func style(_ c: Int) -> String {
            switch alignments[c] {
            case .left: return " style=\"text-align:left\""
            case .right: return " style=\"text-align:right\""
            case .center: return " style=\"text-align:center\""
            }
        }
        var out = "<table>\n"
        if let title, !title.isEmpty {
            // A caption is as wide as the table; a title longer than a narrow table must not wrap.
            out += "<caption style=\"white-space:nowrap;text-align:left\">\(SVGWriter.escape(singleLine(title)))</caption>\n"
        }
        out += "<thead><tr>" + columns.enumerated().map { c, col in "<th\(style(c))>\(SVGWriter.escape(singleLine(col.name)))</th>" }.joined() + "</tr></thead>\n"
        out += "<tbody>\n"
        for row in cells {
            out += "<tr>" + row.enumerated().map { c, s in "<td\(style(c))>\(SVGWriter.escape(s))</td>" }.joined() + "</tr>\n"
        }
        out += "</tbody>\n</table>\n"
        return out
    }
}
