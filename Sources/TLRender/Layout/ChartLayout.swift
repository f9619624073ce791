// Bar and line charts: title, a plot area with horizontal grid lines at round y values, category
// labels along x (rotated when long), axis titles; a legend at the right for line charts.
import Foundation

enum ChartLayout {
    static let plotHeight = 300

    /// The plot rectangle and its y mapping (data value → pixel row).
    private struct Plot {
        var x: Int, y: Int, width: Int, height: Int
        var low: Double, high: Double
        func py(_ v: Double) -> Double { Double(y) + (high - v) / (high - low) * Double(height) }
    }

    // MARK: bars

    static func scene(_ chart: BarChart, fonts: FontSet) -> Scene {
        let n = chart.values.count
        let finite = chart.values.filter(\.isFinite).map(Double.init)
        let (ticks, step) = NiceTicks.covering(min(0, finite.min() ?? 0), max(0, finite.max() ?? 1))
        let slot = max(240.0 / Double(n), min(56, max(6, 720.0 / Double(n))))
        let labels = (0..<n).map(chart.label)
        let xPlan = XLabelPlan(labels: labels, spacing: slot, fonts: fonts)
        var scene = Scene(width: 0, height: 0)
        let plot = frame(title: chart.title, yTitle: chart.yLabel, ticks: ticks, step: step,
                         plotWidth: Int((slot * Double(n)).rounded()), fonts: fonts, scene: &scene, logLabels: false)

        let zero = plot.py(0)
        let barWidth = min(slot * 0.72, 44)
        let showValues = n <= 16 && slot >= 30
        let format = NumberFormat.shared(chart.values)
        for (i, v) in chart.values.enumerated() where v.isFinite {
            let centre = Double(plot.x) + (Double(i) + 0.5) * slot
            let top = Int(min(zero, plot.py(Double(v))).rounded()), bottom = Int(max(zero, plot.py(Double(v))).rounded())
            scene.add(.rect(x: Int((centre - barWidth / 2).rounded()), y: top, width: Int(barWidth.rounded()),
                            height: max(1, bottom - top), fill: v >= 0 ? Style.positiveBar : Style.negativeBar,
                            tooltip: "\(singleLine(labels[i])): \(NumberFormat.compact(Double(v)))"))
            if showValues {
                let text = format(Double(v))
                let y = v >= 0 ? Double(top) - 3 : Double(bottom) + 3 + Double(Style.tickSize - 1)
                scene.text(TextItem(text: text, x: centre, y: y, size: Style.tickSize - 1, color: .mutedText, anchor: .middle))
            }
        }
        scene.add(.line(x1: Double(plot.x), y1: zero, x2: Double(plot.x + plot.width), y2: zero, color: .axis, width: 1))
        xPlan.emit(into: &scene, top: Double(plot.y + plot.height)) { Double(plot.x) + (Double($0) + 0.5) * slot }
        finish(&scene, plot: plot, labelDepth: xPlan.depth, xTitle: chart.xLabel, rightExtra: 0, title: chart.title, fonts: fonts)
        return scene
    }

    // MARK: lines

    static func scene(_ chart: LineChart, fonts: FontSet) -> Scene {
        let n = chart.count
        func transformed(_ v: Float) -> Double? {
            guard v.isFinite else { return nil }
            if chart.logScale { return v > 0 ? log10(Double(v)) : nil }
            return Double(v)
        }
        let all = chart.series.flatMap { $0.values.compactMap(transformed) }
        var ticks: [Double], step: Double
        if chart.logScale {
            let lo = (all.min() ?? 0).rounded(.down), hi = max(lo + 1, (all.max() ?? 1).rounded(.up))
            let stride = max(1.0, ((hi - lo) / 6).rounded(.up))
            ticks = Array(Swift.stride(from: lo, through: hi + stride - 1, by: stride))
            step = stride
        } else {
            (ticks, step) = NiceTicks.covering(all.min() ?? 0, all.max() ?? 1)
        }
        let spacing = n > 1 ? min(80, max(16, 720.0 / Double(n - 1))) : 80
        let pad = 14.0
        let plotWidth = max(300, Int((spacing * Double(max(1, n - 1)) + 2 * pad).rounded()))
        let xStep = n > 1 ? (Double(plotWidth) - 2 * pad) / Double(n - 1) : 0
        // Numeric x positions (when given) map their range onto the same span as the even steps.
        let offsets: [Double] = {
            guard n > 1, chart.xPositions.count == n, let lo = chart.xPositions.first, let hi = chart.xPositions.last, hi > lo else {
                return (0..<n).map { Double($0) * xStep }
            }
            return chart.xPositions.map { ($0 - lo) / (hi - lo) * (Double(plotWidth) - 2 * pad) }
        }()
        let closest = zip(offsets, offsets.dropFirst()).map { $1 - $0 }.min() ?? 80
        let xPlan = XLabelPlan(labels: (0..<n).map(chart.xLabel), spacing: n > 1 ? closest : 80, fonts: fonts)
        var scene = Scene(width: 0, height: 0)
        let plot = frame(title: chart.title, yTitle: chart.yLabel, ticks: ticks, step: step, plotWidth: plotWidth,
                         fonts: fonts, scene: &scene, logLabels: chart.logScale)
        func px(_ i: Int) -> Double { n > 1 ? Double(plot.x) + pad + offsets[i] : Double(plot.x) + Double(plotWidth) / 2 }

        var legendWidth = 0
        for (s, series) in chart.series.enumerated() {
            let color = Style.palette[s % Style.palette.count]
            let points: [(Double, Double)?] = series.values.enumerated().map { i, v in transformed(v).map { (px(i), plot.py($0)) } }
            scene.add(.polyline(points: points, color: color, width: 2))
            for (i, p) in points.enumerated() {
                guard let p else { continue }
                let tip = "\(singleLine(series.name))\n\(chart.xLabel.isEmpty ? "x" : singleLine(chart.xLabel)): "
                    + "\(singleLine(chart.xLabel(i)))\nvalue: \(NumberFormat.compact(Double(series.values[i])))"
                scene.add(.circle(cx: p.0, cy: p.1, radius: 3, fill: color, tooltip: tip))
            }
            // Legend entry: a line sample and the series name, stacked at the right of the plot.
            let ly = Double(plot.y + 8 + s * 18)
            let lx = Double(plot.x + plot.width + 14)
            scene.add(.line(x1: lx, y1: ly, x2: lx + 18, y2: ly, color: color, width: 2))
            let name = fonts.fit(singleLine(series.name), size: Style.tickSize, maxWidth: 200)
            scene.text(TextItem(text: name, x: lx + 24, y: ly + centringOffset(Style.tickSize), size: Style.tickSize))
            legendWidth = max(legendWidth, 14 + 24 + Int(fonts.measure(name, size: Style.tickSize).rounded(.up)))
        }
        xPlan.emit(into: &scene, top: Double(plot.y + plot.height)) { px($0) }
        finish(&scene, plot: plot, labelDepth: xPlan.depth, xTitle: chart.xLabel, rightExtra: legendWidth,
               title: chart.title, fonts: fonts)
        return scene
    }

