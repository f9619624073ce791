// Activation patching with TransformerLens's granularities (patching.py): run the corrupted input
// once per index with one activation replaced by its value from the clean run, and measure.
//
// Same numbers as TransformerLens's one-full-forward-per-index loop, much less work per index:
// each patched run starts from the corrupted run's residual stream at the patched layer; when the
// patch touches one position, only positions at or after it are recomputed (earlier keys and
// values come from the corrupted run, which causality leaves untouched); and only the logits the
// metric reads are computed (two vocabulary columns for a logit difference).
import TLModel
import TLTensor

/// An axis of a patching sweep.
public enum PatchAxis: String, Sendable, CaseIterable {
    case layer, pos, head, dest, src

    /// The plural used in messages: "valid positions are 0…10".
    public var noun: String {
        switch self {
        case .layer: return "layers"
        case .pos: return "positions"
        case .head: return "heads"
        case .dest: return "destination positions"
        case .src: return "source positions"
        }
    }
}

/// Where the indexed axes live in an activation, by hook kind (batch axis 0 everywhere).
struct ActivationLayout {
    /// Axis of query/sequence positions (resid [b,p,d], q/k/v/z/result [b,p,h,·], pattern [b,h,q,k]).
    var pos: Int
    var head: Int?
    var src: Int?

    static func of(_ hookName: String) -> ActivationLayout {
        let tail = hookName.split(separator: ".").last.map(String.init) ?? hookName
        switch tail {
        case "hook_q", "hook_k", "hook_v", "hook_rot_q", "hook_rot_k", "hook_z", "hook_result", "hook_q_input", "hook_k_input",
             "hook_v_input", "hook_attn_in":
            return ActivationLayout(pos: 1, head: 2, src: nil)
        case "hook_pattern", "hook_attn_scores":
            return ActivationLayout(pos: 2, head: 1, src: 3)
        default:
            return ActivationLayout(pos: 1, head: nil, src: nil)
        }
    }
}

/// One patched run's index: a layer plus optional position / head / source position.
public struct PatchIndex: Sendable, Equatable {
    public var layer: Int
    public var pos: Int?
    public var head: Int?
    public var src: Int?
    public init(layer: Int, pos: Int? = nil, head: Int? = nil, src: Int? = nil) {
        self.layer = layer; self.pos = pos; self.head = head; self.src = src
    }
}

/// The result of a sweep: metric values shaped by the sweep's axes, in their order.
public struct PatchResult: Sendable {
    public var activation: String
    public var axes: [PatchAxis]
    /// The index values along each axis (e.g. the layers swept).
    public var axisValues: [[Int]]
    /// Metric per index, shape = axisValues counts.
    public var values: Tensor
    public var metric: PatchMetric
    public var cleanValue: Float
    public var corruptValue: Float
    public var normalized: Bool
}

/// Runs patching experiments for one clean/corrupted pair.
public final class Patcher: @unchecked Sendable {
    public let model: HookedTransformer
    public let cleanTokens: [Int]
    public let corruptTokens: [Int]
    public let cleanCache: ActivationCache
    let corruptCache: ActivationCache
    public let metric: PatchMetric
    public let cleanValue: Float
    public let corruptValue: Float
    /// Hooks in every run (SAEs spliced in). With them, each patched run is a full forward of the
    /// corrupted tokens: the shortcuts below restart from cached residuals, which would splice an
    /// SAE twice where it sits at the restart point.
    public let spliceHooks: [ForwardHook]
    /// Most rows (runs × recomputed positions) one batch of a sweep holds (PatchSchedule.swift), so
    /// a long prompt or a large head sweep splits into several batches instead of materialising a
    /// huge residual stream.
    public var rowBudget = 2048

