// Attribution patching (Nanda; the Attribution_Patching_Demo of TransformerLens): a linear estimate
// of every activation patch at once from two forward passes and one backward pass,
//     patched metric − corrupt metric ≈ Σ (clean − corrupt) · d metric / d activation (at corrupt),
// summed over every axis not swept. Same granularities and orientation as `Patcher.sweep`.
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

    /// `stopGradient`: hook points to detach in the backward (e.g. LayerNorm scales).
    public init(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric,
                cleanCache: ActivationCache? = nil, stopGradient: ((String) -> Bool)? = nil,
                isCancelled: (() -> Bool)? = nil) throws {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        self.model = model; self.cleanTokens = clean; self.corruptTokens = corrupt; self.metric = metric
        let cleanLogits: Tensor
        if let cleanCache {
            self.cleanCache = cleanCache
            cleanLogits = try model.run(tokens: [clean]).logits!
        } else {
            (cleanLogits, self.cleanCache) = try model.runWithCache(tokens: [clean])
        }
        var o = GradientOptions()
        o.stopGradient = stopGradient
        o.isCancelled = isCancelled
        self.corrupt = try model.gradients(tokens: [corrupt], options: o) { logits in
            try metric.logitGradient(logits: logits, tokens: [corrupt])
        }
        cleanValue = metric.value(logits: cleanLogits, tokens: clean)
        corruptValue = metric.value(logits: self.corrupt.logits, tokens: corrupt)
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
