// Data model of a circuit drawn as a layered graph: components (embeddings, attention heads,
// MLPs, logits) in rows by their place in the residual stream, edges between them whose line
// width and colour follow the edge's score. TLRender knows nothing of models: the caller names
// the nodes, gives each a row, and says which q/k/v input of a head an edge enters.

public struct CircuitGraph: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        /// Unique name drawn in the box ("input", "a1.h0", "m1", "logits").
        public var name: String
        /// Row in the residual stream: 0 at the bottom (the embeddings), higher rows read later.
        public var rank: Int
        /// Label of the node's row at the left ("embed", "L1 attn", "L1 mlp", "logits"); the
        /// first node of a row names it.
        public var rowLabel: String
        public init(name: String, rank: Int, rowLabel: String) {
            self.name = name; self.rank = rank; self.rowLabel = rowLabel
        }
    }

    public struct Edge: Sendable, Equatable {
        public var from: String
        public var to: String
        /// The receiving head's input ("q", "k" or "v"): the line enters the left, middle or
        /// right of the box; nil enters the middle.
        public var channel: String?
        public var score: Float
        public init(from: String, to: String, channel: String? = nil, score: Float) {
            self.from = from; self.to = to; self.channel = channel; self.score = score
        }
        /// "a0.h0->a1.h0<k>", the eap / MIB edge name.
        public var name: String { "\(from)->\(to)" + (channel.map { "<\($0)>" } ?? "") }
    }

    /// In the order they should stand within a row (left to right).
    public var nodes: [Node]
    public var edges: [Edge]
    public var title: String

    public init(nodes: [Node], edges: [Edge], title: String = "") {
        self.nodes = nodes; self.edges = edges; self.title = title
    }

    public func validate() throws {
        let what = title.isEmpty ? "circuit graph" : "circuit graph \"\(title)\""
        guard !nodes.isEmpty else { throw TLRenderError.empty(what: what) }
        var seen = Set<String>()
        for n in nodes {
            guard seen.insert(n.name).inserted else { throw TLRenderError.invalid(what: what, problem: "node \"\(n.name)\" appears twice; give every node a unique name") }
        }
        for e in edges {
            for end in [e.from, e.to] where !seen.contains(end) {
                throw TLRenderError.invalid(what: what, problem: "edge \(e.name) names node \"\(end)\", which is not among the nodes; add it or drop the edge")
            }
        }
    }

    /// Largest |score| among the finite edge scores (1 when there are none).
    var maxAbsScore: Float {
        let m = edges.map { $0.score.isFinite ? abs($0.score) : 0 }.max() ?? 0
        return m > 0 ? m : 1
    }
}

/// Where the layout put each node (for callers that link regions of the PNG, and for tests).
public struct CircuitGeometry: Sendable, Equatable {
    public var width: Int, height: Int
    /// Node name → its box.
    public var boxes: [String: PixelRect]
    /// Edge name → the midpoint of its line, where a dot carries its tooltip.
    public var midpoints: [String: (x: Double, y: Double)]

    public static func == (a: CircuitGeometry, b: CircuitGeometry) -> Bool {
        a.width == b.width && a.height == b.height && a.boxes == b.boxes
            && a.midpoints.keys.sorted() == b.midpoints.keys.sorted()
            && a.midpoints.allSatisfy { k, v in b.midpoints[k].map { $0.x == v.x && $0.y == v.y } ?? false }
    }
}
