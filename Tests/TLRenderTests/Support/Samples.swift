// Realistic pictures shared by the sample writer, the timing test and the pixel tests.
import Foundation
import TLRender

enum Samples {
    static let tokens = ["<|endoftext|>", "The", " capital", " of", " France", " is", " Paris", ".", " It", " has", " 東京"]

    /// Deterministic pseudo-random numbers in 0..<1 (no global RNG state in tests).
    static func noise(_ i: Int, _ seed: Int = 1) -> Float {
        var x = UInt64(truncatingIfNeeded: i &* 2654435761 &+ seed &* 40503)
        x ^= x >> 13; x = x &* 0x5bd1e995; x ^= x >> 15
        return Float(x % 10_000) / 10_000
    }

    /// Layer × position activation patching result: 12 layers, 11 positions, signed.
    static var patching: Heatmap {
        var values: [Float] = []
        for layer in 0..<12 {
            for pos in 0..<11 {
                // The effect moves from the subject position (4) early to the last position (10) late.
                let early = pos == 4 ? Float(max(0, 8 - layer)) * 0.28 : 0
                let late = pos == 10 ? Float(max(0, layer - 5)) * 0.4 : 0
                values.append(early + late + (noise(layer * 11 + pos) - 0.5) * 0.3)
            }
        }
        values[3] = .nan
        return Heatmap(values: values, rows: 12, cols: 11, rowLabels: (0..<12).map { "\($0)" },
                       colLabels: tokens.map(visibleToken), title: "Activation patching: resid_pre (logit diff recovered)",
                       xLabel: "position", yLabel: "layer", scale: .diverging())
    }

    /// Attention patterns of 12 heads over `n` positions: causal, rows sum to one.
    static func attention(heads: Int = 12, n: Int = 11, labels: [String]? = nil) -> Figure {
        var panels: [Heatmap] = []
        for h in 0..<heads {
            var values = [Float](repeating: 0, count: n * n)
            for q in 0..<n {
                var row = (0...q).map { k -> Float in
                    let prev = (h % 3 == 0 && k == q - 1) ? 6 : 0
                    let bos = (h % 3 == 1 && k == 0) ? 5 : 0
                    let selfAttn = (h % 3 == 2 && k == q) ? 4 : 0
                    return exp(Float(prev + bos + selfAttn) * 0.7 + noise(h * 1000 + q * n + k, 7))
                }
                let total = row.reduce(0, +)
                row = row.map { $0 / total }
                for k in 0...q { values[q * n + k] = row[k] }
            }
            let l = labels ?? Array(tokens.prefix(n)).map(visibleToken)
            panels.append(Heatmap(values: values, rows: n, cols: n, rowLabels: l, colLabels: l, title: "H\(h)",
                                  xLabel: "key", yLabel: "query", scale: .sequential(min: 0, max: 1)))
        }
        return Figure(title: "Attention patterns, layer 5", panels: panels)
    }

    static var bars: BarChart {
        let values: [Float] = (0..<13).map { i in i == 0 ? 0.05 : Float(sin(Double(i) * 0.6)) * 1.8 + (i > 8 ? 1.2 : 0) }
        return BarChart(labels: ["embed"] + (0..<12).map { "L\($0)" }, values: values,
                        title: "Logit difference recovered per layer", xLabel: "layer", yLabel: "logit diff")
    }

    static var lines: LineChart {
        let layers = (0..<12).map { "\($0)" }
        let paris = (0..<12).map { l -> Float in Float(max(1, Int(pow(10, 4.2 - Double(l) * 0.4)))) }
        let rome = (0..<12).map { l -> Float in Float(max(1, Int(pow(10, 3.5 - Double(l) * 0.15)))) + 3 }
        return LineChart(xLabels: layers, series: [Series(name: "␣Paris", values: paris), Series(name: "␣Rome", values: rome)],
                         title: "Rank of the answer token across layers (logit lens)", xLabel: "layer",
                         yLabel: "rank", logScale: true)
    }
}
