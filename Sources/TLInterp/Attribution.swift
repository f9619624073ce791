// Attribution patching (Nanda; the Attribution_Patching_Demo of TransformerLens): a linear estimate
// of every activation patch at once from two forward passes and one backward pass,
//     patched metric − corrupt metric ≈ Σ (clean − corrupt) · d metric / d activation (at corrupt),
// summed over every axis not swept. Same granularities and orientation as `Patcher.sweep`.
import Foundation
import TLModel
import TLTensor

/// An axis of an attribution grid.
public enum AttributionAxis: String, Sendable, CaseIterable {
    case layer, pos, head, dest, src, neuron
}

/// Attribution scores (estimated metric change of patching clean into corrupt) by the sweep's axes.
public struct AttributionResult: Sendable {
    public var activation: String
    public var axes: [AttributionAxis]
    public var axisValues: [[Int]]
    /// Shape = axisValues counts, in `axes` order.
    public var values: Tensor
    public var metric: PatchMetric
    public var cleanValue: Float
    public var corruptValue: Float
}

/// One clean/corrupt pair: the clean activations, and the corrupted run's activations and gradients.
public final class AttributionPatcher: @unchecked Sendable {
    public let model: HookedTransformer
    public let cleanTokens: [Int]
    public let corruptTokens: [Int]
    public let metric: PatchMetric
    public let cleanCache: ActivationCache
    /// The corrupted run: activations and d metric / d activation at every hook.
    public let corrupt: GradientRun
    public let cleanValue: Float
    public let corruptValue: Float
    /// The clean run's logits (GradDrop's extra patchers reuse them): [1, P, V], or [1, P, columns]
    /// over `cleanLogitColumns`.
    let cleanLogits: Tensor
    let cleanLogitColumns: [Int]?

    /// `cleanCache` (with `cleanLogits`, when known) saves the clean run; `stopGradient`: hook
    /// points to detach in the backward (e.g. LayerNorm scales).
    public convenience init(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric,
                            cleanCache: ActivationCache? = nil, cleanLogits: Tensor? = nil, stopGradient: ((String) -> Bool)? = nil,
                            isCancelled: (() -> Bool)? = nil) throws {
        try self.init(model: model, clean: clean, corrupt: corrupt, metric: metric, cleanCache: cleanCache, cleanLogits: cleanLogits,
                      cleanLogitColumns: nil, stopGradient: stopGradient, isCancelled: isCancelled)
    }

    /// `cleanLogitColumns`: the vocabulary columns `cleanLogits` holds (nil: all).
    init(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric, cleanCache: ActivationCache?,
         cleanLogits: Tensor?, cleanLogitColumns: [Int]?, stopGradient: ((String) -> Bool)?, isCancelled: (() -> Bool)?) throws {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        self.model = model; self.cleanTokens = clean; self.corruptTokens = corrupt; self.metric = metric
        // A metric of a few logits (a logit difference, a logit) needs those columns only: neither run
        // computes the full unembedding (a third of a forward pass at short prompts). Ids outside the
        // vocabulary take the full path, whose metric gradient names the problem.
        let V = model.config.dVocab
        let columns = metric.columns.flatMap { cs in cs.allSatisfy { $0 >= 0 && $0 < V } ? cs : nil }
        let knownCleanLogits = cleanLogits
        let cleanLogits: Tensor
        // A cache kept in 16 bits (`run ... store=f16`) holds rounded activations: run our own exact one.
        if let cleanCache, cleanCache.storage.halfFormat == nil {
            self.cleanCache = cleanCache
            if let knownCleanLogits {
                cleanLogits = knownCleanLogits
                self.cleanLogitColumns = knownCleanLogits.shape.last == V ? nil : cleanLogitColumns
            } else {
                var o = RunOptions()
                o.logitTokens = columns
                cleanLogits = try model.run(tokens: [clean], options: o).logits!
                self.cleanLogitColumns = columns
            }
        } else {
            // Every hook point but the (narrowed) logits: `attribute` may be asked for any of them.
            var o = RunOptions()
            o.cacheFilter = columns == nil ? { _ in true } : { $0 != "unembed.hook_out" }
            o.logitTokens = columns
            o.isCancelled = isCancelled
            let out = try model.run(tokens: [clean], options: o)
            (cleanLogits, self.cleanCache) = (out.logits!, out.cache)
            self.cleanLogitColumns = columns
        }
        var o = GradientOptions()
        o.stopGradient = stopGradient
        o.isCancelled = isCancelled
        o.logitColumns = columns
        self.corrupt = try model.gradients(tokens: [corrupt], options: o) { logits in
            try metric.logitGradient(logits: logits, tokens: [corrupt], vocabulary: V)
        }
        self.cleanLogits = cleanLogits
        cleanValue = Self.value(metric, logits: cleanLogits, columns: self.cleanLogitColumns, tokens: clean)
        corruptValue = Self.value(metric, logits: self.corrupt.logits, columns: columns, tokens: corrupt)
    }

