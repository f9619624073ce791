// Bar and line charts in a terminal: horizontal bars with eighth-block precision around a zero
// axis, and one sparkline per series.

enum TerminalCharts {
    static let eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    static let sparks = Array("▁▂▃▄▅▆▇█")

    static func render(_ chart: BarChart, mode: TerminalColorMode, maxWidth: Int) -> String {
        var out: [String] = []
        if !chart.title.isEmpty { out.append(truncateToDisplayWidth(singleLine(chart.title), max(1, maxWidth))) }
        let labels = (0..<chart.values.count).map { truncateToDisplayWidth(singleLine(chart.label($0)), 16) }
        let format = NumberFormat.shared(chart.values)
        let texts = chart.values.map { format(Double($0)) }
        let labelWidth = labels.map(displayWidth).max() ?? 0
        let valueWidth = texts.map(displayWidth).max() ?? 0
        let area = max(10, maxWidth - labelWidth - valueWidth - 4)
        let finite = chart.values.filter(\.isFinite).map { Double($0) }
        let low = min(0, finite.min() ?? 0), high = max(0, finite.max() ?? 0)
        let span = high - low > 0 ? high - low : 1
        let left = Int((Double(area) * (-low) / span).rounded())  // columns for negative bars
        let right = area - left
        for (i, v) in chart.values.enumerated() {
            var line = pad(labels[i], to: labelWidth, alignRight: true) + " "
            let d = Double(v)
            if !d.isFinite {
                line += String(repeating: " ", count: left) + "│" + String(repeating: " ", count: right)
            } else if d >= 0 {
                let eighthsLong = Int((d / span * Double(area) * 8).rounded())
                let bar = String(repeating: "█", count: eighthsLong / 8) + eighths[eighthsLong % 8]
                line += String(repeating: " ", count: left) + "│" + ANSI.foreground(Style.positiveBar, mode) + bar
                    + (mode == .none ? "" : ANSI.reset) + String(repeating: " ", count: max(0, right - displayWidth(bar)))
            } else {
                // Left-growing bars have no eighth blocks; a right half block rounds the end.
                let halves = Int((-d / span * Double(area) * 2).rounded())
                let bar = (halves % 2 == 1 ? "▐" : "") + String(repeating: "█", count: halves / 2)
                line += String(repeating: " ", count: max(0, left - displayWidth(bar))) + ANSI.foreground(Style.negativeBar, mode)
                    + bar + (mode == .none ? "" : ANSI.reset) + "│" + String(repeating: " ", count: right)
            }
            line += " " + pad(texts[i], to: valueWidth, alignRight: true)
            out.append(line)
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func render(_ chart: LineChart, mode: TerminalColorMode, maxWidth: Int) -> String {
        var out: [String] = []
        if !chart.title.isEmpty { out.append(truncateToDisplayWidth(singleLine(chart.title), max(1, maxWidth))) }
        func transformed(_ v: Float) -> Double? {
            guard v.isFinite else { return nil }
            if chart.logScale { return v > 0 ? log10(Double(v)) : nil }
            return Double(v)
        }
        let all = chart.series.flatMap { $0.values.compactMap(transformed) }
        let low = all.min() ?? 0, high = all.max() ?? 1
        let names = chart.series.map { truncateToDisplayWidth(singleLine($0.name), 20) }
        let nameWidth = names.map(displayWidth).max() ?? 0
        for (s, series) in chart.series.enumerated() {
            var line = pad(names[s], to: nameWidth) + " " + ANSI.foreground(Style.palette[s % Style.palette.count], mode)
            for v in series.values {
                guard let t = transformed(v) else { line += " "; continue }
                let level = high > low ? Int(((t - low) / (high - low) * 7).rounded()) : 3
                line.append(sparks[min(7, max(0, level))])
            }
            if mode != .none { line += ANSI.reset }
            let finite = series.values.filter(\.isFinite)
            if let first = finite.first, let last = finite.last, let lo = finite.min(), let hi = finite.max() {
                line += "  \(NumberFormat.compact(Double(first))) → \(NumberFormat.compact(Double(last)))"
                    + "  (min \(NumberFormat.compact(Double(lo))), max \(NumberFormat.compact(Double(hi))))"
            }
            out.append(line)
        }
        let axis = chart.xLabel.isEmpty ? "x" : singleLine(chart.xLabel)
        let first = singleLine(chart.xLabel(0)), last = singleLine(chart.xLabel(chart.count - 1))
        out.append(truncateToDisplayWidth(String(repeating: " ", count: nameWidth + 1) + "\(axis): \(first) … \(last)"
            + (chart.logScale ? ", log scale" : ""), max(1, maxWidth)))
        return out.joined(separator: "\n") + "\n"
    }
}

import Foundation