    /// Runs the clean and corrupted inputs once (caching what patching needs), or takes runs the
    /// caller already made: a clean cache with its logits, a corrupted cache (holding every
    /// block's resid_pre, keys and values, as a full `run` does) with its logits. With
    /// `spliceHooks`, a given `cleanCache` must come from a run with the same hooks, and the other
    /// runs are made here.
    public init(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric,
                cleanCache: ActivationCache? = nil, cleanLogits givenCleanLogits: Tensor? = nil,
                corruptCache givenCorruptCache: ActivationCache? = nil, corruptLogits givenCorruptLogits: Tensor? = nil,
                spliceHooks: [ForwardHook] = []) throws {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens for positional patching: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        self.model = model
        self.cleanTokens = clean
        self.corruptTokens = corrupt
        self.metric = metric
        self.spliceHooks = spliceHooks
        // A cache kept in 16 bits (`run ... store=f16`) holds rounded activations: patch with exact ones.
        let cleanCache = cleanCache.flatMap { $0.storage.halfFormat == nil ? $0 : nil }
        var cleanRun = cleanCache.flatMap { c in givenCleanLogits.map { (logits: $0, cache: c) } }
        var corruptRun = givenCorruptCache.flatMap { c in givenCorruptLogits.map { (logits: $0, cache: c) } }
        if !spliceHooks.isEmpty { cleanRun = nil; corruptRun = nil }
        if let run = corruptRun, !Self.holdsPatchingState(run.cache) || run.cache.storage.halfFormat != nil { corruptRun = nil }
        if cleanCache == nil && corruptRun == nil && spliceHooks.isEmpty && clean.count <= Self.pairedRunLength {
            // Both runs as one batch of two: on a short prompt the forward is bound by streaming the
            // weights, which then happens once.
            let (logits, both) = try model.runWithCache(tokens: [clean, corrupt])
            cleanRun = (try logits.gather(axis: 0, indices: [0]), try both.sequence(0))
            corruptRun = (try logits.gather(axis: 0, indices: [1]), try both.sequence(1))
        }
        if cleanRun == nil {
            if let cleanCache {
                var o = RunOptions()
                o.hooks = spliceHooks
                cleanRun = (try model.run(tokens: [clean], options: o).logits!, cleanCache)
            } else {
                cleanRun = try model.runWithCache(tokens: [clean], hooks: spliceHooks)
            }
        }
        if corruptRun == nil { corruptRun = try model.runWithCache(tokens: [corrupt], hooks: spliceHooks) }
        self.cleanCache = cleanRun!.cache
        self.corruptCache = corruptRun!.cache
        cleanValue = metric.value(logits: cleanRun!.logits, tokens: clean)
        corruptValue = metric.value(logits: corruptRun!.logits, tokens: self.corruptTokens)
    }

    /// Whether a corrupted run's cache has what the patched runs restart from: every block's
    /// resid_pre, keys and values, and the last block's resid_post.
    static func holdsPatchingState(_ cache: ActivationCache) -> Bool {
        let cfg = cache.model.config
        let keyHook = KVCache.keyHook(for: cfg)
        return cache.contains("blocks.\(cfg.nLayers - 1).hook_resid_post") && (0..<cfg.nLayers).allSatisfy { l in
            ["hook_resid_pre", keyHook, "attn.hook_v"].allSatisfy { cache.contains("blocks.\(l).\($0)") }
        }
    }

    var seqLength: Int { corruptTokens.count }

    /// Longest prompt whose clean and corrupted runs share one batch (a longer one's two full
    /// caches would be copied apart, which costs more than the weights' second stream saves).
    static let pairedRunLength = 128

    /// The full hook name of `activation` at layer `l` (a full name is used as given), its clean
    /// value and where its indexed axes live.
    func target(_ activation: String, layer l: Int) throws -> (hookName: String, clean: Tensor, layout: ActivationLayout) {
        let hookName = activation.contains(".") ? activation : HookNames.actName(activation, layer: l)
        guard let clean = cleanCache[hookName] else {
            if model.hookNames.contains(hookName) {
                throw TLInterpError.invalidArgument("the clean cache has no '\(hookName)' (it was run with names=); run it again without names=, or with names= including it")
            }
            throw TLInterpError.invalidArgument("'\(hookName)' is not an activation of this model; see `hooks`")
        }
        return (hookName, clean, ActivationLayout.of(hookName))
    }