    /// The metric of logits [1, P, V], or of [1, P, columns.count] holding just the metric's columns.
    static func value(_ metric: PatchMetric, logits: Tensor, columns: [Int]?, tokens: [Int]) -> Float {
        guard let columns, let position = metric.position else { return metric.value(logits: logits, tokens: tokens) }
        let P = logits.shape[1], k = columns.count, p = position < 0 ? position + P : position
        switch metric {
        case .logitDiff: return logits.data[p * k] - logits.data[p * k + 1]
        case .logit: return logits.data[p * k]
        case .probability, .loss: return metric.value(logits: logits, tokens: tokens)
        }
    }

    /// (clean − corrupt) ⊙ gradient at `activation` of layer `l`, batch axis kept: the per-element
    /// attribution that every grid sums.
    public func elementwise(activation: String, layer l: Int) throws -> (hookName: String, scores: Tensor) {
        let hookName = activation.contains(".") ? activation : HookNames.actName(activation, layer: l)
        guard let clean = cleanCache[hookName] else {
            throw TLInterpError.invalidArgument("the clean run has no '\(hookName)'; is it a hook of this model (see `hooks`)?")
        }
        guard let corruptAct = corrupt.activations[hookName], let grad = corrupt.gradients[hookName] else {
            throw TLInterpError.invalidArgument("'\(hookName)' has no gradient (stopped or not a hook point of this model)")
        }
        return (hookName, try (clean - corruptAct) * grad)
    }

    /// Where each axis lives in an activation of `hookName` (batch is axis 0).
    static func tensorAxis(_ axis: AttributionAxis, hookName: String, rank: Int) throws -> Int {
        let layout = ActivationLayout.of(hookName)
        switch axis {
        case .layer: throw TLInterpError.invalidArgument("layer is not an axis of one activation")
        case .pos, .dest: return layout.pos
        case .head:
            guard let h = layout.head else { throw TLInterpError.invalidArgument("\(hookName) has no head axis; drop head=") }
            return h
        case .src:
            guard let s = layout.src else { throw TLInterpError.invalidArgument("only attention patterns and scores have a source position; drop src=") }
            return s
        case .neuron:
            guard hookName.hasSuffix("mlp.hook_pre") || hookName.hasSuffix("mlp.hook_post") else {
                throw TLInterpError.invalidArgument("neuron= applies to the MLP's pre and post activations")
            }
            return rank - 1
        }
    }

    /// Sweeps `axes` (layer plus any of pos/dest, head, src, neuron; each over `ranges[axis]` or its
    /// full range) and returns the attribution grid.
    public func attribute(activation: String, axes: [AttributionAxis], ranges: [AttributionAxis: [Int]] = [:]) throws -> AttributionResult {
        let cfg = model.config
        guard axes.first == .layer, Set(axes).count == axes.count else {
            throw TLInterpError.invalidArgument("an attribution sweep starts with the layer axis and names each axis once")
        }
        let layers = try (ranges[.layer] ?? Array(0..<cfg.nLayers)).map { try model.resolveLayer($0) }
        var perLayer: [Tensor] = []
        var values: [[Int]] = [layers]
        for (n, l) in layers.enumerated() {
            let (hookName, scores) = try elementwise(activation: activation, layer: l)
            let inner = Array(axes.dropFirst())
            let keep = try inner.map { try Self.tensorAxis($0, hookName: hookName, rank: scores.rank) }
            var grid = Self.sumKeeping(scores, keep: keep)
            for (k, axis) in inner.enumerated() {
                let size = scores.shape[keep[k]]
                let wanted = try (ranges[axis] ?? Array(0..<size)).map { i -> Int in
                    guard i >= -size && i < size else {
                        throw TLInterpError.invalidArgument("\(axis.rawValue)=\(i) is out of range: valid \(axis.rawValue)s are 0…\(size - 1)")
                    }
                    return i < 0 ? i + size : i
                }
                grid = try grid.gather(axis: k, indices: wanted)
                if n == 0 { values.append(wanted) }
            }
            perLayer.append(grid)
        }
        let stacked = try Tensor.stack(perLayer)
        return AttributionResult(activation: activation, axes: axes, axisValues: values, values: stacked, metric: metric,
                                 cleanValue: cleanValue, corruptValue: corruptValue)
    }

