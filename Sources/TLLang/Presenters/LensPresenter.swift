// `lens`: the logit lens, the residual stream at every layer decoded into tokens.
import TLInterp
import TLRender

/// A logit lens over one or more positions of a run.
struct LensResult: ResultModel {
    var lens: LogitLens
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
            let final = lens.top(layer: lens.labels.count - 1, position: 0, k: 1)[0].token
            let track = lens.track(token: final, position: 0)
            d.pictures.append(AnyPicture(LineChart(xLabels: labels, series: [Series(name: "p(\(visibleToken(tokenString(final))))", values: track.map(\.prob))],
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

    /// Log-probabilities of every token at every row and position.
    var tensor: NamedTensor? { NamedTensor(lens.logProbs, axes: ["layer", "pos", "vocab"]) }
}
