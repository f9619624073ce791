// `top` and `test`: the most likely next tokens at one position.
import TLRender

/// The k most likely next tokens at one position, with their probabilities and logits.
struct TopTokens: ResultModel {
    struct Entry { var token: String; var id: Int; var prob: Float; var logit: Float }
    var title: String
    var entries: [Entry]
    /// 1 for `top`; 0 for `test`, whose answer ranks count from 0 as TransformerLens's
    /// test_prompt does, so its two tables agree.
    var firstRank = 1

    var table: Table {
        let rows = entries.enumerated().map { i, e in
            [Table.Cell.int(i + firstRank), .token(e.token), .int(e.id), .float(Double(e.prob)), .float(Double(e.logit))]
        }
        return Table(title: title, columns: [.init(name: "rank"), .init(name: "token"), .init(name: "id"),
                                             .init(name: "prob", decimals: 4), .init(name: "logit", decimals: 3)], rows: rows)
    }

    func display(_ context: PresentationContext) -> Display { Display(tables: [table]) }
}
