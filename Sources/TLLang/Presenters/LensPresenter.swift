// `lens`: the logit lens, the residual stream at every layer decoded into tokens.
import Foundation
import TLInterp
import TLRender
import TLTensor

/// A logit lens over one or more positions of a run.
struct LensResult: ResultModel {
    /// The full lens (Swift engine) or the reduced rows a plan sent back (nnsight).
    var lens: any LensRows
    /// Row labels as shown: `L0`, `L3 mid`, `out`.
    var rowLabels: [String]
    /// The positions decoded (as given, negative counts from the end) and their tokens.
    var positions: [Int]
    var positionTokens: [String]
    /// Tokens per row in the one-position table.
    var k: Int
    /// Token id → its string, for the tables.
    var tokenString: (Int) -> String

    func display(_ context: PresentationContext) -> Display {
        var d = Display()
        let labels = rowLabels
        if positions.count == 1 {
            let rows = lens.labels.indices.map { row -> [Table.Cell] in
                let top = lens.top(layer: row, position: 0, k: k)
                return [.text(labels[row])] + top.flatMap { [Table.Cell.token(tokenString($0.token)), .float(Double($0.prob))] }
            }
            let cols = ["layer"] + (1...k).flatMap { ["top \($0)", "prob"] }
            d.tables.append(Table(title: "logit lens at \(visibleToken(positionTokens[0])) (position \(positions[0]))", columns: cols, rows: rows))
            // Rank of the final prediction across layers.
            let track = lens.finalTrack(position: 0)
            d.pictures.append(AnyPicture(LineChart(xLabels: labels, series: [Series(name: "p(\(visibleToken(tokenString(track.token))))", values: track.probs)],
                                                   title: "logit lens: probability of the final prediction", xLabel: "layer", yLabel: "probability"), title: "lens"))
        } else {
            var probs: [Float] = [], rows: [[Table.Cell]] = []
            for row in lens.labels.indices {
                var cells: [Table.Cell] = [.text(labels[row])]
                for col in positions.indices {
                    let top = lens.top(layer: row, position: col, k: 1)[0]
                    probs.append(top.prob)
                    cells.append(.token(tokenString(top.token)))
                }
                rows.append(cells)
            }
            let colLabels = positionTokens.map(visibleToken)
            d.tables.append(Table(title: "logit lens: top token per layer and position", columns: ["layer"] + colLabels, rows: rows))
            d.pictures.append(AnyPicture(Figure(Heatmap(values: probs, rows: labels.count, cols: positions.count, rowLabels: labels, colLabels: colLabels,
                title: "logit lens: probability of the top token", xLabel: "position", yLabel: "layer", scale: .sequential(min: 0, max: 1))), title: "lens"))
        }
        return d
    }

    /// Log-probabilities of every token at every row and position (a plan's lens: of the top k).
    var tensor: NamedTensor? { lens.namedTensor }
}

/// What the lens display reads: per row and position column, the top tokens; per column, the
/// probability of the final row's top token at every row.
protocol LensRows {
    var labels: [String] { get }
    func top(layer row: Int, position column: Int, k: Int) -> [(token: Int, prob: Float)]
    func finalTrack(position column: Int) -> (token: Int, probs: [Float])
    var namedTensor: NamedTensor { get }
}

extension LogitLens: LensRows {
    func finalTrack(position column: Int) -> (token: Int, probs: [Float]) {
        let final = top(layer: labels.count - 1, position: column, k: 1)[0].token
        return (final, track(token: final, position: column).map(\.prob))
    }
    var namedTensor: NamedTensor { NamedTensor(logProbs, axes: ["layer", "pos", "vocab"]) }
}

/// A lens computed where the model runs (a plan's reductions): the top k of every row and
/// position, and each position's final-token track; only what the display shows travels.
struct ReducedLens: LensRows {
    var labels: [String]
    /// [row][column]: (token, log-probability), largest first.
    var tops: [[[(token: Int, logProb: Float)]]]
    /// [column]: the final row's top token and its log-probability at every row.
    var tracks: [(token: Int, logProbs: [Float])]

    func top(layer row: Int, position column: Int, k: Int) -> [(token: Int, prob: Float)] {
        tops[row][column].prefix(k).map { ($0.token, expf($0.logProb)) }
    }
    func finalTrack(position column: Int) -> (token: Int, probs: [Float]) {
        (tracks[column].token, tracks[column].logProbs.map(expf))
    }
    /// Log-probabilities of the top k: [layer, pos, rank]. Their token ids are in the table.
    var namedTensor: NamedTensor {
        let k = tops.first?.first?.count ?? 0
        return NamedTensor(Tensor(shape: [tops.count, tops.first?.count ?? 0, k], data: tops.flatMap { $0.flatMap { $0.map(\.logProb) } }),
                           axes: ["layer", "pos", "rank"])
    }
}
