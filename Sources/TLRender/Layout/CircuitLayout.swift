// A circuit as a layered graph: one row per place in the residual stream (embeddings at the
// bottom, logits at the top, as circuit diagrams are usually drawn), row labels at the left,
// node boxes centred in their row, and edges as straight lines from the top of the sender's box
// to the bottom of the receiver's. A line's width and colour depth grow with |score|; red is a
// positive score (the edge carries the clean behaviour), blue a negative one. Each line has a dot
// at its midpoint whose tooltip names the edge and its score (SVG <title>, notebook hover).
import Foundation

enum CircuitLayout {
    static let boxHeight = 24
    static let rowPitch = 78
    static let boxGap = 14
    static let labelSize = 11
    static let nodeFill = RGB(hex: 0xf3f3f3)
    static let nodeBorder = RGB(hex: 0x555555)
    static let faintEdge = RGB(hex: 0xdddddd)
    static let maxLineWidth = 6.0

    struct Placed {
        var scene: Scene
        var geometry: CircuitGeometry
    }

    /// Where a line enters a box: q, k and v at a quarter, half and three quarters of its width.
    static func entry(_ channel: String?) -> Double {
        switch channel {
        case "q": return 0.25
        case "v": return 0.75
        default: return 0.5
        }
    }

    static func colour(_ score: Float, maxAbs: Float) -> RGB {
        let t = score.isFinite ? Double(min(1, abs(score) / maxAbs)) : 0
        return faintEdge.mixed(with: score >= 0 ? Style.positiveBar : Style.negativeBar, 0.3 + 0.7 * t)
    }

    static func lineWidth(_ score: Float, maxAbs: Float) -> Double {
        let t = score.isFinite ? Double(min(1, abs(score) / maxAbs)) : 0
        return 1 + (maxLineWidth - 1) * t
    }

    /// How far an edge that spans `span` rows bows out from the straight line, in pixels.
    static func bulge(span: Int) -> Double { span <= 1 ? 0 : 26 + 16 * Double(span - 2) }

    /// The legend's samples (a score) and note (nil score), with x offsets from its left end.
    static func legendEntries(maxAbs: Float, fonts: FontSet) -> (entries: [(x: Double, score: Float?, label: String)], width: Double) {
        var entries: [(x: Double, score: Float?, label: String)] = []
        var x = 0.0
        for (score, label) in [(maxAbs, "+" + NumberFormat.compact(Double(maxAbs))), (-maxAbs, "−" + NumberFormat.compact(Double(maxAbs))),
                               (maxAbs / 4, "+" + NumberFormat.compact(Double(maxAbs / 4)))] {
            entries.append((x, score, label))
            x += 30 + fonts.measure(label, size: Style.tickSize) + 18
        }
        let note = "edge score (red: carries the clean behaviour; blue: opposes it)"
        entries.append((x, nil, note))
        return (entries, x + fonts.measure(note, size: Style.tickSize))
    }

