// `features`, `feature` and `sae_stats`: what an SAE's features do on a text, one feature's direct
// effect on the logits, and how well the SAE reconstructs its activation.
import Foundation
import TLModel
import TLRender
import TLTensor

/// `features s c feature=F`: one feature's activation at every position.
struct FeatureTrace: ResultModel {
    var feature: Int
    var link: String?
    /// The text's tokens, and the feature's activation at each.
    var tokens: [String]
    var values: [Float]

    func display(_ context: PresentationContext) -> Display {
        var d = Display(text: "feature \(feature) along the text" + (link.map { " — \($0)" } ?? ""))
        d.tables.append(Table(title: "feature \(feature)", columns: ["pos", "token", "activation"],
                              rows: values.indices.map { [.int($0), .token(tokens[$0]), .float(Double(values[$0]))] }))
        d.pictures.append(AnyPicture(BarChart(labels: tokens.map(visibleToken), values: values, title: "feature \(feature)",
                                              xLabel: "position", yLabel: "activation"), title: "feature \(feature)"))
        return d
    }

    var tensor: NamedTensor? { NamedTensor(Tensor(shape: [values.count], data: values), axes: ["pos"], tokenLabels: tokens) }
}

/// `features s c` (every position) or `features s c pos=P` (one): the features that fire, from the
/// sparse activations; the dense [pos, d_sae] tensor is made only for the result's data.
struct FeatureActivations: ResultModel {
    var sparse: SparseFeatureActivations
    var hook: String
    var tokens: [String]
    /// Features listed per position.
    var k: Int
    /// One position (already resolved to 0..<pos), or nil for all of them.
    var position: Int?
    var link: (Int) -> String?

    /// Position p's top k positive features, largest first (ties: lower feature first).
    func top(_ p: Int) -> [(index: Int, value: Float)] {
        let (idx, vals) = sparse.row(p)
        var fired: [(index: Int, value: Float)] = []
        for (f, v) in zip(idx, vals) where v > 0 { fired.append((index: Int(f), value: v)) }
        fired.sort { (x: (index: Int, value: Float), y: (index: Int, value: Float)) -> Bool in
            x.value != y.value ? x.value > y.value : x.index < y.index
        }
        return Array(fired.prefix(k))
    }

    func active(_ p: Int) -> Int { sparse.row(p).values.filter { $0 > 0 }.count }

    func display(_ context: PresentationContext) -> Display {
        let labels = tokens.map(visibleToken)
        if let p = position {
            let rows = top(p).enumerated().map { i, t -> [Table.Cell] in
                [.int(i + 1), .int(t.index), .float(Double(t.value)), .text(link(t.index) ?? "")]
            }
            return Display(text: "\(active(p)) of \(sparse.features) features fire at position \(p) (\(labels[p]))",
                           tables: [Table(title: "top features at \(labels[p])", columns: ["rank", "feature", "activation", "Neuronpedia"], rows: rows)])
        }
        // Every position: its top features, and a heatmap of the features that are ever in a top k.
        var chosen: [Int] = []
        var rows: [[Table.Cell]] = []
        for p in 0..<sparse.rows {
            let top = top(p)
            for t in top where !chosen.contains(t.index) { chosen.append(t.index) }
            rows.append([.int(p), .token(tokens[p]), .int(active(p)), .text(top.map { "\($0.index) (\(String(format: "%.2f", $0.value)))" }.joined(separator: ", "))])
        }
        chosen = Array(chosen.prefix(40)).sorted()
        var values: [Float] = []
        let columns = chosen.map(sparse.column)
        for p in 0..<sparse.rows { for j in chosen.indices { values.append(columns[j][p]) } }
        var d = Display(tables: [Table(title: "features at \(hook)", columns: ["pos", "token", "L0", "top features (activation)"], rows: rows)])
        if !chosen.isEmpty {
            d.pictures.append(AnyPicture(Figure(Heatmap(values: values, rows: sparse.rows, cols: chosen.count, rowLabels: labels, colLabels: chosen.map(String.init),
                                                        title: "feature activations", xLabel: "feature", yLabel: "position", scale: .sequential())), title: "features"))
        }
        return d
    }

    var tensor: NamedTensor? { NamedTensor(sparse.dense(), axes: ["pos", "feature"], tokenLabels: tokens) }
}

