// `eap`: edge attribution scores, the circuit they select, and how faithful it is.
import Foundation
import TLCore
import TLInterp
import TLRender
import TLTensor

/// Edge scores over every sender → receiver edge, the circuit kept from them, and its metric.
struct CircuitReport: ResultModel {
    var scores: EdgeScores
    var circuit: Circuit
    var metric: String
    /// How edges were chosen ("top 20", "|score| ≥ 0.1").
    var selection: String
    var ablation: CircuitAblation
    /// The metric with only the circuit's edges carrying the clean run, and with none of them.
    var circuitValue: Float
    var emptyCircuitValue: Float
    /// Rows in each table of edges.
    var k: Int
    /// The file `eap out=` wrote the JSON to, said below the summary.
    var written: String? = nil

    /// (circuit − empty) / (clean − empty): 1 is the clean run, 0 the empty circuit.
    var faithfulness: Float {
        let span = scores.cleanValue - emptyCircuitValue
        return span == 0 ? .nan : (circuitValue - emptyCircuitValue) / span
    }

    func display(_ context: PresentationContext) -> Display {
        let meanNote = ablation == .mean ? String(format: ", empty circuit (mean-ablated) %.4f", emptyCircuitValue) : ""
        let zero = ablation == .mean ? "the empty circuit, mean-ablated" : "corrupt"
        var d = Display(text: String(format: "%@ over %d edges — %@; circuit (%@, pruned to paths from input to logits): %d edges, %d components; " +
                                     "metric clean %.4f, corrupt %.4f%@, circuit %.4f: faithfulness %.3f (1 = clean, 0 = %@)",
                                     scores.method, scores.edges.count, metric, selection, circuit.edges.count,
                                     circuit.components.count, scores.cleanValue, scores.corruptValue, meanNote, circuitValue, faithfulness, zero)
                            + (written.map { "\nwrote \($0)" } ?? ""))
        d.tables.append(Table(title: "circuit edges", columns: [.init(name: "edge"), .init(name: "score", decimals: 4)],
                              rows: circuit.edges.prefix(k).map { [.text($0.name), .float(Double($0.score))] }))
        let inCircuit = circuit.edgeNames
        d.tables.append(Table(title: "highest-scoring edges", columns: [.init(name: "edge"), .init(name: "score", decimals: 4), .init(name: "in circuit")],
                              rows: scores.edges.prefix(k).map { [.text($0.name), .float(Double($0.score)), .text(inCircuit.contains($0.name) ? "yes" : "")] }))
        // The circuit as a layered graph (what `save e "circuit.png"` writes), then the
        // component × component scores inside it (q, k and v summed) as a heatmap.
        let comps = circuit.components
        guard !comps.isEmpty else { return d }
        let graph = Session.circuitGraph(circuit, title: "circuit (\(scores.method)): \(metric)")
        d.pictures.append(AnyPicture(graph, title: graph.title))
        let senders = comps.filter { $0 != "logits" }, receivers = comps.filter { $0 != "input" }
        var grid = [Float](repeating: 0, count: senders.count * receivers.count)
        for e in circuit.edges {
            // A key/value head's input (grouped-query attention) counts for each query head reading it.
            for reader in e.to.readers {
                if let i = senders.firstIndex(of: e.from.component), let j = receivers.firstIndex(of: reader.component) {
                    grid[i * receivers.count + j] += e.score
                }
            }
        }
        let title = "circuit: \(metric)"
        d.pictures.append(AnyPicture(Figure(Heatmap(values: grid, rows: senders.count, cols: receivers.count, rowLabels: senders,
                                                    colLabels: receivers, title: title, xLabel: "receiver", yLabel: "sender",
                                                    scale: .diverging())), title: title))
        return d
    }

    var tensor: NamedTensor? { NamedTensor(scores.matrix, axes: ["sender", "receiver"]) }

    /// The scored graph and circuit as `eap out=` writes them (nodes and edges as in the eap / MIB
    /// circuit files).
    var json: JSON {
        let inGraph = circuit.edgeNames
        var nodes: [String: Bool] = ["input": true, "logits": true]
        for s in scores.senders { nodes[s.component] = circuit.components.contains(s.component) }
        let edges: [(key: String, value: JSON)] = scores.edges.map { e in
            (e.name, .object(["score": .float(e.score), "in_graph": .bool(inGraph.contains(e.name))]))
        }
        let f = faithfulness
        return .object([
            "format": .string("tlsh circuit 1 (nodes and edges as in the eap / MIB circuit files)"),
            "method": .string(scores.method), "metric": .string(metric),
            "clean_metric": .float(scores.cleanValue), "corrupt_metric": .float(scores.corruptValue),
            "circuit_metric": .float(circuitValue), "faithfulness": f.isFinite ? .float(f) : .null,
            "ablation": .string(ablation.rawValue), "empty_circuit_metric": .float(emptyCircuitValue),
            "selection": .string(selection), "nodes": .object(nodes.map { (key: $0.key, value: .bool($0.value)) }),
            "edges": .object(edges),
        ])
    }
}
