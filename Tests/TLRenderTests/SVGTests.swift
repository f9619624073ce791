// SVG output parsed back with Foundation's XMLParser: well-formed, one tooltip per cell carrying
// the row label, column label and value, and text escaped so that labels survive intact.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import TLRender

private final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var titles: [String] = []
    var texts: [String] = []
    private var stack: [String] = []
    private var buffer = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements[name, default: 0] += 1
        stack.append(name); buffer = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { titles.append(buffer) }
        if name == "text" { texts.append(buffer) }
        stack.removeLast(); buffer = ""
    }
}

final class SVGTests: XCTestCase {
    private func parse(_ svg: String) throws -> SVGCollector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed: \(String(describing: parser.parserError))")
        return collector
    }

    func testHeatmapCellsCarryTooltipsAndLabelsSurviveEscaping() throws {
        let map = Heatmap(values: [-1, 0.5, 0.25, 1], rows: 2, cols: 2, rowLabels: ["L0", "L1 & co"],
                          colLabels: ["<|endoftext|>", "\"quoted\" 'x'"], title: "a < b", xLabel: "position",
                          yLabel: "layer", scale: .diverging())
        let svg = try map.renderSVG(fonts: try dejaVuFonts())
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let parsed = try parse(svg)
        XCTAssertEqual(parsed.elements["svg"], 1)
        let cellTitles = parsed.titles.filter { $0.contains("value:") }
        XCTAssertEqual(cellTitles.count, 4, "one tooltip per cell")
        XCTAssertTrue(cellTitles.contains("layer: L0\nposition: \"quoted\" 'x'\nvalue: 0.5"), "\(cellTitles)")
        XCTAssertTrue(cellTitles.contains("layer: L1 & co\nposition: <|endoftext|>\nvalue: 0.25"), "\(cellTitles)")
        XCTAssertTrue(parsed.titles.contains("a < b"), "picture title")
        XCTAssertTrue(parsed.texts.contains("<|endoftext|>"), "tick label text round-trips: \(parsed.texts)")
        XCTAssertTrue(parsed.texts.contains("a < b"))
        // Colour bar ticks for a ±1 range.
        for tick in ["-1.0", "-0.5", "0.0", "0.5", "1.0"] { XCTAssertTrue(parsed.texts.contains(tick), "tick \(tick) in \(parsed.texts)") }
    }

    func testFigureBarAndLineSVGsAreWellFormed() throws {
        let fonts = try dejaVuFonts()
        let figure = try parse(Samples.attention().renderSVG(fonts: fonts))
        XCTAssertEqual(figure.titles.filter { $0.contains("value:") }.count, 12 * 11 * 11)
        XCTAssertTrue(figure.titles.contains { $0.hasPrefix("H3\nquery: ") }, "panel name in tooltips")
        let bars = try parse(Samples.bars.renderSVG(fonts: fonts))
        XCTAssertTrue(bars.titles.contains { $0.hasPrefix("embed: ") }, "\(bars.titles)")
        let lines = try parse(Samples.lines.renderSVG(fonts: fonts))
        XCTAssertEqual(lines.elements["circle"], 24)
        XCTAssertTrue(lines.titles.contains("␣Paris\nlayer: 11\nvalue: 1"), "\(lines.titles)")
    }

    func testControlCharactersInLabelsKeepTheDocumentValid() throws {
        let map = Heatmap(values: [1, 2], rows: 1, cols: 2, colLabels: ["\u{1}bell", "tab\there"], scale: .sequential())
        let parsed = try parse(try map.renderSVG(fonts: FontSet(paths: [])))
        XCTAssertTrue(parsed.texts.contains("␁bell"), "\(parsed.texts)")
        XCTAssertTrue(parsed.texts.contains("tab⇥here"), "\(parsed.texts)")
    }
}
