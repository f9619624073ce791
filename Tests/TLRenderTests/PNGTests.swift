// PNG output decoded by the test's own inflate and filter code, checked chunk by chunk and at
// known pixels.
import XCTest
import TLRender

final class PNGTests: XCTestCase {
    /// matplotlib's colour maps are 256-entry tables; ours interpolate anchors, so allow a few levels.
    let mapTolerance = 4

    func testDivergingTwoByTwoCellsAndChunks() throws {
        let fonts = try dejaVuFonts()
        let map = Heatmap(values: [-1, 0, 0, 1], rows: 2, cols: 2, rowLabels: ["L0", "L1"], colLabels: ["a", "b"],
                          title: "signed", scale: .diverging())
        let png = try map.renderPNG(fonts: fonts)
        let image = try TestPNG.decode(png.bytes)
        XCTAssertEqual(image.chunkTypes, ["IHDR", "pHYs", "IDAT", "IEND"])
        XCTAssertEqual(image.channels, 3)
        let geometry = try map.geometry(fonts: fonts)
        XCTAssertEqual([image.width, image.height], [png.width, png.height])
        XCTAssertEqual([image.width, image.height], [geometry.width, geometry.height])
        XCTAssertEqual(geometry.panels.count, 1)
        let cells = geometry.panels[0]
        XCTAssertGreaterThanOrEqual(cells.cellWidth, 12, "small heatmaps get readable cells")

        func cell(_ r: Int, _ c: Int) -> (r: Int, g: Int, b: Int) {
            let p = cells.cellCentre(row: r, col: c)
            return image.pixel(p.x, p.y)
        }
        let negative = cell(0, 0), positive = cell(1, 1), zero = cell(0, 1)
        XCTAssertGreaterThan(negative.b, negative.r + 50, "-1 should be blue")
        XCTAssertGreaterThan(positive.r, positive.b + 50, "+1 should be red")
        XCTAssertGreaterThan(min(zero.r, zero.g, zero.b), 235, "0 should be near white")
        assertColor(negative, reference(ReferenceData.redBlue, 0), tolerance: mapTolerance, "value -1 (limit = max|v|)")
        assertColor(positive, reference(ReferenceData.redBlue, 1), tolerance: mapTolerance, "value +1")
        assertColor(zero, reference(ReferenceData.redBlue, 0.5), tolerance: mapTolerance, "value 0")
        assertColor(cell(1, 0), reference(ReferenceData.redBlue, 0.5), tolerance: mapTolerance, "second zero")
    }

    func testExplicitDivergingLimitAndSequentialEnds() throws {
        let fonts = FontSet(paths: [])
        // limit 2: the value 1 sits three quarters of the way along the ramp.
        let signed = Heatmap(values: [1, -2], rows: 1, cols: 2, scale: .diverging(limit: 2))
        let signedImage = try TestPNG.decode(signed.renderPNG(fonts: fonts).bytes)
        let g = try signed.geometry(fonts: fonts).panels[0]
        let p0 = g.cellCentre(row: 0, col: 0), p1 = g.cellCentre(row: 0, col: 1)
        assertColor(signedImage.pixel(p0.x, p0.y), reference(ReferenceData.redBlue, 0.75), tolerance: mapTolerance, "1 of ±2")
        assertColor(signedImage.pixel(p1.x, p1.y), reference(ReferenceData.redBlue, 0), tolerance: mapTolerance, "-2 of ±2")

        // Data range 2...8 maps onto viridis' ends; NaN is grey.
        let seq = Heatmap(values: [2, 5, 8, .nan], rows: 2, cols: 2, scale: .sequential())
        let image = try TestPNG.decode(seq.renderPNG(fonts: fonts).bytes)
        let cells = try seq.geometry(fonts: fonts).panels[0]
        func cell(_ r: Int, _ c: Int) -> (r: Int, g: Int, b: Int) { let p = cells.cellCentre(row: r, col: c); return image.pixel(p.x, p.y) }
        assertColor(cell(0, 0), reference(ReferenceData.viridis, 0), tolerance: mapTolerance, "minimum")
        assertColor(cell(0, 1), reference(ReferenceData.viridis, 0.5), tolerance: mapTolerance, "midpoint")
        assertColor(cell(1, 0), reference(ReferenceData.viridis, 1), tolerance: mapTolerance, "maximum")
        let nan = cell(1, 1)
        XCTAssertTrue(nan.r == nan.g && nan.g == nan.b && (150...200).contains(nan.r), "NaN cell should be grey, got \(nan)")

        // Fixed bounds: attention in 0...1 with values only up to 0.5 stays mid-ramp.
        let attention = Heatmap(values: [0, 0.5], rows: 1, cols: 2, scale: .sequential(min: 0, max: 1))
        let a = try TestPNG.decode(attention.renderPNG(fonts: fonts).bytes)
        let ag = try attention.geometry(fonts: fonts).panels[0]
        let half = ag.cellCentre(row: 0, col: 1)
        assertColor(a.pixel(half.x, half.y), reference(ReferenceData.viridis, 0.5), tolerance: mapTolerance, "0.5 of 0...1")
    }

