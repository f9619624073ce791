// `dla`: direct logit attribution to every head, MLP and embedding (and neurons, SAE features).
import Foundation
import TLInterp
import TLRender

/// A direct logit attribution at one position, with the SAE feature attributions of `saes=`.
struct DLAResult: ResultModel {
    /// One spliced SAE's features: activation at the position and attribution, per feature.
    struct Features { var hook: String; var activations: [Float]; var attributions: [Float] }

    var target: String
    var position: Int
    var attribution: LogitAttribution
    var nLayers: Int
    var nHeads: Int
    /// Rows in each table of top entries.
    var k: Int
    var features: [Features] = []

    var title: String { "direct logit attribution to \(target)" }

    func display(_ context: PresentationContext) -> Display {
        let attr = attribution
        // Heads, MLPs and embeddings only: a block's attn_out is the sum of its heads, so ranking
        // both counted L1H0 twice. The per-block sums have their own table below.
        let ranked = attr.ranked().filter { !$0.label.hasSuffix("_attn_out") }.prefix(k)
        var d = Display(text: String(format: "%@ at position %d; components sum to %.4f", title, position, attr.total))
        let columns: [Table.Column] = [.init(name: "component"), .init(name: "attribution", decimals: 4)]
        d.tables.append(Table(title: "top \(ranked.count) components (heads, MLPs, embeddings)", columns: columns,
                              rows: ranked.map { [.text($0.label), .float(Double($0.value))] }))
        d.tables.append(Table(title: "by block (attn_out is the sum of that layer's heads)", columns: columns,
                              rows: attr.components.map { [.text($0.label), .float(Double($0.value))] }))
        if let neurons = attr.neurons, let nl = attr.neuronLayer {
            let order = neurons.data.indices.sorted { abs(neurons.data[$0]) > abs(neurons.data[$1]) }.prefix(k)
            d.tables.append(Table(title: "top \(order.count) neurons of layer \(nl)", columns: [.init(name: "neuron"), .init(name: "attribution", decimals: 4)],
                                  rows: order.map { [.text("L\(nl)N\($0)"), .float(Double(neurons.data[$0]))] }))
        }
        for f in features {
            let attrs = f.attributions
            let order = attrs.indices.filter { attrs[$0] != 0 }.sorted { abs(attrs[$0]) > abs(attrs[$1]) }.prefix(k)
            d.tables.append(Table(title: "top \(order.count) features of the SAE at \(f.hook) (sum \(context.format(Double(attrs.reduce(0, +)))))",
                                  columns: [.init(name: "feature"), .init(name: "activation", decimals: 3), .init(name: "attribution", decimals: 4)],
                                  rows: order.map { [.int($0), .float(Double(f.activations[$0])), .float(Double(attrs[$0]))] }))
        }
        d.pictures.append(AnyPicture(Figure(Heatmap(values: attr.heads.data, rows: nLayers, cols: nHeads,
            rowLabels: (0..<nLayers).map(String.init), colLabels: (0..<nHeads).map { "H\($0)" }, title: title,
            xLabel: "head", yLabel: "layer", scale: .diverging())), title: title))
        return d
    }

    /// Every block component and every head (and neuron, and non-zero SAE feature), labelled by
    /// kind, since a head's share is also inside its block's attn_out.
    var records: Table? {
        let attr = attribution
        var rows: [[Table.Cell]] = attr.components.map { [.text("block"), .text($0.label), .float(Double($0.value))] }
        rows += attr.heads.data.indices.map { i in [.text("head"), .text("L\(i / nHeads)H\(i % nHeads)"), .float(Double(attr.heads.data[i]))] }
        if let neurons = attr.neurons, let nl = attr.neuronLayer {
            rows += neurons.data.indices.map { [.text("neuron"), .text("L\(nl)N\($0)"), .float(Double(neurons.data[$0]))] }
        }
        for f in features {
            rows += f.attributions.indices.filter { f.attributions[$0] != 0 }.map {
                [.text("feature"), .text("\(f.hook):\($0)"), .float(Double(f.attributions[$0]))]
            }
        }
        return Table(title: title, columns: ["kind", "component", "attribution"], rows: rows)
    }

    var tensor: NamedTensor? { NamedTensor(attribution.heads, axes: ["layer", "head"]) }
}
