// Tables in all four styles, display widths against wcwidth, and visible token strings.
import XCTest
import TLRender

final class TableTests: XCTestCase {
    let table = Table(title: "Top tokens", columns: [
        Table.Column(name: "pos"), Table.Column(name: "token"), Table.Column(name: "logit diff"), Table.Column(name: "prob"),
    ], rows: [
        [.int(0), .token("The"), .float(1.5), .float(0.25)],
        [.int(1), .token(" 東京"), .float(-12.25), .float(0.0312)],
        [.int(12), .token("\n"), .float(0.5), .float(1)],
    ])

    func testBox() throws {
        XCTAssertEqual(try table.render(style: .box), """
        Top tokens
        ┌─────┬───────┬────────────┬───────┐
        │ pos │ token │ logit diff │  prob │
        ├─────┼───────┼────────────┼───────┤
        │   0 │ The   │       1.50 │ 0.250 │
        │   1 │ ␣東京 │     -12.25 │ 0.031 │
        │  12 │ ↵     │       0.50 │ 1.000 │
        └─────┴───────┴────────────┴───────┘

        """)
    }

    func testPlain() throws {
        XCTAssertEqual(try table.render(style: .plain), """
        Top tokens
        pos  token  logit diff   prob
        ---  -----  ----------  -----
          0  The          1.50  0.250
          1  ␣東京      -12.25  0.031
         12  ↵            0.50  1.000

        """)
    }

    func testMarkdown() throws {
        XCTAssertEqual(try table.render(style: .markdown), """
        **Top tokens**

        | pos | token | logit diff |  prob |
        | --: | ----- | ---------: | ----: |
        |   0 | The   |       1.50 | 0.250 |
        |   1 | ␣東京 |     -12.25 | 0.031 |
        |  12 | ↵     |       0.50 | 1.000 |

        """)
    }

    func testHTML() throws {
        let html = try Table(columns: ["token", "p"], rows: [[.token("<b>&"), .float(0.5)]]).render(style: .html)
        XCTAssertEqual(html, """
        <table>
        <thead><tr><th style="text-align:left">token</th><th style="text-align:right">p</th></tr></thead>
        <tbody>
        <tr><td style="text-align:left">&lt;b&gt;&amp;</td><td style="text-align:right">0.5000</td></tr>
        </tbody>
        </table>

        """)
    }

    /// Notebooks right-align cells unless told: text columns say left, and a caption never wraps.
    func testHTMLAlignsTextColumnsLeftAndKeepsTheCaptionOnOneLine() throws {
        let html = try Table(title: "‖resid_post‖ by layer", columns: ["layer", "hook"], rows: [[.int(0), .text("blocks.0.hook_resid_post")]])
            .render(style: .html)
        XCTAssertTrue(html.contains("<caption style=\"white-space:nowrap;text-align:left\">‖resid_post‖ by layer</caption>"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:left\">blocks.0.hook_resid_post</td>"), html)
        XCTAssertTrue(html.contains("<td style=\"text-align:right\">0</td>"), html)
    }

    /// A table wider than the terminal is split into several that fit, each repeating the first
    /// column, instead of wrapping into fragments (issue 16: `lens … pos=*` at 60 columns).
    func testWideTableSplitsToFitTheWidth() throws {
        let columns = ["layer"] + (0..<12).map { "position \($0)" }
        let rows: [[Table.Cell]] = (0..<3).map { l in [.text("L\(l)")] + (0..<12).map { _ in .token(" Mary") } }
        let table = Table(title: "logit lens", columns: columns, rows: rows)
        let whole = try table.render(style: .box)
        XCTAssertGreaterThan(whole.split(separator: "\n").map(\.count).max() ?? 0, 60)
        let split = try table.render(style: .box, maxWidth: 60)
        let lines = split.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 60 }, split)
        XCTAssertEqual(lines.filter { $0.hasPrefix("│ layer") }.count, lines.filter { $0.hasPrefix("┌") }.count, "each part repeats the first column")
        XCTAssertGreaterThan(lines.filter { $0.hasPrefix("┌") }.count, 1)
        for c in 0..<12 { XCTAssertTrue(split.contains("position \(c)"), "column \(c) is kept") }
        XCTAssertTrue(split.hasPrefix("logit lens\n"), split)
        XCTAssertTrue(split.contains("\n(continued, 2 of"), split)
        XCTAssertEqual(try table.render(style: .box, maxWidth: 400), whole, "a table that fits is unchanged")
        XCTAssertEqual(try table.render(style: .plain, maxWidth: nil), try table.render(style: .plain))
    }

    func testMarkdownEscapesPipes() throws {
        let md = try Table(columns: ["token"], rows: [[.token("<|endoftext|>")]]).render(style: .markdown)
        XCTAssertTrue(md.contains("<\\|endoftext\\|>"), md)
    }

    /// About 4 significant digits for the column's largest magnitude: 123456.7 needs none after
    /// the point; 0.000123 is below 1e-3 and goes scientific; a column's `decimals` wins.
    func testNumberFormats() throws {
        let t = Table(columns: ["big", "tiny", "fixed", "ints"], rows: [
            [.float(123456.7), .float(0.000123), .float(1), .int(-5)],
            [.float(-2), .float(.nan), .float(2.5), .int(40)],
        ])
        var withDecimals = t
        withDecimals.columns[2].decimals = 1
        XCTAssertEqual(try withDecimals.render(style: .plain), """
           big       tiny  fixed  ints
        ------  ---------  -----  ----
        123457  1.230e-04    1.0    -5
            -2        nan    2.5    40

        """)
    }

    func testRowWidthMismatchThrows() {
        XCTAssertThrowsError(try Table(columns: ["a", "b"], rows: [[.int(1)]]).render(style: .box)) { error in
            XCTAssertEqual("\(error)", "table row 0 has 1 cells but the table has 2 columns")
        }
    }

    func testDisplayWidthMatchesWcwidth() {
        for (text, width) in ReferenceData.displayWidths {
            XCTAssertEqual(displayWidth(text), width, "display width of \(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    func testVisibleToken() {
        XCTAssertEqual(visibleToken(" Paris"), "␣Paris")
        XCTAssertEqual(visibleToken("New York"), "New␣York")
        XCTAssertEqual(visibleToken("  "), "␣␣")
        XCTAssertEqual(visibleToken("\n"), "↵")
        XCTAssertEqual(visibleToken("\r\n"), "␍↵")
        XCTAssertEqual(visibleToken("\tx"), "⇥x")
        XCTAssertEqual(visibleToken(""), "∅")
        XCTAssertEqual(visibleToken("東京"), "東京")
        XCTAssertEqual(visibleToken("<|endoftext|>"), "<|endoftext|>")
        XCTAssertEqual(visibleToken("\u{0}"), "␀")
    }

    func testTruncation() {
        XCTAssertEqual(truncateToDisplayWidth("<|endoftext|>", 6), "<|end…")
        XCTAssertEqual(truncateToDisplayWidth("東京タワー", 5), "東京…")
        XCTAssertEqual(truncateToDisplayWidth("abc", 3), "abc")
    }
}