    func testMultiPanelGeometryAndSharedScale() throws {
        let fonts = try dejaVuFonts()
        // Panel k is filled with the value k, so a shared 0...11 range gives each a distinct colour.
        let panels = (0..<12).map { k in
            Heatmap(values: [Float](repeating: Float(k), count: 25), rows: 5, cols: 5, title: "H\(k)", scale: .sequential())
        }
        let figure = Figure(title: "twelve heads", panels: panels)
        let png = try figure.renderPNG(fonts: fonts)
        let image = try TestPNG.decode(png.bytes)
        let geometry = try figure.geometry(fonts: fonts)
        XCTAssertEqual(geometry.panels.count, 12)
        XCTAssertEqual(Set(geometry.panels.map(\.x)).count, 4, "12 panels in 4 columns")
        XCTAssertEqual(Set(geometry.panels.map(\.y)).count, 3, "… and 3 rows")
        for (i, a) in geometry.panels.enumerated() {
            XCTAssertLessThanOrEqual(a.x + a.cols * a.cellWidth, geometry.colorBar.x, "panel \(i) left of the colour bar")
            XCTAssertLessThanOrEqual(a.y + a.rows * a.cellHeight, image.height)
            for b in geometry.panels[(i + 1)...] {
                let apart = a.x + a.cols * a.cellWidth <= b.x || b.x + b.cols * b.cellWidth <= a.x
                    || a.y + a.rows * a.cellHeight <= b.y || b.y + b.rows * b.cellHeight <= a.y
                XCTAssertTrue(apart, "panels overlap: \(a) \(b)")
            }
            let c = a.cellCentre(row: 2, col: 2)
            let t = Double(i) / 11
            if let row = ReferenceData.viridis.first(where: { abs($0.t - t) < 1e-9 }) {
                assertColor(image.pixel(c.x, c.y), (row.r, row.g, row.b), tolerance: mapTolerance, "panel \(i)")
            }
        }
        // Row-major placement: panel 1 right of panel 0, panel 4 below panel 0.
        XCTAssertGreaterThan(geometry.panels[1].x, geometry.panels[0].x)
        XCTAssertGreaterThan(geometry.panels[4].y, geometry.panels[0].y)
        // Colour bar: top is the maximum, bottom the minimum.
        let bar = geometry.colorBar
        assertColor(image.pixel(bar.x + bar.width / 2, bar.y + 1), reference(ReferenceData.viridis, 1), tolerance: mapTolerance, "bar top")
        assertColor(image.pixel(bar.x + bar.width / 2, bar.y + bar.height - 2), reference(ReferenceData.viridis, 0), tolerance: mapTolerance, "bar bottom")
    }

    /// Dark pixels in the band above the first panel: the title.
    private func inkAboveGrid(_ map: Heatmap, fonts: FontSet) throws -> Int {
        let image = try TestPNG.decode(map.renderPNG(fonts: fonts).bytes)
        let top = try map.geometry(fonts: fonts).panels[0].y
        var ink = 0
        for y in 0..<(top - 2) {
            for x in 0..<image.width where image.pixel(x, y).r < 100 { ink += 1 }
        }
        return ink
    }