    /// Sums `t` over every axis not in `keep`; the result's axes follow `keep`'s order.
    static func sumKeeping(_ t: Tensor, keep: [Int]) -> Tensor {
        let shape = t.shape, strides = t.strides
        let outShape = keep.map { shape[$0] }
        let outStrides = Tensor.strides(for: outShape)
        var out = Tensor(zeros: outShape)
        // Each input axis's contribution to the output offset (0 for summed axes).
        var step = [Int](repeating: 0, count: shape.count)
        for (k, a) in keep.enumerated() { step[a] = outStrides[k] }
        for flat in 0..<t.count {
            var rest = flat, off = 0
            for a in 0..<shape.count { off += (rest / strides[a]) * step[a]; rest %= strides[a] }
            out.data[off] += t.data[flat]
        }
        return out
    }
}

// MARK: AtP*'s QK fix

extension AttributionPatcher {
    /// AtP*'s QK fix (Kramár et al. 2024) for queries and keys: instead of going linearly through
    /// the softmax, the attention pattern is recomputed with the clean q (or k) and the estimate
    /// is Σ d metric / d pattern · (new pattern − corrupt pattern). Axes: [layer, head] (every
    /// position patched at once) or [layer, pos, head] / [layer, head, pos] (one position at a time).
    public func attributeQKFixed(activation: String, axes: [AttributionAxis], ranges: [AttributionAxis: [Int]] = [:]) throws -> AttributionResult {
        guard activation == "q" || activation == "k" else {
            throw TLInterpError.invalidArgument("the QK fix applies to q and k only")
        }
        let inner = Array(axes.dropFirst())
        guard axes.first == .layer, inner.contains(.head), inner.allSatisfy({ $0 == .head || $0 == .pos }), Set(inner).count == inner.count else {
            throw TLInterpError.invalidArgument("the QK fix sweeps layer and head, optionally pos (as head=* or pos=* head=*)")
        }
        let cfg = model.config, H = cfg.nHeads, P = corruptTokens.count
        // The recomputed softmax reads hook_q / hook_k as the scores' own q and k (GPT-2's attention);
        // rotary, q/k norms, shared key/value heads, soft-caps or a custom scale come between them.
        if cfg.isRotary || cfg.useQKNorm || cfg.kvHeads != cfg.nHeads || cfg.attnScoresSoftCap > 0 || cfg.attnScale != nil {
            throw TLInterpError.invalidArgument("the QK fix is implemented for GPT-2-style attention only (this model's scores use rotary, "
                + "q/k norms, grouped key/value heads, a soft-cap or its own scale); drop qk_fix= (plain attribution works on it)")
        }
        let layers = try (ranges[.layer] ?? Array(0..<cfg.nLayers)).map { try model.resolveLayer($0) }
        let heads = try Self.resolve(ranges[.head], size: H, name: "head")
        let positions = try Self.resolve(ranges[.pos], size: P, name: "pos")
        var out: [Float] = []
        for l in layers {
            let (byPos, joint) = try qkFixed(activation: activation, layer: l)  // [P, H], [H]
            if inner == [.head] {
                out += heads.map { joint[$0] }
            } else if inner == [.pos, .head] {
                for p in positions { for h in heads { out.append(byPos[p * H + h]) } }
            } else {
                for h in heads { for p in positions { out.append(byPos[p * H + h]) } }
            }
        }
        let values: [[Int]] = [layers] + inner.map { $0 == .head ? heads : positions }
        return AttributionResult(activation: activation + " (QK fix)", axes: axes, axisValues: values,
                                 values: Tensor(shape: values.map(\.count), data: out), metric: metric,
                                 cleanValue: cleanValue, corruptValue: corruptValue)
    }