    static func place(_ graph: CircuitGraph, fonts: FontSet) -> Placed {
        var scene = Scene(width: 0, height: 0)
        let ranks = Array(Set(graph.nodes.map(\.rank))).sorted(by: >)  // top row first
        let rowOf = Dictionary(uniqueKeysWithValues: ranks.enumerated().map { ($1, $0) })
        var rowLabels: [Int: String] = [:]
        for n in graph.nodes where rowLabels[n.rank] == nil { rowLabels[n.rank] = singleLine(n.rowLabel) }

        // Box widths, and each row's total width.
        let boxWidth = Dictionary(graph.nodes.map { n in
            (n.name, max(46, Int(fonts.measure(singleLine(n.name), size: labelSize).rounded(.up)) + 14))
        }, uniquingKeysWith: { a, _ in a })
        var rowWidth = [Int](repeating: 0, count: ranks.count)
        for n in graph.nodes {
            let r = rowOf[n.rank]!
            rowWidth[r] += (rowWidth[r] == 0 ? 0 : boxGap) + boxWidth[n.name]!
        }
        let labelColumn = Int((rowLabels.values.map { fonts.measure($0, size: Style.tickSize) }.max() ?? 0).rounded(.up)) + 14
        // Room at both sides for the curves of edges that skip rows.
        let rowIndex = { (name: String) in graph.nodes.first { $0.name == name }.map { rowOf[$0.rank]! } ?? 0 }
        let widestSpan = graph.edges.map { abs(rowIndex($0.from) - rowIndex($0.to)) }.max() ?? 0
        let legendWidth = Int(legendEntries(maxAbs: graph.maxAbsScore, fonts: fonts).width.rounded(.up))
        let plotWidth = max((rowWidth.max() ?? 0) + 2 * Int(bulge(span: widestSpan).rounded(.up)) + 8, 240, legendWidth)
        let titleHeight = graph.title.isEmpty ? 0 : Style.titleSize + 14
        let left = Style.margin + labelColumn
        let top = Style.margin + titleHeight + 12

        // Node boxes.
        var boxes: [String: PixelRect] = [:]
        var cursor = [Int](repeating: 0, count: ranks.count)
        for n in graph.nodes {
            let r = rowOf[n.rank]!
            let x = left + (plotWidth - rowWidth[r]) / 2 + cursor[r]
            let y = top + r * rowPitch
            boxes[n.name] = PixelRect(x: x, y: y, width: boxWidth[n.name]!, height: boxHeight)
            cursor[r] += boxWidth[n.name]! + boxGap
        }

        // Row labels and faint row guides.
        for (r, rank) in ranks.enumerated() {
            let cy = Double(top + r * rowPitch) + Double(boxHeight) / 2
            scene.add(.line(x1: Double(left), y1: cy, x2: Double(left + plotWidth), y2: cy, color: RGB(hex: 0xf0f0f0), width: 1))
            scene.text(TextItem(text: rowLabels[rank] ?? "", x: Double(left - 10), y: cy + centringOffset(Style.tickSize),
                                size: Style.tickSize, color: .mutedText, anchor: .end))
        }

        // Edges, weakest first so that the strongest lie on top.
        let maxAbs = graph.maxAbsScore
        var midpoints: [String: (x: Double, y: Double)] = [:]
        var dots: [SceneItem] = []
        var channelsUsed: [String: Set<String>] = [:]
        let ordered = graph.edges.enumerated().sorted { a, b in
            let x = a.element.score.isFinite ? abs(a.element.score) : 0, y = b.element.score.isFinite ? abs(b.element.score) : 0
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        for e in ordered {
            guard let from = boxes[e.from], let to = boxes[e.to] else { continue }
            let x1 = Double(from.x) + Double(from.width) / 2, y1 = Double(from.y)
            let x2 = Double(to.x) + Double(to.width) * entry(e.channel), y2 = Double(to.y + to.height)
            let colour = colour(e.score, maxAbs: maxAbs)
            let width = lineWidth(e.score, maxAbs: maxAbs)
            var mid = ((x1 + x2) / 2, (y1 + y2) / 2)
            let span = abs(rowIndex(e.from) - rowIndex(e.to))
            if span <= 1 {
                scene.add(.line(x1: x1, y1: y1, x2: x2, y2: y2, color: colour, width: width))
            } else {
                // An edge that skips rows bows out sideways (away from the centre) so that it
                // neither hides behind the boxes it passes nor lies on top of shorter edges:
                // a quadratic Bézier whose widest point is `bulge(span)` from the chord.
                let side: Double = mid.0 >= Double(left) + Double(plotWidth) / 2 ? 1 : -1
                let control = (mid.0 + side * 2 * bulge(span: span), mid.1)
                let points: [(Double, Double)?] = (0...24).map { i in
                    let t = Double(i) / 24, u = 1 - t
                    return (u * u * x1 + 2 * u * t * control.0 + t * t * x2, u * u * y1 + 2 * u * t * control.1 + t * t * y2)
                }
                scene.add(.polyline(points: points, color: colour, width: width))
                mid = (0.25 * x1 + 0.5 * control.0 + 0.25 * x2, 0.25 * y1 + 0.5 * control.1 + 0.25 * y2)
            }
            midpoints[e.name] = mid
            dots.append(.circle(cx: mid.0, cy: mid.1, radius: 2.5, fill: colour,
                                tooltip: "\(singleLine(e.name)): \(NumberFormat.compact(Double(e.score)))"))
            if let c = e.channel { channelsUsed[e.to, default: []].insert(c) }
        }
        scene.items += dots

        // Boxes over the lines, with the q/k/v inputs that edges enter marked under them.
        var incoming: [String: Float] = [:], outgoing: [String: Float] = [:]
        for e in graph.edges where e.score.isFinite {
            incoming[e.to, default: 0] += e.score; outgoing[e.from, default: 0] += e.score
        }
        for n in graph.nodes {
            let b = boxes[n.name]!
            let tip = "\(singleLine(n.name)) (\(singleLine(n.rowLabel)))\nscore in: \(NumberFormat.compact(Double(incoming[n.name] ?? 0)))"
                + ", out: \(NumberFormat.compact(Double(outgoing[n.name] ?? 0)))"
            scene.add(.rect(x: b.x, y: b.y, width: b.width, height: b.height, fill: nodeFill, tooltip: tip))
            scene.add(.frame(x: b.x, y: b.y, width: b.width, height: b.height, color: nodeBorder))
            let name = fonts.fit(singleLine(n.name), size: labelSize, maxWidth: Double(b.width - 6))
            scene.text(TextItem(text: name, x: Double(b.x) + Double(b.width) / 2,
                                y: Double(b.y) + Double(boxHeight) / 2 + centringOffset(labelSize),
                                size: labelSize, color: .text, anchor: .middle))
            for c in (channelsUsed[n.name] ?? []).sorted() {
                scene.text(TextItem(text: c, x: Double(b.x) + Double(b.width) * entry(c) + 3,
                                    y: Double(b.y + b.height) + 11, size: 9, color: .mutedText, anchor: .start))
            }
        }

        // Legend: what line width and colour mean.
        var bottom = top + (ranks.count - 1) * rowPitch + boxHeight + 22
        let legendY = Double(bottom)
        let legend = legendEntries(maxAbs: maxAbs, fonts: fonts)
        let legendLeft = Double(left) + (Double(plotWidth) - legend.width) / 2
        for entry in legend.entries {
            let lx = legendLeft + entry.x
            if let score = entry.score {
                scene.add(.line(x1: lx, y1: legendY, x2: lx + 24, y2: legendY, color: colour(score, maxAbs: maxAbs),
                                width: lineWidth(score, maxAbs: maxAbs)))
            } else {
                scene.text(TextItem(text: entry.label, x: lx, y: legendY + centringOffset(Style.tickSize), size: Style.tickSize, color: .mutedText))
                continue
            }
            scene.text(TextItem(text: entry.label, x: lx + 30, y: legendY + centringOffset(Style.tickSize), size: Style.tickSize, color: .text))
        }
        bottom += Style.tickSize

        var width = left + plotWidth + Style.margin
        if !graph.title.isEmpty {
            let titleWidth = Int(fonts.measure(singleLine(graph.title), size: Style.titleSize).rounded(.up))
            width = max(width, min(titleWidth + 2 * Style.margin, 1400))
            let t = fonts.fit(singleLine(graph.title), size: Style.titleSize, maxWidth: Double(width - 2 * Style.margin))
            scene.text(TextItem(text: t, x: Double(width) / 2, y: Double(Style.margin + Style.titleSize),
                                size: Style.titleSize, color: .black, anchor: .middle))
        }
        scene.title = graph.title.isEmpty ? "circuit graph" : graph.title
        scene.width = width
        scene.height = bottom + Style.margin
        return Placed(scene: scene, geometry: CircuitGeometry(width: width, height: scene.height, boxes: boxes, midpoints: midpoints))
    }
}

/// A terminal listing of the circuit: one line per edge, grouped by the receiving row from the
/// logits down, with the score.
enum TerminalCircuit {
    static func render(_ graph: CircuitGraph, mode: TerminalColorMode, maxWidth: Int) -> String {
        var out: [String] = []
        let width = max(20, maxWidth)
        if !graph.title.isEmpty { out.append(truncateToDisplayWidth(singleLine(graph.title), width)) }
        let rank = Dictionary(graph.nodes.map { ($0.name, $0.rank) }, uniquingKeysWith: { a, _ in a })
        let edges = graph.edges.sorted { a, b in
            let ra = rank[a.to] ?? 0, rb = rank[b.to] ?? 0
            return ra != rb ? ra > rb : abs(a.score) > abs(b.score)
        }
        let names = edges.map { "\(singleLine($0.from)) → \(singleLine($0.to))" + ($0.channel.map { " <\($0)>" } ?? "") }
        let nameWidth = min(names.map(displayWidth).max() ?? 0, max(8, width - 12))
        for (e, name) in zip(edges, names) {
            let value = NumberFormat.compact(Double(e.score))
            let colour = e.score >= 0 ? Style.positiveBar : Style.negativeBar
            let line = pad(truncateToDisplayWidth(name, nameWidth), to: nameWidth, alignRight: false) + "  "
                + ANSI.foreground(colour, mode) + value + (mode == .none ? "" : ANSI.reset)
            out.append(line)
        }
        if edges.isEmpty { out.append("(no edges)") }
        return out.joined(separator: "\n")
    }
}

extension CircuitGraph: ScenePicture {
    func scene(fonts: FontSet) -> Scene { CircuitLayout.place(self, fonts: fonts).scene }
    public func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String {
        try validate()
        return TerminalCircuit.render(self, mode: mode, maxWidth: maxWidth)
    }
    /// Where `renderPNG(fonts:)` puts each node and edge.
    public func geometry(fonts: FontSet = .shared) throws -> CircuitGeometry {
        try validate()
        return CircuitLayout.place(self, fonts: fonts).geometry
    }
}
