// The circuit graph: rows by residual-stream rank (embeddings at the bottom, logits at the top),
// boxes that do not overlap, lines whose colour says the score's sign, tooltips naming each edge
// in SVG and the notebook view, a terminal listing, and clear errors for inconsistent input.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import TLRender

private final class TitleCollector: NSObject, XMLParserDelegate {
    var titles: [String] = [], texts: [String] = []
    private var buffer = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) { buffer = "" }
    func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { titles.append(buffer) }
        if name == "text" { texts.append(buffer) }
        buffer = ""
    }
}

final class CircuitGraphTests: XCTestCase {
    private let graph = CircuitGraph(
        nodes: [
            .init(name: "input", rank: 0, rowLabel: "embed"),
            .init(name: "a0.h0", rank: 1, rowLabel: "L0 attn"), .init(name: "a0.h1", rank: 1, rowLabel: "L0 attn"),
            .init(name: "a1.h0", rank: 3, rowLabel: "L1 attn"), .init(name: "m1", rank: 4, rowLabel: "L1 mlp"),
            .init(name: "logits", rank: 9, rowLabel: "logits"),
        ],
        edges: [
            .init(from: "input", to: "a0.h1", channel: "v", score: 0.3),
            .init(from: "input", to: "a0.h0", channel: "q", score: 0.05),
            .init(from: "a0.h1", to: "a1.h0", channel: "k", score: 1.0),
            .init(from: "a1.h0", to: "logits", score: 0.8),
            .init(from: "input", to: "m1", score: -0.6),
            .init(from: "m1", to: "logits", score: 0.1),
        ],
        title: "induction circuit")

    func testRowsFollowTheResidualStreamAndBoxesDoNotOverlap() throws {
        let fonts = try dejaVuFonts()
        let g = try graph.geometry(fonts: fonts)
        let y = { (n: String) in g.boxes[n]!.y }
        XCTAssertLessThan(y("logits"), y("m1"))
        XCTAssertLessThan(y("m1"), y("a1.h0"))
        XCTAssertLessThan(y("a1.h0"), y("a0.h0"))
        XCTAssertLessThan(y("a0.h0"), y("input"))
        XCTAssertEqual(y("a0.h0"), y("a0.h1"), "heads of one layer share a row")
        XCTAssertLessThan(g.boxes["a0.h0"]!.x + g.boxes["a0.h0"]!.width, g.boxes["a0.h1"]!.x, "h0 left of h1, apart")
        let boxes = Array(g.boxes.values)
        for i in boxes.indices {
            let a = boxes[i]
            XCTAssertTrue(a.x >= 0 && a.y >= 0 && a.x + a.width <= g.width && a.y + a.height <= g.height)
            for b in boxes[(i + 1)...] {
                let apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y
                XCTAssertTrue(apart, "\(a) overlaps \(b)")
            }
        }
        XCTAssertEqual(Set(g.midpoints.keys), Set(graph.edges.map(\.name)))
    }

    func testPixelsShowBoxesAndSignedEdges() throws {
        let fonts = try dejaVuFonts()
        let g = try graph.geometry(fonts: fonts)
        let png = try graph.renderPNG(fonts: fonts)
        XCTAssertEqual(png.width, g.width); XCTAssertEqual(png.height, g.height)
        let image = try TestPNG.decode(png.bytes)
        // Box interior (left of the centred label) is the node fill; its corner is the border.
        let box = g.boxes["a1.h0"]!
        assertColor(image.pixel(box.x + 2, box.y + 2), (0xf3, 0xf3, 0xf3), tolerance: 0, "node fill")
        assertColor(image.pixel(box.x, box.y), (0x55, 0x55, 0x55), tolerance: 0, "node border")
        // The strongest edge is saturated red at its midpoint; the negative one is blue.
        func at(_ edge: String) -> (r: Int, g: Int, b: Int) {
            let m = g.midpoints[edge]!
            return image.pixel(Int(m.x), Int(m.y))
        }
        let strong = at("a0.h1->a1.h0<k>"), negative = at("input->m1")
        XCTAssertGreaterThan(strong.r - strong.b, 100, "positive edge is red: \(strong)")
        XCTAssertGreaterThan(negative.b - negative.r, 60, "negative edge is blue: \(negative)")
        // A weak edge is paler (closer to the background) than the strongest one.
        let weak = at("input->a0.h0<q>")
        XCTAssertGreaterThan(weak.g + weak.b, strong.g + strong.b, "weak \(weak) vs strong \(strong)")
        // Background far from everything stays white.
        assertColor(image.pixel(1, g.height - 2), (255, 255, 255), tolerance: 0, "background")
    }

    func testSVGAndNotebookViewNameEveryEdgeAndNode() throws {
        let fonts = try dejaVuFonts()
        let svg = try graph.renderSVG(fonts: fonts)
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = TitleCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed")
        for e in graph.edges {
            XCTAssertTrue(collector.titles.contains { $0.hasPrefix(e.name + ":") }, "tooltip for \(e.name)")
        }
        for n in graph.nodes { XCTAssertTrue(collector.texts.contains(n.name), "label \(n.name)") }
        for row in ["embed", "L0 attn", "L1 attn", "L1 mlp", "logits"] { XCTAssertTrue(collector.texts.contains(row), row) }
        let view = try graph.renderInteractive(fonts: fonts, id: "c1")
        XCTAssertTrue(view.html.contains("a1.h0->logits: 0.8"), "hover data names the edge")
        XCTAssertEqual(view.png.bytes, try graph.renderPNG(fonts: fonts).bytes)
    }

    func testTerminalListsEdgesFromTheLogitsDown() throws {
        let text = try graph.renderTerminal(mode: .none, maxWidth: 80)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "induction circuit")
        XCTAssertEqual(lines.count, 1 + graph.edges.count)
        XCTAssertTrue(lines[1].hasPrefix("a1.h0 → logits"), lines[1])
        XCTAssertTrue(lines.contains { $0.hasPrefix("a0.h1 → a1.h0 <k>") })
        XCTAssertTrue(lines.last!.hasPrefix("input → a0.h0 <q>") || lines.last!.hasPrefix("input → a0.h1 <v>"), lines.last!)
    }

    func testInconsistentGraphsAreRejectedWithTheFix() {
        var bad = graph
        bad.edges.append(.init(from: "a0.h7", to: "logits", score: 1))
        XCTAssertThrowsError(try bad.renderSVG()) { error in
            XCTAssertTrue("\(error)".contains("a0.h7") && "\(error)".contains("add it or drop the edge"), "\(error)")
        }
        var twice = graph
        twice.nodes.append(.init(name: "m1", rank: 4, rowLabel: "L1 mlp"))
        XCTAssertThrowsError(try twice.renderPNG()) { XCTAssertTrue("\($0)".contains("appears twice"), "\($0)") }
        XCTAssertThrowsError(try CircuitGraph(nodes: [], edges: []).renderPNG()) { XCTAssertTrue("\($0)".contains("nothing to draw")) }
    }
}
