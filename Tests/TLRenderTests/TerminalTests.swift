// Terminal pictures: exact escape sequences for a known grid, the 256-colour fallback checked
// against a brute-force search of the xterm palette, and no escapes at all without colour.
import XCTest
@testable import TLRender

final class TerminalTests: XCTestCase {
    let esc = "\u{1B}["
    /// ColorBrewer RdBu anchors for -1, 0 and +1 (the ramp's ends and centre).
    let blue = (5, 48, 97), white = (247, 247, 247), red = (103, 0, 31)

    func testTrueColorHalfBlocksForATwoByTwoGrid() throws {
        let map = Heatmap(values: [-1, 0, 0, 1], rows: 2, cols: 2, rowLabels: ["a", "b"], colLabels: ["x", "y"], xLabel: "pos")
        let text = try map.renderTerminal(mode: .trueColor, maxWidth: 12)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Label "a/b", then per cell: foreground = upper row, background = lower row. Width 12
        // leaves (12 - 3 - 1) / 2 = 4 columns per cell.
        let expected = "a/b " + "\(esc)38;2;\(blue.0);\(blue.1);\(blue.2)m\(esc)48;2;\(white.0);\(white.1);\(white.2)m▀▀▀▀"
            + "\(esc)38;2;\(white.0);\(white.1);\(white.2)m\(esc)48;2;\(red.0);\(red.1);\(red.2)m▀▀▀▀\(esc)0m"
        XCTAssertEqual(lines[0], expected)
        XCTAssertEqual(lines[1], "    0   1")
        XCTAssertEqual(lines[2], "pos:  0:x")
        XCTAssertEqual(lines[3], "      1:y", "the key wraps under its first entry")
        XCTAssertTrue(lines[4].hasPrefix("-1 "), lines[4])
        XCTAssertEqual(displayWidth(lines[4].replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)), 12,
                       "the legend shrinks to the width and drops its hint")
        XCTAssertTrue(try map.renderTerminal(mode: .trueColor, maxWidth: 60).contains("(blue < 0 < red)"))
    }

    func testOddRowCountUsesDefaultBackgroundForTheMissingRow() throws {
        let map = Heatmap(values: [-1, 1, 0], rows: 3, cols: 1)
        let lines = try map.renderTerminal(mode: .trueColor, maxWidth: 20).split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("  2 \(esc)38;2;\(white.0);\(white.1);\(white.2)m\(esc)49m▀"), lines[1])
    }

    /// Nearest palette entry by exhaustive search over xterm colours 16...255, in CIELAB.
    private func bruteForce256(_ c: (Int, Int, Int)) -> Int {
        var palette: [(Int, (Int, Int, Int))] = []
        let levels = [0, 95, 135, 175, 215, 255]
        for r in 0..<6 { for g in 0..<6 { for b in 0..<6 { palette.append((16 + 36 * r + 6 * g + b, (levels[r], levels[g], levels[b]))) } } }
        for i in 0..<24 { let v = 8 + 10 * i; palette.append((232 + i, (v, v, v))) }
        let target = Lab(RGB(UInt8(c.0), UInt8(c.1), UInt8(c.2)))
        func d(_ p: (Int, Int, Int)) -> Double { Lab(RGB(UInt8(p.0), UInt8(p.1), UInt8(p.2))).distanceSquared(to: target) }
        return palette.min { d($0.1) < d($1.1) }!.0
    }

    /// Viridis's middle blues stay blue in 256 colours (RGB distance made them slate grey, 60/61).
    func testAnsi256KeepsViridisBluesBlue() {
        for hex: UInt32 in [0x375b8d, 0x33638d, 0x2f6b8e] {
            let entry = ANSI.xterm256(RGB(hex: hex))
            XCTAssertFalse([59, 60, 61, 102, 103].contains(entry) || entry >= 232, "0x\(String(hex, radix: 16)) → \(entry)")
        }
    }

    func testAnsi256UsesTheNearestPaletteEntry() throws {
        let map = Heatmap(values: [-1, 1], rows: 2, cols: 1)
        let line = try map.renderTerminal(mode: .ansi256, maxWidth: 10).split(separator: "\n")[0]
        XCTAssertTrue(line.contains("\(esc)38;5;\(bruteForce256(blue))m"), String(line))
        XCTAssertTrue(line.contains("\(esc)48;5;\(bruteForce256(red))m"), String(line))
        XCTAssertFalse(line.contains("38;2;"))
    }

    func testNoColorModeGivesNumbersAndNoEscapes() throws {
        let map = Heatmap(values: [-1, 0.5, 0.25, 1], rows: 2, cols: 2, rowLabels: ["L0", "L1"], colLabels: [visibleToken(" a"), "b"], yLabel: "layer")
        let text = try map.renderTerminal(mode: .none, maxWidth: 80)
        XCTAssertFalse(text.contains("\u{1B}"))
        XCTAssertEqual(text, """
        layer      ␣a      b
        -----  ------  -----
        L0     -1.000  0.500
        L1      0.250  1.000

        """)
        for picture in [Samples.bars as any Picture, Samples.lines, Samples.attention()] {
            XCTAssertFalse(try picture.renderTerminal(mode: .none, maxWidth: 80).contains("\u{1B}"))
        }
    }

    func testDetectHonoursNoColorTTYAndColorTerm() {
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["NO_COLOR": "1", "COLORTERM": "truecolor"]), .none)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: false, environment: ["COLORTERM": "truecolor"]), .none)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["COLORTERM": "truecolor", "TERM": "xterm"]), .trueColor)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["COLORTERM": "24bit"]), .trueColor)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["TERM": "xterm-256color"]), .ansi256)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["TERM": "dumb"]), .none)
        // no-color.org: an empty NO_COLOR does not disable colour.
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["NO_COLOR": "", "TERM": "xterm-256color"]), .ansi256)
    }

    func testBarChartInTerminalGrowsBothWaysFromTheAxis() throws {
        let chart = BarChart(labels: ["up", "down"], values: [1, -1])
        let lines = try chart.renderTerminal(mode: .none, maxWidth: 30).split(separator: "\n").map(String.init)
        // Area = 30 - 4 (label) - 5 (value) - 4 = 17 columns: 8 or 9 each side of "│".
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("  up          │████████"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("down ▐████████│ "), lines[1])
        XCTAssertTrue(lines[0].hasSuffix("1.00") && lines[1].hasSuffix("-1.00"))
    }

    func testPicturesFitTheWidth() throws {
        let wide = Heatmap(values: [Float](repeating: 1, count: 2 * 300), rows: 2, cols: 300)
        for (picture, width) in [(Samples.attention() as any Picture, 100), (Samples.patching, 60), (wide, 80), (Samples.bars, 50)] {
            let text = try picture.renderTerminal(mode: .trueColor, maxWidth: width)
            for line in text.split(separator: "\n") {
                let visible = line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
                XCTAssertLessThanOrEqual(displayWidth(visible), width, visible)
            }
        }
        XCTAssertTrue(try wide.renderTerminal(mode: .trueColor, maxWidth: 80).contains("of 300 shown"))
    }
}