    /// The metric with `activation` (short or full name, resolved per layer) patched at `index`.
    public func patchedMetric(activation: String, index: PatchIndex) throws -> Float {
        if !spliceHooks.isEmpty { return try splicedMetrics(activation: activation, indices: [index])[0] }
        let l = try model.resolveLayer(index.layer)
        let (hookName, clean, layout) = try target(activation, layer: l)
        let P = seqLength
        // Causal shortcut: a patch at one (query) position leaves earlier positions untouched.
        var start = 0
        if let p = index.pos, metric != .loss { start = p < 0 ? p + P : p }
        guard start >= 0 && start < P else {
            throw TLInterpError.invalidArgument("position \(index.pos!) is out of range for \(P) tokens")
        }
        // resid_post of a block equals resid_pre of the next: start there and skip recomputing.
        var startLayer = l
        var patchName = hookName
        if hookName == "blocks.\(l).hook_resid_post" && l + 1 < model.config.nLayers {
            startLayer = l + 1
            patchName = "blocks.\(l + 1).hook_resid_pre"
        }
        var input: Tensor
        if hookName == "blocks.\(l).hook_resid_post" && l + 1 == model.config.nLayers {
            input = try corruptCache.get("resid_post", layer: l)  // patched directly, then unembedded
            try apply(&input, clean: clean, index: index, layout: ActivationLayout(pos: 1, head: nil, src: nil), start: 0)
            input = try input.slice(axis: 1, start: start, end: P)
            var o = RunOptions()
            o.startAtLayer = model.config.nLayers
            metric.restrict(&o, sequenceLength: P, startPosition: start)
            let logits = try model.run(residual: input, options: o).logits!
            return metric.evaluate(logits, tokens: corruptTokens, restricted: metric.restrictsLogits)
        }
        input = try corruptCache.get("resid_pre", layer: startLayer).slice(axis: 1, start: start, end: P)
        var o = RunOptions()
        o.startAtLayer = startLayer
        if start > 0 { o.kvCache = try KVCache(prefixOf: corruptCache, length: start) }
        metric.restrict(&o, sequenceLength: P, startPosition: start)
        o.hooks = [ForwardHook(name: patchName) { [self] act, _ in
            try self.apply(&act, clean: clean, index: index, layout: layout, start: start)
        }]
        let logits = try model.run(residual: input, options: o).logits!
        return metric.evaluate(logits, tokens: corruptTokens, restricted: metric.restrictsLogits)
    }

    /// Copies the clean values at `index` into `act`, whose query positions begin at `start`.
    func apply(_ act: inout Tensor, clean: Tensor, index: PatchIndex, layout: ActivationLayout, start: Int) throws {
        // Bring the clean activation to the same window of query positions.
        var source = start > 0 ? try clean.slice(axis: layout.pos, start: start, end: clean.shape[layout.pos]) : clean
        var target = act
        var selections: [(axis: Int, index: Int)] = []
        if let p = index.pos { selections.append((layout.pos, (p < 0 ? p + seqLength : p) - start)) }
        if let h = index.head {
            guard let axis = layout.head else {
                throw TLInterpError.invalidArgument("this activation has no head axis; drop head=")
            }
            selections.append((axis, h))
        }
        if let s = index.src {
            guard let axis = layout.src else { throw TLInterpError.invalidArgument("only attention patterns have a source position") }
            selections.append((axis, s))
        }
        if selections.isEmpty { act = source; return }
        // Write source[sel] into target[sel] by narrowing every selected axis to one index.
        for (axis, i) in selections where i < 0 || i >= act.shape[axis] {
            throw TLInterpError.invalidArgument("index \(i) out of range for axis of size \(act.shape[axis])")
        }
        try Self.copySelection(from: &source, into: &target, selections: selections)
        act = target
    }

    static func copySelection(from source: inout Tensor, into target: inout Tensor, selections: [(axis: Int, index: Int)]) throws {
        guard source.shape == target.shape else {
            throw TLInterpError.invalidArgument("clean and corrupted activations differ in shape: \(source.shape) vs \(target.shape)")
        }
        let shape = target.shape, strides = target.strides
        let fixed = Dictionary(uniqueKeysWithValues: selections.map { ($0.axis, $0.index) })
        var idx = [Int](repeating: 0, count: shape.count)
        for (a, i) in fixed { idx[a] = i }
        let free = (0..<shape.count).filter { fixed[$0] == nil }
        let total = free.reduce(1) { $0 * shape[$1] }
        for _ in 0..<total {
            var off = 0
            for a in 0..<shape.count { off += idx[a] * strides[a] }
            target.data[off] = source.data[off]
            var k = free.count - 1
            while k >= 0 {
                let a = free[k]
                idx[a] += 1
                if idx[a] < shape[a] { break }
                idx[a] = 0
                k -= 1
            }
        }
    }

    /// Most spliced patched runs (full forwards) batched into one forward pass.
    static let batchLimit = 32

    /// Full forward passes of the corrupted tokens (batch element b carries patch b) with the
    /// splice hooks, the patch applied after any SAE at the same hook (so it sets the value the
    /// rest of the model reads, as the cache holds it).
    func splicedMetrics(activation: String, indices: [PatchIndex]) throws -> [Float] {
        let l = try model.resolveLayer(indices[0].layer)
        let (hookName, clean, layout) = try target(activation, layer: l)
        let P = seqLength, n = indices.count
        var o = RunOptions()
        o.hooks = spliceHooks + [ForwardHook(name: hookName) { [self] act, _ in
            for (b, index) in indices.enumerated() {
                var one = try act.gather(axis: 0, indices: [b])
                try apply(&one, clean: clean, index: index, layout: layout, start: 0)
                try act.scatter(axis: 0, indices: [b], values: one)
            }
        }]
        metric.restrict(&o, sequenceLength: P, startPosition: 0)
        let logits = try model.run(tokens: Array(repeating: corruptTokens, count: n), options: o).logits!
        return try (0..<n).map { b in
            metric.evaluate(try logits.gather(axis: 0, indices: [b]), tokens: corruptTokens, restricted: metric.restrictsLogits)
        }
    }

