// The notebook view (text/html): the PNG it embeds, the hover data it carries, and the token view
// for attention patterns. The browser side is checked by tools/notebooks/browser_check.py.
import Foundation
import XCTest
@testable import TLRender

final class HTMLViewTests: XCTestCase {
    private func hoverData(_ html: String) throws -> [String: Any] {
        let open = "<script type=\"application/json\" class=\"tlsh-data\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        let json = String(html[start..<end]).replacingOccurrences(of: "<\\/", with: "</")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    private func embeddedPNG(_ html: String) throws -> [UInt8] {
        let open = "<img src=\"data:image/png;base64,"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "\"", range: start..<html.endIndex)).lowerBound
        return Array(try XCTUnwrap(Data(base64Encoded: String(html[start..<end]))))
    }

    func testAttentionPatternGetsHoverDataAndATokenView() throws {
        let tokens = ["<|endoftext|>", "When", " Mary", "</script>"]
        let panels = (0..<2).map { h in
            Heatmap(values: (0..<16).map { Float($0 + h) / 20 }, rows: 4, cols: 4, rowLabels: tokens, colLabels: tokens,
                    title: "head \(h)", xLabel: "key", yLabel: "query", scale: .sequential(min: 0, max: 1))
        }
        let view = try Figure(title: "c.pattern[0]", panels: panels).renderInteractive(id: "tlsh-view-test")
        let html = view.html
        XCTAssertTrue(html.hasPrefix("<div class=\"tlsh-view\" id=\"tlsh-view-test\""))
        XCTAssertEqual(try embeddedPNG(html), view.png.bytes, "the view embeds the same PNG")
        XCTAssertTrue(html.contains("width=\"\(view.png.width)\" height=\"\(view.png.height)\" alt=\"c.pattern[0]\""))
        XCTAssertTrue(html.contains("max-width:100%"), "the image shrinks to the output area")
        XCTAssertTrue(html.contains("getElementById(\"tlsh-view-test\")"), "the script finds its own view")
        XCTAssertFalse(html.contains("@ID@"))
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 2, "a label cannot close a script early")
        let data = try hoverData(html)
        XCTAssertEqual(data["attention"] as? Bool, true)
        XCTAssertEqual(data["width"] as? Int, view.png.width)
        let grids = try XCTUnwrap(data["grids"] as? [[String: Any]])
        XCTAssertEqual(grids.count, 2)
        XCTAssertEqual(grids[1]["title"] as? String, "head 1")
        XCTAssertEqual(grids[0]["cl"] as? [String], tokens)
        XCTAssertEqual(grids[0]["rn"] as? String, "query")
        let values = try XCTUnwrap(grids[1]["v"] as? [Double])
        XCTAssertEqual(values.count, 16)
        XCTAssertEqual(values[5], Double(Float(6) / 20), accuracy: 1e-4)
        XCTAssertTrue(html.contains("class=\"tlsh-tokens\""))
    }

    func testChartsGetHoverBoxesAndNoTokenView() throws {
        let view = try BarChart(labels: ["L0", "L1", "L2"], values: [0.5, -1, 2], title: "by layer").renderInteractive(id: "v2")
        let data = try hoverData(view.html)
        XCTAssertEqual(data["attention"] as? Bool, false)
        let boxes = try XCTUnwrap(data["boxes"] as? [[String: Any]])
        XCTAssertEqual(boxes.count, 3, "one hover box per bar")
        XCTAssertFalse(view.html.contains("class=\"tlsh-tokens\""))
        // A heatmap that is not query × key gets no token view either.
        let grid = try Figure(Heatmap(values: [1, 2, 3, 4], rows: 2, cols: 2, xLabel: "head", yLabel: "layer")).renderInteractive(id: "v3")
        XCTAssertEqual(try hoverData(grid.html)["attention"] as? Bool, false)
    }
}
