// Writes sample pictures for a human to look at, when TLRENDER_SAMPLES names a folder:
//   TLRENDER_SAMPLES=/tmp/render-samples swift test --filter TLRenderTests.SampleImageTests
import Foundation
import XCTest
import TLRender

final class SampleImageTests: XCTestCase {
    func testWriteSamples() throws {
        guard let dir = ProcessInfo.processInfo.environment["TLRENDER_SAMPLES"] else {
            throw XCTSkip("set TLRENDER_SAMPLES=/some/folder to write sample pictures")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pictures: [(String, any Picture)] = [
            ("patching", Samples.patching), ("attention", Samples.attention()),
            ("bars", Samples.bars), ("lines", Samples.lines),
            ("long", Heatmap(values: (0..<(12 * 60)).map { (Samples.noise($0) - 0.5) * 4 }, rows: 12, cols: 60,
                             colLabels: (0..<60).map { visibleToken(" word\($0)") }, title: "A 60-token prompt",
                             xLabel: "position", yLabel: "layer")),
            ("strip", Heatmap(values: (0..<11).map { Samples.noise($0) }, rows: 1, cols: 11,
                              rowLabels: ["p(␣Paris)"], colLabels: Samples.tokens.map(visibleToken),
                              title: "Probability of ␣Paris after each position", scale: .sequential(min: 0, max: 1))),
            ("dla", Heatmap(values: (0..<144).map { (Samples.noise($0, 3) - 0.5) * 2 }, rows: 12, cols: 12,
                            rowLabels: (0..<12).map { "L\($0)" }, colLabels: (0..<12).map { "H\($0)" },
                            title: "Direct logit attribution to ␣Paris − ␣Rome by head", xLabel: "head", yLabel: "layer")),
            ("heads144", Samples.attention(heads: 144, n: 12, labels: (0..<12).map { "t\($0)" })),
        ]
        for (name, picture) in pictures {
            let png = try picture.renderPNG()
            try Data(png.bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name).png"))
            try picture.renderSVG().write(toFile: "\(dir)/\(name).svg", atomically: true, encoding: .utf8)
            try picture.renderTerminal(mode: .trueColor, maxWidth: 100)
                .write(toFile: "\(dir)/\(name).ansi", atomically: true, encoding: .utf8)
            try picture.renderTerminal(mode: .none, maxWidth: 100)
                .write(toFile: "\(dir)/\(name).txt", atomically: true, encoding: .utf8)
        }
    }
}
