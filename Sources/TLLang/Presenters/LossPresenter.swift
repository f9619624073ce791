// `loss`: the cross-entropy loss of a text, and its perplexity.
import Foundation
import TLRender
import TLTensor

/// The loss at every predicted position of a text (position i + 1 predicted from 0…i).
struct LossResult: ResultModel {
    var mean: Float
    /// [positions − 1]
    var perToken: Tensor
    /// The text's tokens (position 0 first).
    var tokens: [String]
    /// Show the loss at every position, not only the mean.
    var showPerToken: Bool

    func display(_ context: PresentationContext) -> Display {
        var d = Display(text: String(format: "loss %.4f (perplexity %.2f) over %d predicted tokens", mean, exp(Double(mean)), tokens.count - 1))
        if showPerToken { d.tables.append(table) }
        return d
    }

    var table: Table {
        Table(title: "loss per token", columns: ["pos", "token", "loss"],
              rows: (0..<(tokens.count - 1)).map { i in [Table.Cell.int(i + 1), .token(tokens[i + 1]), .float(Double(perToken.data[i]))] })
    }

    // No separate records: the per-token table, when shown, is complete, and otherwise CSV writes
    // the tensor, as before.
    var tensor: NamedTensor? { NamedTensor(perToken, axes: ["pos"]) }
}
