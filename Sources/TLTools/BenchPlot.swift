// `tlsh bench-plot`: the scaling curves of issue 22 drawn by tlsh's own renderer from the JSON that
// tools/bench/scaling.py writes (time and peak memory against parameter count and prompt length,
// one line per engine), so the docs' pictures come from the same code users plot with.
import Foundation
import TLCore
import TLRender

/// The measurements file of tools/bench/scaling.py (only the fields the plots read).
public struct ScalingResults: Decodable, Sendable {
    /// One measured (or skipped) point: an engine running one task on one model at one prompt length.
    public struct Point: Decodable, Sendable {
        /// "parameters" (the model-size sweep) or "length" (the prompt-length sweep).
        public var sweep: String
        public var model: String
        public var parameters: Double
        public var tokens: Int
        /// "forward" or "cache" (run_with_cache).
        public var task: String
        public var engine: String
        /// Median seconds of the task; absent when the point was skipped.
        public var seconds: Double?
        /// The process's resident high-water mark (load + task), MiB; absent when skipped.
        public var peakRSSMiB: Double?

        enum CodingKeys: String, CodingKey {
            case sweep, model, parameters, tokens, task, engine, seconds
            case peakRSSMiB = "peak_rss_mib"
        }
    }

    public var threads: Int?
    public var points: [Point]

    /// Reads the file's bytes; a malformed file gets an error naming the file, the problem and
    /// where in the JSON it is.
    public static func decode(_ data: Data, source: String) throws -> ScalingResults {
        let results: ScalingResults
        do {
            results = try JSONDecoder().decode(ScalingResults.self, from: data)
        } catch let error as DecodingError {
            throw ToolError("\(source) is not a scaling results file (\(describe(error))); write one with "
                            + "tools/bench/scaling.py, which gives each point sweep, model, parameters, tokens, task, engine, "
                            + "seconds and peak_rss_mib")
        }
        guard results.points.contains(where: { $0.seconds != nil || $0.peakRSSMiB != nil }) else {
            throw ToolError("\(source) has no measured points (every point was skipped or the list is empty); nothing to plot")
        }
        return results
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        switch error {
        case let .dataCorrupted(c) where c.codingPath.isEmpty: return "not valid JSON"
        case let .dataCorrupted(c): return "a bad value\(path(c)): \(c.debugDescription)"
        case let .keyNotFound(key, c): return "missing \"\(key.stringValue)\"\(path(c))"
        case let .typeMismatch(type, c): return "expected \(type)\(path(c))"
        case let .valueNotFound(type, c): return "expected \(type)\(path(c)), found null"
        @unknown default: return "\(error)"
        }
    }
}

public enum BenchPlot {
    /// One picture to write: its file stem (without extension) and the chart.
    public struct Plot: Sendable {
        public var name: String
        public var chart: LineChart
    }

    /// The four scaling charts (those with no measured point are left out): forward time and peak
    /// memory against parameter count, and against prompt length.
    public static func plots(_ results: ScalingResults) -> [Plot] {
        let threads = results.threads.map { ", \($0) threads" } ?? ""
        let bySize = results.points.filter { $0.sweep == "parameters" }
        let byLength = results.points.filter { $0.sweep == "length" }
        let sizeTokens = bySize.first.map { " on \($0.tokens) tokens" } ?? ""
        var plots: [Plot] = []
        func add(_ name: String, _ chart: LineChart?) { if let chart { plots.append(Plot(name: name, chart: chart)) } }
        add("scaling-time-parameters", chart(
            bySize.filter { $0.task == "forward" }, x: \.parameters, xText: parameterText, value: { $0.seconds.map { $0 * 1000 } },
            series: \.engine, title: "Forward time vs parameter count (GPT-2 shapes\(sizeTokens)\(threads))",
            xLabel: "parameters (log scale)", yLabel: "forward time (ms)"))
        add("scaling-memory-parameters", chart(
            bySize.filter { $0.task == "forward" }, x: \.parameters, xText: parameterText, value: \.peakRSSMiB,
            series: \.engine, title: "Peak memory vs parameter count (load + forward\(sizeTokens))",
            xLabel: "parameters (log scale)", yLabel: "peak RSS (MiB)"))
        var models: [String] = []  // in the order measured
        for p in byLength where !models.contains(p.model) { models.append(p.model) }
        // Legends name the models without their shared family prefix ("gpt2-small" -> "small"), so
        // that "TransformerLens 3.9, medium" fits the legend's 200 px.
        let shared = models.count > 1 ? sharedPrefix(models) : ""
        add("scaling-time-length", chart(
            byLength.filter { $0.task == "forward" }, x: { Double($0.tokens) }, xText: { String(Int($0)) },
            value: { $0.seconds.map { $0 * 1000 } },
            series: { models.count > 1 ? "\($0.engine), \($0.model.dropFirst(shared.count))" : $0.engine },
            title: "Forward time vs prompt length (\(models.joined(separator: ", "))\(threads))",
            xLabel: "prompt length (tokens, log scale)", yLabel: "forward time (ms)"))
        // Memory draws the first model's lengths only: two tasks x three engines already make six
        // lines, and a second model would run past the palette's eight colours.
        let memoryModel = byLength.first?.model ?? ""
        add("scaling-memory-length", chart(
            byLength.filter { $0.model == memoryModel }, x: { Double($0.tokens) }, xText: { String(Int($0)) }, value: \.peakRSSMiB,
            // "cache" stays short so that "TransformerLens 3.9, cache" fits the legend's 200 px.
            series: { "\($0.engine), \($0.task)" },
            title: "Peak memory vs prompt length (\(memoryModel): load + forward, or + run_with_cache)",
            xLabel: "prompt length (tokens, log scale)", yLabel: "peak RSS (MiB)"))
        return plots
    }

