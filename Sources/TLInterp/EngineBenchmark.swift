// Measurements behind `tlsh bench`: the same work the Python harness (tools/bench) asks of
// TransformerLens and HF transformers, timed in-process with wall-clock medians, plus the
// machine's limits (streaming bandwidth, large-GEMM rate) that the engine is judged against.
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

    /// Runs the benchmark suite named in `tasks` on the model in `directory`; returns seconds per
    /// task (and, for the limit tasks, the rate or size named by the key).
    /// Environment: TLSH_BENCH_REPEATS overrides `repeats`; TLSH_BENCH_OUT names a directory where
    /// the patch grid and generated tokens are written as JSON for the harness to compare;
    /// TLSH_BENCH_DTYPE=bf16|f16 loads the block matrices in that precision (`model … dtype=`).
    public static func run(directory: URL, tasks: [String], repeats: Int = 5, threads: Int = 2,
                           log: (String) -> Void = { _ in }) throws -> [(String, Double)] {
        BLAS.setThreads(threads)
        log("OpenBLAS kernels: \(BLAS.coreName), \(BLAS.threads) threads")
        let env = ProcessInfo.processInfo.environment
        let repeats = env["TLSH_BENCH_REPEATS"].flatMap(Int.init) ?? repeats
        let outDir = env["TLSH_BENCH_OUT"].map { URL(fileURLWithPath: $0) }
        var results: [(String, Double)] = []
        var model: HookedTransformer?
        let dtype = env["TLSH_BENCH_DTYPE"].flatMap(WeightDType.init(rawValue:)) ?? .f32
        let load = try median(repeats: tasks.contains("load") ? min(3, repeats) : 1, warmup: false) {
            model = nil  // let the previous copy go first, so peak memory is one model
            model = try HookedTransformer.load(directory: directory, dtype: dtype)
        }
        guard let model else { return [] }
        if tasks.contains("load") { results.append(("load", load)); log("load+process: \(load)s") }
        let short = tokens(count: 11, vocab: model.config.dVocab)
        let long = tokens(count: min(1024, model.config.nCtx), vocab: model.config.dVocab)
        for task in tasks {
            switch task {
            case "load": continue
            case "forward11": results.append((task, try median(repeats: repeats) { _ = try model.run(tokens: [short]) }))
            case "cache11": results.append((task, try median(repeats: repeats) { _ = try model.runWithCache(tokens: [short]) }))
            case "forward1024":
                results.append((task, try median(repeats: max(1, repeats / 2)) { _ = try model.run(tokens: [long]) }))
            case "cache1024":
                results.append((task, try median(repeats: max(1, repeats / 2)) { _ = try model.runWithCache(tokens: [long]) }))
            case "forward128once":  // the scale check: one 128-token forward, no warm-up
                let p128 = tokens(count: min(128, model.config.nCtx), vocab: model.config.dVocab)
                results.append((task, try median(repeats: 1, warmup: false) { _ = try model.run(tokens: [p128]) }))
            case "patchlayers":  // the scale check's small sweep: resid_post per layer, every position at once
                let corrupt = tokens(count: 11, vocab: model.config.dVocab, seed: 2)
                results.append((task, try median(repeats: 1, warmup: false) {
                    let p = try Patcher(model: model, clean: short, corrupt: corrupt, metric: .logitDiff(answer: 1, wrong: 2))
                    _ = try p.sweep(activation: "resid_post", axes: [.layer]).values
                }))
            case "cache1024once":  // for peak memory: one run, no warm-up
                results.append((task, try median(repeats: 1, warmup: false) { _ = try model.runWithCache(tokens: [long]) }))
            case "patch":
                let corrupt = tokens(count: 11, vocab: model.config.dVocab, seed: 2)
                var grid: Tensor?
                results.append((task, try median(repeats: min(repeats, 3)) {
                    let p = try Patcher(model: model, clean: short, corrupt: corrupt, metric: .logitDiff(answer: 1, wrong: 2))
                    grid = try p.sweep(activation: "resid_post", axes: [.layer, .pos]).values
                }))
                if let outDir, let grid { try writeJSON(rows(grid), to: outDir.appendingPathComponent("patch-tlsh.json")) }
            case "attrib11":  // attribution patching: resid_post [layer, pos] and z [layer, head] from one backward
                let corrupt = tokens(count: 11, vocab: model.config.dVocab, seed: 2)
                results.append((task, try median(repeats: repeats) {
                    let atp = try AttributionPatcher(model: model, clean: short, corrupt: corrupt, metric: .logitDiff(answer: 1, wrong: 2))
                    _ = try atp.attribute(activation: "resid_post", axes: [.layer, .pos])
                    _ = try atp.attribute(activation: "z", axes: [.layer, .head])
                }))
            case "grad1024":  // every hook's gradient of a logit difference on 1024 tokens
                results.append((task, try median(repeats: max(1, repeats / 2)) {
                    _ = try model.gradients(tokens: [long]) { try PatchMetric.logitDiff(answer: 1, wrong: 2).logitGradient(logits: $0, tokens: [long]) }
                }))
            case "eap15":  // EAP scores over every edge, a top-50 circuit and its faithfulness run, 15 tokens
                let clean15 = tokens(count: 15, vocab: model.config.dVocab), corrupt15 = tokens(count: 15, vocab: model.config.dVocab, seed: 2)
                let metric = PatchMetric.logitDiff(answer: 1, wrong: 2)
                results.append((task, try median(repeats: min(repeats, 3)) {
                    let scores = try EdgeAttribution.scores(model: model, clean: clean15, corrupt: corrupt15, metric: metric)
                    let circuit = EdgeAttribution.circuit(scores, top: 50)
                    _ = try EdgeAttribution.evaluate(model: model, circuit: circuit.edgeNames, clean: clean15, corrupt: corrupt15, metric: metric)
                }))
            case "generate40":
                var generated: [Int] = []
                results.append((task, try median(repeats: min(repeats, 3)) {
                    generated = try Generator(model: model).generate(prompt: short, maxNewTokens: 40, sampling: .greedy, stopAtEOS: false)
                }))
                if let outDir { try writeJSON(generated, to: outDir.appendingPathComponent("generate-tlsh.json")) }
            case "stream": results.append(("stream_GBps", MachineLimits.streamingReadGBps(threads: threads)))
            case "gemm": results.append(("gemm_GFLOPps", MachineLimits.sgemmGFLOPps(n: 2048)))
            case "weightbytes":
                results.append(("weight_bytes", Double(MachineLimits.streamedWeightBytes(model))))
                results.append(("forward1024_flop", MachineLimits.forwardFLOP(model.config, tokens: long.count)))
            default:
                // forwardN / generateN for any N (the family benchmark's prompt-length and
                // generation-length series, tools/bench/families.py).
                if task.hasPrefix("forward"), let n = Int(task.dropFirst("forward".count)), n >= 1 {
                    let prompt = tokens(count: min(n, model.config.nCtx), vocab: model.config.dVocab)
                    results.append((task, try median(repeats: n >= 512 ? max(1, repeats / 2) : repeats) { _ = try model.run(tokens: [prompt]) }))
                } else if task.hasPrefix("generate"), let n = Int(task.dropFirst("generate".count)), n >= 1 {
                    var generated: [Int] = []
                    results.append((task, try median(repeats: min(repeats, 3)) {
                        generated = try Generator(model: model).generate(prompt: short, maxNewTokens: n, sampling: .greedy, stopAtEOS: false)
                    }))
                    if let outDir { try writeJSON(generated, to: outDir.appendingPathComponent("generate-tlsh.json")) }
                } else {
                    throw TLInterpError.invalidArgument("unknown benchmark task '\(task)'")
                }
            }
            log("\(results.last!.0): \(results.last!.1)")
        }
        return results
    }

    static func rows(_ t: Tensor) -> [[Float]] {
        let n = t.shape.last ?? 1
        return stride(from: 0, to: t.count, by: n).map { Array(t.data[$0..<($0 + n)]) }
    }

    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try JSONEncoder().encode(value).write(to: url)
    }
}
