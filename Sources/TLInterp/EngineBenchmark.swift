// Measurements behind `tlsh bench`: the same work the Python harness (tools/bench) asks of
// TransformerLens and HF transformers, timed in-process with wall-clock medians.
import Foundation
import TLModel
import TLTensor

public enum EngineBenchmark {
    /// Median wall time in seconds of `repeats` runs of `body` (after one warm-up run).
    public static func median(repeats: Int, warmup: Bool = true, _ body: () throws -> Void) rethrows -> Double {
        if warmup { try body() }
        var times: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Deterministic pseudo-random token ids (an LCG), identical to the Python harness's list.
    public static func tokens(count: Int, vocab: Int, seed: UInt64 = 1) -> [Int] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(vocab))
        }
    }

    /// Runs the benchmark suite named in `tasks` on the model in `directory`; returns seconds per task.
    public static func run(directory: URL, tasks: [String], repeats: Int = 5, threads: Int = 2,
                           log: (String) -> Void = { _ in }) throws -> [(String, Double)] {
        BLAS.setThreads(threads)
        var results: [(String, Double)] = []
        var model: HookedTransformer?
        let load = try median(repeats: tasks.contains("load") ? 3 : 1, warmup: false) {
            model = try HookedTransformer.load(directory: directory)
        }
        guard let model else { return [] }
        if tasks.contains("load") { results.append(("load", load)); log("load+process: \(load)s") }
        let short = tokens(count: 11, vocab: model.config.dVocab)
        let long = tokens(count: min(1024, model.config.nCtx), vocab: model.config.dVocab)
        for task in tasks {
            let t: Double
            switch task {
            case "load": continue
            case "forward11": t = try median(repeats: repeats) { _ = try model.run(tokens: [short]) }
            case "cache11": t = try median(repeats: repeats) { _ = try model.runWithCache(tokens: [short]) }
            case "forward1024": t = try median(repeats: max(1, repeats / 2)) { _ = try model.run(tokens: [long]) }
            case "cache1024": t = try median(repeats: max(1, repeats / 2)) { _ = try model.runWithCache(tokens: [long]) }
            case "patch":
                let corrupt = tokens(count: 11, vocab: model.config.dVocab, seed: 2)
                t = try median(repeats: 3) {
                    let p = try Patcher(model: model, clean: short, corrupt: corrupt, metric: .logitDiff(answer: 1, wrong: 2))
                    _ = try p.sweep(activation: "resid_post", axes: [.layer, .pos])
                }
            case "generate40":
                t = try median(repeats: 3) {
                    _ = try Generator(model: model).generate(prompt: short, maxNewTokens: 40, sampling: .greedy, stopAtEOS: false)
                }
            default: throw TLInterpError.invalidArgument("unknown benchmark task '\(task)'")
            }
            results.append((task, t))
            log("\(task): \(t)s")
        }
        return results
    }
}
