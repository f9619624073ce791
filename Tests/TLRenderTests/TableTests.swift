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
        <thead><tr><th>token</th><th style="text-align:right">p</th></tr></thead>
        <tbody>
        <tr><td>&lt;b&gt;&amp;</td><td style="text-align:right">0.5000</td></tr>
        </tbody>
        </table>

        """)
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
