// Patching SAE features: with SAEs spliced into every run, copy one feature's activation
// (hook_sae_acts_post) from the clean run into the corrupted run — at one position or at every
// position — or set it to a constant (0: an ablation sweep), and measure the metric. This is what a
// hook on `HOOK.hook_sae_acts_post` does in HookedSAETransformer; with the error term on, the error
// stays that of the unpatched reconstruction.
import TLModel
import TLTensor

/// The metric per patched feature (and position).
public struct FeaturePatchResult: Sendable {
    public var features: [Int]
    /// The positions swept, or nil when each feature was patched at every position at once.
    public var positions: [Int]?
    /// [features] or [features, positions].
    public var values: Tensor
    public var cleanValue: Float
    public var corruptValue: Float
    public var normalized: Bool
}

/// Runs feature patching for one clean/corrupted pair with SAEs spliced in.
public final class FeaturePatcher: @unchecked Sendable {
    public let model: HookedTransformer
    /// Every SAE spliced into every run; the features patched are those of `splices[target]`.
    public let splices: [SAESplice]
    public let target: Int
    public let cleanTokens: [Int]
    public let corruptTokens: [Int]
    public let metric: PatchMetric
    public let cleanValue: Float
    public let corruptValue: Float
    /// hook_sae_acts_post of the target SAE in the clean and corrupted runs, [pos, d_sae].
    public let cleanActs: Tensor
    public let corruptActs: Tensor

    public init(model: HookedTransformer, splices: [SAESplice], target: Int = 0, clean: [Int], corrupt: [Int],
                metric: PatchMetric) throws {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens to patch features by position: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        guard splices.indices.contains(target) else { throw TLInterpError.invalidArgument("no SAE to patch features of; pass saes=[s]") }
        self.model = model; self.splices = splices; self.target = target
        cleanTokens = clean; corruptTokens = corrupt; self.metric = metric
        let hooks = splices.flatMap { $0.hooks(for: model) }
        let dSae = splices[target].sae.config.dSae
        func acts() throws -> Tensor {
            guard let t = splices[target].recorded.first(where: { $0.name.hasSuffix(".hook_sae_acts_post") })?.tensor else {
                throw TLInterpError.invalidArgument("the SAE at \(splices[target].sae.config.outputHook) did not fire")
            }
            return t.reshaped([-1, dSae])
        }
        var o = RunOptions()
        o.hooks = hooks
        cleanValue = metric.value(logits: try model.run(tokens: [clean], options: o).logits!, tokens: clean)
        cleanActs = try acts()
        corruptValue = metric.value(logits: try model.run(tokens: [corrupt], options: o).logits!, tokens: corrupt)
        corruptActs = try acts()
    }

    /// The `count` features whose activations differ most between the clean and corrupted runs
    /// (Σ over positions of |clean − corrupt|), largest first; features that never differ are left out.
    public func mostChangedFeatures(_ count: Int) -> [Int] {
        let F = cleanActs.shape[1], P = cleanActs.shape[0]
        var score = [Float](repeating: 0, count: F)
        for p in 0..<P { for f in 0..<F { score[f] += abs(cleanActs.data[p * F + f] - corruptActs.data[p * F + f]) } }
        return score.indices.filter { score[$0] > 0 }.sorted { score[$0] > score[$1] }.prefix(count).map { $0 }
    }

    /// Patched runs batched into one forward pass.
    static let batchLimit = 32

    /// Sweeps `features` (each at every position of `positions`, or at all positions at once when
    /// nil). `value` sets the feature to that constant instead of its clean activation.
    public func sweep(features: [Int], positions: [Int]? = nil, value: Float? = nil, normalize: Bool = false,
                      monitor: WorkMonitor = .none) throws -> FeaturePatchResult {
        let F = cleanActs.shape[1], P = corruptTokens.count
        if normalize && abs(cleanValue - corruptValue) <= 1e-6 * max(1, abs(cleanValue), abs(corruptValue)) {
            throw TLInterpError.invalidArgument("normalize=true divides by (clean − corrupt), but the clean and corrupt metrics are equal "
                + "(clean \(cleanValue), corrupt \(corruptValue)); patch two prompts the metric tells apart, or leave normalize=false")
        }
        for f in features where f < 0 || f >= F {
            throw TLInterpError.invalidArgument("feature \(f) is out of range: the SAE has \(F) features, 0…\(F - 1)")
        }
        let pos = try positions.map { ps in try ps.map { p -> Int in
            guard p >= -P && p < P else { throw TLInterpError.invalidArgument("position \(p) is out of range for \(P) tokens") }
            return p < 0 ? p + P : p
        } }
        // One cell per (feature, position); position nil = every position.
        var cells: [(feature: Int, pos: Int?)] = []
        for f in features {
            if let pos { for p in pos { cells.append((f, p)) } } else { cells.append((f, nil)) }
        }
        var out = [Float](repeating: 0, count: cells.count)
        let splice = splices[target]
        let hooks = splices.flatMap { $0.hooks(for: model) }
        defer { splice.editActs = nil }
        for start in stride(from: 0, to: cells.count, by: Self.batchLimit) {
            try monitor.checkCancelled()
            let chunk = Array(cells[start..<min(start + Self.batchLimit, cells.count)])
            // Batch element b carries patch b; its rows are b·P … b·P + P − 1.
            splice.editActs = { [self] acts, _ in
                for (b, cell) in chunk.enumerated() {
                    for p in cell.pos.map({ [$0] }) ?? Array(0..<P) {
                        let row = b * P + p
                        acts.data[row * F + cell.feature] = value ?? cleanActs.data[p * F + cell.feature]
                    }
                }
            }
            var o = RunOptions()
            o.hooks = hooks
            metric.restrict(&o, sequenceLength: P, startPosition: 0)
            let logits = try model.run(tokens: Array(repeating: corruptTokens, count: chunk.count), options: o).logits!
            for b in chunk.indices {
                let m = metric.evaluate(try logits.gather(axis: 0, indices: [b]), tokens: corruptTokens, restricted: metric.restrictsLogits)
                out[start + b] = normalize ? (m - corruptValue) / (cleanValue - corruptValue) : m
            }
            monitor.progress?(start + chunk.count, cells.count)
        }
        let shape = pos.map { [features.count, $0.count] } ?? [features.count]
        return FeaturePatchResult(features: features, positions: pos, values: Tensor(shape: shape, data: out),
                                  cleanValue: cleanValue, corruptValue: corruptValue, normalized: normalize)
    }
}