    static func resolve(_ wanted: [Int]?, size: Int, name: String) throws -> [Int] {
        try (wanted ?? Array(0..<size)).map { i in
            guard i >= -size && i < size else { throw TLInterpError.invalidArgument("\(name)=\(i) is out of range: valid \(name)s are 0…\(size - 1)") }
            return i < 0 ? i + size : i
        }
    }

    /// One layer's QK-fixed estimates: per (position, head) [P·H] and with every position at once [H].
    func qkFixed(activation: String, layer l: Int) throws -> (byPos: [Float], joint: [Float]) {
        let cfg = model.config, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, P = corruptTokens.count
        let p = "blocks.\(l).attn."
        func need(_ c: ActivationCache, _ n: String) throws -> Tensor {
            guard let t = c[n] else { throw TLInterpError.invalidArgument("the QK fix needs '\(n)'") }
            return t
        }
        let qC = try need(corrupt.activations, p + "hook_q"), kC = try need(corrupt.activations, p + "hook_k")  // [1, P, H, dh]
        let qN = try need(cleanCache, p + "hook_q"), kN = try need(cleanCache, p + "hook_k")
        let pattern = try need(corrupt.activations, p + "hook_pattern"), grad = try need(corrupt.gradients, p + "hook_pattern")  // [1, H, P, P]
        var scale = Float(dh).squareRoot()
        if cfg.scaleAttnByInverseLayerIdx { scale *= Float(l + 1) }
        func dot(_ a: Tensor, _ i: Int, _ b: Tensor, _ j: Int, _ h: Int) -> Float {
            var s: Float = 0
            for x in 0..<dh { s += a.data[i * hd + h * dh + x] * b.data[j * hd + h * dh + x] }
            return s / scale
        }
        var byPos = [Float](repeating: 0, count: P * H), joint = [Float](repeating: 0, count: H)
        for h in 0..<H {
            let block = h * P * P
            func G(_ i: Int, _ j: Int) -> Float { grad.data[block + i * P + j] }
            func A(_ i: Int, _ j: Int) -> Float { pattern.data[block + i * P + j] }
            // Σ_j G[i, j] · softmax(row)[j] − Σ_j G[i, j] · A[i, j] for a causal row of new scores.
            func rowChange(_ i: Int, _ scores: [Float]) -> Float {
                let m = scores.max() ?? 0
                var z: Float = 0, s: Float = 0
                for j in 0...i { let e = expf(scores[j] - m); z += e; s += G(i, j) * e }
                var before: Float = 0
                for j in 0...i { before += G(i, j) * A(i, j) }
                return s / z - before
            }
            if activation == "q" {
                // A query moves only its own row; all positions at once is the sum of the rows.
                for i in 0..<P {
                    let change = rowChange(i, (0...i).map { dot(qN, i, kC, $0, h) })
                    byPos[i * H + h] = change
                    joint[h] += change
                }
            } else {
                // Every key at once: each row with clean keys.
                for i in 0..<P { joint[h] += rowChange(i, (0...i).map { dot(qC, i, kN, $0, h) }) }
                // One key s: in each row i ≥ s only score s changes by δ; the new row is
                // A[i, j] / Z (j ≠ s), A[i, s] e^δ / Z with Z = 1 − A[i, s] + A[i, s] e^δ.
                for s in 0..<P {
                    var total: Float = 0
                    for i in s..<P {
                        let delta = dot(qC, i, kN, s, h) - dot(qC, i, kC, s, h)
                        let a = A(i, s)
                        guard a > 1e-30 else {  // the softmax underflowed to 0 at s: recompute the row
                            total += rowChange(i, (0...i).map { dot(qC, i, $0 == s ? kN : kC, $0, h) })
                            continue
                        }
                        var before: Float = 0
                        for j in 0...i { before += G(i, j) * A(i, j) }
                        // Scaled by e^−δ when δ > 0, so that nothing overflows.
                        let shrink = delta > 0 ? expf(-delta) : 1, grow = delta > 0 ? 1 : expf(delta)
                        let z = (1 - a) * shrink + a * grow
                        total += ((before - G(i, s) * a) * shrink + G(i, s) * a * grow) / z - before
                    }
                    byPos[s * H + h] = total
                }
            }
        }
        return (byPos, joint)
    }
}