    func testTitleTextIsDrawnWhenAFontIsPresentAndSkippedWithout() throws {
        let map = Heatmap(values: [0.1, 0.9], rows: 1, cols: 2, title: "Title text", scale: .sequential())
        XCTAssertGreaterThan(try inkAboveGrid(map, fonts: try dejaVuFonts()), 40)
        let none = FontSet(paths: [])
        XCTAssertFalse(none.status.isAvailable)
        XCTAssertTrue(none.status.description.contains("fonts-dejavu-core"), none.status.description)
        XCTAssertEqual(try inkAboveGrid(map, fonts: none), 0, "no font: no text, but still a picture")
    }

    func testFontDiscoveryHonoursOverrideAndReportsBadOverride() throws {
        _ = try dejaVuFonts()
        let serif = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: serif), "DejaVu Serif not installed")
        let chosen = FontSet(environment: ["TLSH_FONT": serif])
        XCTAssertEqual(chosen.status.primary, serif)
        let bad = FontSet(environment: ["TLSH_FONT": "/nonexistent/font.ttf"])
        XCTAssertNotNil(bad.status.primary, "falls back to the system fonts")
        XCTAssertTrue(bad.status.description.contains("TLSH_FONT=/nonexistent/font.ttf"), bad.status.description)
        let nothing = FontSet(environment: [:], directories: ["/nonexistent"])
        // Only the Debian path may still be found directly.
        if !FileManager.default.fileExists(atPath: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") {
            XCTAssertFalse(nothing.status.isAvailable)
        }
    }

    func testMissingGlyphsComeFromTheFallbackFont() throws {
        let sans = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", serif = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: sans) && FileManager.default.fileExists(atPath: serif))
        let serifOnly = FontSet(paths: [serif]), withFallback = FontSet(paths: [serif, sans])
        XCTAssertEqual(withFallback.status.fallbacks, [sans])
        // Some symbol that DejaVu Serif lacks and DejaVu Sans has.
        let candidates = (0x2190...0x2BFF).compactMap(Unicode.Scalar.init)
        guard let gap = candidates.first(where: { serifOnly.fontPath(for: $0) == nil && withFallback.fontPath(for: $0) == sans }) else {
            return XCTFail("expected DejaVu Sans to cover a symbol DejaVu Serif lacks")
        }
        XCTAssertEqual(withFallback.fontPath(for: "A"), serif, "the main font wins when it has the glyph")
        XCTAssertEqual(withFallback.fontPath(for: gap), sans)
        XCTAssertNil(FontSet(paths: [sans]).fontPath(for: "東"), "DejaVu has no CJK: drawn as .notdef unless a CJK font is installed")
        XCTAssertEqual(FontSet(paths: [sans]).fontPath(for: "␣"), sans, "the visible-space glyph is in DejaVu Sans")
    }

    func testNonASCIILabelsRenderWithoutCrashing() throws {
        let fonts = try dejaVuFonts()
        let labels = ["<|endoftext|>", "␣東京", "é", "😀", "\n"]
        let map = Heatmap(values: [Float](repeating: 0.5, count: 5), rows: 1, cols: 5, colLabels: labels, scale: .sequential())
        let image = try TestPNG.decode(map.renderPNG(fonts: fonts).bytes)
        XCTAssertGreaterThan(image.width, 0)
    }

    func testEveryPictureKindDecodes() throws {
        let fonts = try dejaVuFonts()
        let pictures: [(String, any Picture)] = [
            ("heatmap", Samples.patching), ("figure", Samples.attention()), ("bars", Samples.bars), ("lines", Samples.lines),
        ]
        for (name, picture) in pictures {
            let png = try picture.renderPNG(fonts: fonts)
            let image = try TestPNG.decode(png.bytes)
            XCTAssertEqual([image.width, image.height], [png.width, png.height], name)
            XCTAssert((400...1400).contains(image.width), "\(name) is \(image.width) px wide")
        }
    }

    func testBarChartColoursBySign() throws {
        let chart = BarChart(labels: ["a", "b"], values: [2, -1])
        let image = try TestPNG.decode(chart.renderPNG(fonts: FontSet(paths: [])).bytes)
        var red = 0, blue = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = image.pixel(x, y)
                if p == (0xd6, 0x60, 0x4d) { red += 1 }
                if p == (0x43, 0x93, 0xc3) { blue += 1 }
            }
        }
        XCTAssertGreaterThan(red, 0); XCTAssertGreaterThan(blue, 0)
        XCTAssertEqual(Double(red) / Double(blue), 2, accuracy: 0.15, "bar areas proportional to |value|")
    }

    func testRawEncoderRoundTripsRGBAndRGBA() throws {
        for channels in [3, 4] {
            let (w, h) = (37, 23)
            // Smooth gradients, flat runs and noise, so every filter type wins somewhere.
            var pixels: [UInt8] = []
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<channels {
                        let v = y < 8 ? x * 7 + c * 20 : y < 16 ? 128 : Int(Samples.noise(y * w * 4 + x * 4 + c) * 255)
                        pixels.append(UInt8(truncatingIfNeeded: v))
                    }
                }
            }
            let png = try PNGEncoder.encode(pixels: pixels, width: w, height: h, channels: channels, pixelsPerMetre: nil)
            let image = try TestPNG.decode(png.bytes)
            XCTAssertEqual(image.chunkTypes, ["IHDR", "IDAT", "IEND"])
            XCTAssertEqual(image.channels, channels)
            XCTAssertEqual(image.pixels, pixels, "\(channels)-channel round trip")
        }
        XCTAssertThrowsError(try PNGEncoder.encode(pixels: [1, 2], width: 1, height: 1))
    }

    func testDecoderRejectsCorruptedCRC() throws {
        var bytes = try Heatmap(values: [1], rows: 1, cols: 1).renderPNG(fonts: FontSet(paths: [])).bytes
        bytes[20] ^= 0x01  // inside IHDR's data
        XCTAssertThrowsError(try TestPNG.decode(bytes)) { error in
            XCTAssertTrue("\(error)".contains("CRC"), "\(error)")
        }
    }

    func testDegenerateDataStillRenders() throws {
        let fonts = FontSet(paths: [])
        let pictures: [any Picture] = [
            Heatmap(values: [.nan, .nan], rows: 1, cols: 2),
            Heatmap(values: [.infinity, -.infinity, 0, 1], rows: 2, cols: 2, scale: .sequential()),
            Heatmap(values: [3, 3], rows: 2, cols: 1, scale: .sequential()),
            Heatmap(values: [Float](repeating: 0, count: 3000), rows: 1, cols: 3000),
            BarChart(labels: [], values: [0]),
            BarChart(labels: ["a"], values: [.nan]),
            LineChart(xLabels: ["only"], series: [Series(name: "s", values: [5])]),
            LineChart(xLabels: ["a", "b"], series: [Series(name: "s", values: [0, -1])], logScale: true),
        ]
        for picture in pictures {
            let image = try TestPNG.decode(picture.renderPNG(fonts: fonts).bytes)
            XCTAssertGreaterThan(image.width * image.height, 0)
            _ = try picture.renderSVG(fonts: fonts)
            _ = try picture.renderTerminal(mode: .trueColor, maxWidth: 80)
            _ = try picture.renderTerminal(mode: .none, maxWidth: 80)
        }
    }

    func testBadShapesThrowClearErrors() {
        let wrongCount = Heatmap(values: [1, 2, 3], rows: 2, cols: 2)
        XCTAssertThrowsError(try wrongCount.renderPNG()) { error in
            XCTAssertTrue("\(error)".contains("expected 4 values, got 3"), "\(error)")
        }
        let wrongLabels = Heatmap(values: [1, 2], rows: 1, cols: 2, colLabels: ["a"])
        XCTAssertThrowsError(try wrongLabels.renderSVG())
        XCTAssertThrowsError(try Figure(panels: []).renderPNG())
        XCTAssertThrowsError(try LineChart(xLabels: ["0", "1"], series: [Series(name: "s", values: [1])]).renderPNG())
    }
}