    /// A line per series over the distinct x values (placed at log10 x, so equal ratios are equal
    /// steps and a power law is a straight line); the y axis is log10 when the values span 10x or more.
    static func chart(_ points: [ScalingResults.Point], x: (ScalingResults.Point) -> Double, xText: (Double) -> String,
                      value: (ScalingResults.Point) -> Double?, series: (ScalingResults.Point) -> String,
                      title: String, xLabel: String, yLabel: String) -> LineChart? {
        let xs = Array(Set(points.map(x).filter { $0 > 0 && $0.isFinite })).sorted()
        var names: [String] = []  // first-appearance order: the engine order the harness ran them in
        for p in points where !names.contains(series(p)) { names.append(series(p)) }
        let lines = names.map { name in
            Series(name: name, values: xs.map { xv in
                Float(points.first { series($0) == name && x($0) == xv }.flatMap(value) ?? .nan)
            })
        }
        let finite = lines.flatMap(\.values).filter { $0.isFinite && $0 > 0 }
        guard let lo = finite.min(), let hi = finite.max() else { return nil }
        let log = hi / lo >= 10
        return LineChart(xLabels: xs.map(xText), series: lines, title: title, xLabel: xLabel,
                         yLabel: yLabel + (log ? ", log scale" : ""), logScale: log, xPositions: xs.map(log10))
    }

    /// The longest prefix of every name that ends in "-" ("gpt2-"), or "".
    static func sharedPrefix(_ names: [String]) -> String {
        guard var prefix = names.first else { return "" }
        for name in names.dropFirst() { while !name.hasPrefix(prefix) { prefix.removeLast() } }
        guard let dash = prefix.lastIndex(of: "-") else { return "" }
        return String(prefix[...dash])
    }

    /// "124M", "1.56B".
    static func parameterText(_ n: Double) -> String {
        n >= 1e9 ? String(format: "%.2fB", n / 1e9) : String(format: "%.0fM", n / 1e6)
    }

    /// A chart drawn: its file stem, the PNG and its size, and the SVG document.
    public struct Rendered: Sendable {
        public var name: String
        public var png: [UInt8]
        public var width: Int, height: Int
        public var svg: String
    }

    /// Every chart of `results` as PNG and SVG.
    public static func render(_ results: ScalingResults) throws -> [Rendered] {
        try plots(results).map { plot in
            let png = try plot.chart.renderPNG()
            return Rendered(name: plot.name, png: png.bytes, width: png.width, height: png.height, svg: try plot.chart.renderSVG())
        }
    }

    /// `tlsh bench-plot` options.
    public static let options = CommandLineOptions(command: "tlsh bench-plot", options: [
        .flag("--svg", help: "also write each chart as SVG (hover a point for its value)"),
    ], positionals: "RESULTS.json OUT_DIR")

    /// `tlsh bench-plot RESULTS.json OUT_DIR [--svg]`: writes OUT_DIR/scaling-*.png (and .svg) and
    /// prints each file's path.
    public static func run(arguments: [String], fail: (String, Int32) -> Never) -> Int32 {
        let parsed: CommandLineOptions.Parsed
        do { parsed = try options.parse(arguments) } catch { fail(error.description, 2) }
        if parsed.helpRequested { print(options.help); return 0 }
        guard parsed.positionals.count == 2 else { fail("bench-plot needs a results file and an output directory\n" + options.usageLine, 2) }
        let (input, output) = (parsed.positionals[0], parsed.positionals[1])
        do {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: input)) } catch {
                throw ToolError("cannot read \(input): \((error as NSError).localizedDescription)")
            }
            let results = try ScalingResults.decode(data, source: input)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            for picture in try render(results) {
                let png = URL(fileURLWithPath: output).appendingPathComponent(picture.name + ".png")
                try Data(picture.png).write(to: png)
                print(png.path)
                if parsed.has("--svg") {
                    let svg = png.deletingPathExtension().appendingPathExtension("svg")
                    try Data(picture.svg.utf8).write(to: svg)
                    print(svg.path)
                }
            }
            return 0
        } catch { fail("\(error)", 1) }
    }
}
