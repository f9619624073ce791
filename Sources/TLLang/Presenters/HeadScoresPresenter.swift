// `induction` and `detect`: a score for every attention head.
import TLRender
import TLTensor

/// A score per head [n_layers, n_heads], with what the scores are and how the run went.
struct HeadScores: ResultModel {
    var scores: Tensor
    /// The first line of the display: what ran.
    var summary: String
    /// The table's title, and the threshold above which heads are listed (the top head always is).
    var tableTitle: String
    var threshold: Float
    /// What a score is: "induction score", "previous_token score".
    var scoreName: String

    func display(_ context: PresentationContext) -> Display {
        let L = scores.shape[0], H = scores.shape[1]
        let order = scores.data.indices.sorted { scores.data[$0] > scores.data[$1] }
        let rows = order.prefix(10).filter { scores.data[$0] > threshold || $0 == order[0] }.map { i in
            [Table.Cell.text("L\(i / H)H\(i % H)"), .float(Double(scores.data[i]))]
        }
        var d = Display(text: summary)
        d.tables.append(Table(title: tableTitle, columns: [.init(name: "head"), .init(name: "score", decimals: 3)], rows: rows))
        d.pictures.append(AnyPicture(Figure(Heatmap(values: scores.data, rows: L, cols: H, rowLabels: (0..<L).map(String.init),
                                                    colLabels: (0..<H).map { "H\($0)" }, title: scoreName, xLabel: "head", yLabel: "layer",
                                                    scale: .sequential(min: 0, max: 1))), title: scoreName))
        return d
    }

    /// Every head's score (the shown table lists only the top ten).
    var records: Table? {
        let H = scores.shape[1]
        return Table(title: scoreName, columns: ["layer", "head", "score"],
                     rows: scores.data.indices.map { [.int($0 / H), .int($0 % H), .float(Double(scores.data[$0]))] })
    }

    var tensor: NamedTensor? { NamedTensor(scores, axes: ["layer", "head"]) }
}
