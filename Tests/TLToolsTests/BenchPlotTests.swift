// `tlsh bench-plot`: the scaling charts drawn from a small sample of tools/bench/scaling.py's
// JSON (Fixtures/scaling-sample.json, hand-made numbers with one skipped point), and clear errors
// for files that are not such results.
import Foundation
import TLTools
import XCTest

final class BenchPlotTests: XCTestCase {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/scaling-sample.json")

    func render() throws -> [String: BenchPlot.Rendered] {
        let results = try ScalingResults.decode(try Data(contentsOf: Self.sample), source: "scaling-sample.json")
        return Dictionary(uniqueKeysWithValues: try BenchPlot.render(results).map { ($0.name, $0) })
    }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testDrawsFourChartsAsSmallPNGs() throws {
        let charts = try render()
        XCTAssertEqual(Set(charts.keys), ["scaling-time-parameters", "scaling-memory-parameters",
                                          "scaling-time-length", "scaling-memory-length"])
        for (name, chart) in charts {
            XCTAssertEqual(Array(chart.png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], name)
            XCTAssertLessThan(chart.png.count, 100_000, name)
            XCTAssert((400...1400).contains(chart.width) && (250...700).contains(chart.height), "\(name): \(chart.width)x\(chart.height)")
        }
    }

    func testEveryMeasuredPointIsDrawnAndSkippedOnesLeaveGaps() throws {
        let charts = try render()
        // 3 engines x 2 sizes, TransformerLens's GPT-2 XL skipped; 3 engines x 2 lengths (x 2 tasks for memory).
        let expected = ["scaling-time-parameters": 5, "scaling-memory-parameters": 5,
                        "scaling-time-length": 6, "scaling-memory-length": 12]
        for (name, points) in expected {
            XCTAssertEqual(count("<circle", in: charts[name]!.svg), points, name)
        }
        let time = charts["scaling-time-parameters"]!.svg
        for engine in ["tlsh", "TransformerLens 3.9", "HF transformers"] {
            XCTAssert(time.contains(">\(engine)</text>"), "legend lacks \(engine)")
        }
        // Parameter counts as x labels, times in milliseconds, a log axis (30 ms .. 900 ms spans 10x).
        XCTAssert(time.contains(">124M</text>") && time.contains(">1.56B</text>"))
        XCTAssert(time.contains("value: 400"), "GPT-2 XL's tlsh time (400 ms) is not a point")
        XCTAssert(time.contains("forward time (ms), log scale"))
        XCTAssert(charts["scaling-memory-length"]!.svg.contains(">TransformerLens 3.9, cache</text>"))
        // 16 and 1024 tokens are 2.6 decades apart; the points sit at log10 positions, so GPT-2 XL
        // (1.56B, 1.1 decades above 124M) is at the right end and small at the left.
        XCTAssert(charts["scaling-time-length"]!.svg.contains(">1024</text>"))
    }

    func testParameterCountsArePlacedOnALogAxis() throws {
        // Three sizes whose log10 steps are 1 and 0.1: the middle point sits at 1/1.1 of the span, not halfway.
        let json = """
        {"points": [
          {"sweep": "parameters", "model": "a", "parameters": 1e8, "tokens": 11, "task": "forward", "engine": "tlsh", "seconds": 0.01, "peak_rss_mib": 100},
          {"sweep": "parameters", "model": "b", "parameters": 1e9, "tokens": 11, "task": "forward", "engine": "tlsh", "seconds": 0.1, "peak_rss_mib": 1000},
          {"sweep": "parameters", "model": "c", "parameters": 1.2589e9, "tokens": 11, "task": "forward", "engine": "tlsh", "seconds": 0.12, "peak_rss_mib": 1200}
        ]}
        """
        let charts = try BenchPlot.render(try ScalingResults.decode(Data(json.utf8), source: "inline"))
        let svg = try XCTUnwrap(charts.first { $0.name == "scaling-time-parameters" }).svg
        let xs = svg.components(separatedBy: "<circle").dropFirst().compactMap { piece -> Double? in
            guard let r = piece.range(of: "cx=\"") else { return nil }
            return Double(piece[r.upperBound...].prefix { $0 != "\"" })
        }
        XCTAssertEqual(xs.count, 3)
        let fraction = (xs[1] - xs[0]) / (xs[2] - xs[0])
        XCTAssertEqual(fraction, 1 / 1.1, accuracy: 0.01)
    }

    func testMalformedFilesGetAClearError() {
        let cases: [(String, String)] = [
            ("not json at all", "not valid JSON"),
            ("{\"threads\": 2}", "missing \"points\""),
            ("{\"points\": [{\"sweep\": \"length\", \"model\": \"m\", \"parameters\": 1, \"tokens\": \"many\", \"task\": \"forward\", \"engine\": \"tlsh\"}]}",
             "points[0].tokens"),
            ("{\"points\": []}", "no measured points"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try ScalingResults.decode(Data(json.utf8), source: "bad.json"), json) { error in
                let message = "\(error)"
                XCTAssert(message.contains("bad.json") && message.contains(expected), message)
            }
        }
    }
}