    /// Sweeps `axes` (each over `ranges[axis]` or its full range) and returns the metric grid.
    public func sweep(activation: String, axes: [PatchAxis], ranges: [PatchAxis: [Int]] = [:], normalize: Bool = false,
                      monitor: WorkMonitor = .none) throws -> PatchResult {
        let cfg = model.config
        // Normalising divides by (clean − corrupt): undefined when the two runs score the same.
        if normalize && abs(cleanValue - corruptValue) <= 1e-6 * max(1, abs(cleanValue), abs(corruptValue)) {
            throw TLInterpError.invalidArgument("normalize=true divides by (clean − corrupt), but the clean and corrupt metrics are equal "
                + "(clean \(cleanValue), corrupt \(corruptValue)); patch two prompts the metric tells apart, or leave normalize=false")
        }
        // Heads of this activation: key/value heads for k and v under grouped-query attention.
        let probe = activation.contains(".") ? activation : HookNames.actName(activation, layer: 0)
        let heads = HookRegistry.headCount(of: probe, config: cfg) ?? cfg.nHeads
        let full: [PatchAxis: [Int]] = [.layer: Array(0..<cfg.nLayers), .pos: Array(0..<seqLength), .head: Array(0..<heads),
                                        .dest: Array(0..<seqLength), .src: Array(0..<seqLength)]
        let values = try axes.map { axis -> [Int] in
            let v = ranges[axis] ?? full[axis]!
            let limit = full[axis]!.count
            for i in v where i < -limit || i >= limit {
                throw TLInterpError.invalidArgument("\(axis.rawValue)=\(i) is out of range: valid \(axis.noun) are 0…\(limit - 1) (negative counts from the end)")
            }
            return v.map { $0 < 0 ? $0 + limit : $0 }
        }
        let counts = values.map(\.count)
        let total = counts.reduce(1, *)
        // Every index of the grid, in row-major order.
        var indices: [PatchIndex] = []
        indices.reserveCapacity(total)
        var idx = [Int](repeating: 0, count: axes.count)
        for _ in 0..<total {
            var index = PatchIndex(layer: 0)
            for (k, axis) in axes.enumerated() {
                let v = values[k][idx[k]]
                switch axis {
                case .layer: index.layer = v
                case .pos, .dest: index.pos = v
                case .head: index.head = v
                case .src: index.src = v
                }
            }
            indices.append(index)
            var k = axes.count - 1
            while k >= 0 { idx[k] += 1; if idx[k] < counts[k] { break }; idx[k] = 0; k -= 1 }
        }
        var out: [Float]
        var done = 0
        if spliceHooks.isEmpty {
            // Staggered batches by position window (PatchSchedule.swift).
            out = try scheduledMetrics(try schedule(activation: activation, indices: indices), monitor: monitor, done: &done, total: total)
        } else {
            // Full forwards with the SAEs spliced in; those of one layer share a batched pass.
            out = [Float](repeating: 0, count: total)
            let byLayer = Dictionary(grouping: indices.indices, by: { indices[$0].layer })
            for layer in byLayer.keys.sorted() {
                let members = byLayer[layer]!
                for chunkStart in stride(from: 0, to: members.count, by: Self.batchLimit) {
                    try monitor.checkCancelled()
                    let chunk = Array(members[chunkStart..<min(chunkStart + Self.batchLimit, members.count)])
                    let metrics = try splicedMetrics(activation: activation, indices: chunk.map { indices[$0] })
                    for (i, flat) in chunk.enumerated() { out[flat] = metrics[i] }
                    done += chunk.count
                    monitor.progress?(done, total)
                }
            }
        }
        if normalize { out = out.map { ($0 - corruptValue) / (cleanValue - corruptValue) } }
        return PatchResult(activation: activation, axes: axes, axisValues: values, values: Tensor(shape: counts, data: out),
                           metric: metric, cleanValue: cleanValue, corruptValue: corruptValue, normalized: normalize)
    }
}