    // MARK: shared frame

    /// Places the plot rectangle after the y tick labels and y title, and draws grid lines,
    /// tick labels and the y title.
    private static func frame(title: String, yTitle: String, ticks: [Double], step: Double, plotWidth: Int,
                              fonts: FontSet, scene: inout Scene, logLabels: Bool) -> Plot {
        let labels = ticks.map { t -> String in
            guard logLabels else { return NumberFormat.tick(t, step: step) }
            let e = Int(t.rounded())
            return (0...5).contains(e) ? String(Int(pow(10, Double(e)))) : "1e\(e)"
        }
        let labelWidth = Int((labels.map { fonts.measure($0, size: Style.tickSize) }.max() ?? 0).rounded(.up)) + 8
        let yTitleWidth = yTitle.isEmpty ? 0 : Style.axisTitleSize + 8
        let titleH = title.isEmpty ? 0 : Style.titleSize + 14
        let plot = Plot(x: Style.margin + yTitleWidth + labelWidth, y: Style.margin + titleH + 4, width: plotWidth,
                        height: plotHeight, low: ticks.first ?? 0, high: max((ticks.last ?? 1), (ticks.first ?? 0) + 1e-12))
        for (t, label) in zip(ticks, labels) {
            let y = plot.py(t).rounded() + 0.5
            scene.add(.line(x1: Double(plot.x), y1: y, x2: Double(plot.x + plot.width), y2: y, color: .grid, width: 1))
            scene.text(TextItem(text: label, x: Double(plot.x - 6), y: y + centringOffset(Style.tickSize),
                                size: Style.tickSize, color: .text, anchor: .end))
        }
        scene.add(.line(x1: Double(plot.x) - 0.5, y1: Double(plot.y), x2: Double(plot.x) - 0.5,
                        y2: Double(plot.y + plot.height), color: .axis, width: 1))
        if !yTitle.isEmpty {
            scene.text(TextItem(text: singleLine(yTitle), x: Double(Style.margin + Style.axisTitleSize),
                                y: Double(plot.y) + Double(plot.height) / 2, size: Style.axisTitleSize,
                                color: .text, anchor: .middle, vertical: true))
        }
        return plot
    }

    /// x title, figure title and the final size.
    private static func finish(_ scene: inout Scene, plot: Plot, labelDepth: Int, xTitle: String, rightExtra: Int,
                               title: String, fonts: FontSet) {
        var bottom = plot.y + plot.height + labelDepth
        if !xTitle.isEmpty {
            bottom += 4 + Style.axisTitleSize
            scene.text(TextItem(text: singleLine(xTitle), x: Double(plot.x) + Double(plot.width) / 2, y: Double(bottom),
                                size: Style.axisTitleSize, color: .text, anchor: .middle))
        }
        var width = plot.x + plot.width + rightExtra + Style.margin
        if !title.isEmpty {
            let titleWidth = Int(fonts.measure(singleLine(title), size: Style.titleSize).rounded(.up))
            width = max(width, min(titleWidth + 2 * Style.margin, 1400))
            let t = fonts.fit(singleLine(title), size: Style.titleSize, maxWidth: Double(width - 2 * Style.margin))
            scene.text(TextItem(text: t, x: Double(width) / 2, y: Double(Style.margin + Style.titleSize),
                                size: Style.titleSize, color: .black, anchor: .middle))
        }
        scene.title = title
        scene.width = width
        scene.height = bottom + Style.margin
    }
}