/// `features s c dla=TARGET`: every feature's direct logit attribution at one position.
struct FeatureAttribution: ResultModel {
    var target: String
    var position: Int
    var positionToken: String
    /// [d_sae] activations at the position, and each feature's attribution.
    var activations: [Float]
    var contributions: [Float]
    var k: Int
    var link: (Int) -> String?

    func display(_ context: PresentationContext) -> Display {
        let order = contributions.indices.filter { contributions[$0] != 0 }.sorted { abs(contributions[$0]) > abs(contributions[$1]) }.prefix(k)
        let rows = order.enumerated().map { i, f -> [Table.Cell] in
            [.int(i + 1), .int(f), .float(Double(activations[f])), .float(Double(contributions[f])), .text(link(f) ?? "")]
        }
        let total = contributions.reduce(0, +)
        return Display(text: String(format: "direct logit attribution of features to %@ at position %d (%@): %.4f in all",
                                    target, position, visibleToken(positionToken), total),
                       tables: [Table(title: "top features by |attribution|", columns: [.init(name: "rank"), .init(name: "feature"), .init(name: "activation", decimals: 3),
                                                                                          .init(name: "attribution", decimals: 4), .init(name: "Neuronpedia")], rows: rows)])
    }

    var tensor: NamedTensor? { NamedTensor(Tensor(shape: [contributions.count], data: contributions), axes: ["feature"]) }
}

/// `feature s F`: what is known of one feature, and the tokens its decoder direction promotes and
/// suppresses through the unembedding.
struct FeatureDescription: ResultModel {
    var lines: [String]
    var feature: Int
    /// W_dec[f] @ W_U [d_vocab]; nil when the decoder does not write d_model-wide.
    var effect: Tensor?
    var k: Int
    var tokenString: (Int) -> String

    func display(_ context: PresentationContext) -> Display {
        var d = Display(text: lines.joined(separator: "\n"))
        guard let effect else {
            d.text += "\n(its decoder does not write to the residual stream width, so it has no direct logit effect)"
            return d
        }
        let up = effect.topK(k)
        let down = Tensor(shape: effect.shape, data: effect.data.map { -$0 }).topK(k)
        let rows = (0..<min(k, up.count)).map { i -> [Table.Cell] in
            [.int(i + 1), .token(tokenString(up[i].index)), .float(Double(up[i].value)),
             .token(tokenString(down[i].index)), .float(Double(-down[i].value))]
        }
        d.tables.append(Table(title: "logit effect of feature \(feature)'s decoder direction (W_dec[\(feature)] @ W_U)",
                              columns: ["rank", "promotes", "logit", "suppresses", "logit"], rows: rows))
        return d
    }

    var tensor: NamedTensor? { effect.map { NamedTensor($0, axes: ["vocab"]) } }
}

/// `sae_stats`: reconstruction quality and the loss with the SAE spliced in.
struct SAEQuality: ResultModel {
    var summary: String
    var tokens: Int
    var l0: Double, mse: Double, explainedVariance: Double
    var cleanLoss: Double, splicedLoss: Double, splicedWithErrorLoss: Double, zeroAblatedLoss: Double
    var outputHook: String

    var fractionRecovered: Double {
        zeroAblatedLoss != cleanLoss ? (zeroAblatedLoss - splicedLoss) / (zeroAblatedLoss - cleanLoss) : .nan
    }

    var measures: [(String, Double)] {
        [("L0 (mean active features per token)", l0), ("MSE", mse), ("explained variance", explainedVariance),
         ("loss, clean", cleanLoss), ("loss, SAE spliced", splicedLoss), ("loss, SAE spliced with error term", splicedWithErrorLoss),
         ("loss, \(outputHook) zero-ablated", zeroAblatedLoss), ("loss change when spliced", splicedLoss - cleanLoss),
         ("fraction of loss recovered", fractionRecovered)]
    }

    func display(_ context: PresentationContext) -> Display {
        Display(text: summary + "\non \(tokens) tokens",
                tables: [Table(title: "SAE quality", columns: ["measure", "value"], rows: measures.map { [.text($0.0), .float($0.1)] })])
    }

    var tensor: NamedTensor? { NamedTensor(Tensor(shape: [measures.count], data: measures.map { Float($0.1) }), axes: ["measure"]) }
}
