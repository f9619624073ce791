// ActivationCache's residual-stream analyses with TransformerLens 3.x semantics (§3 of the
// reference): accumulated_resid, decompose_resid, stack_head_results, stack_neuron_results,
// apply_ln_to_stack, logit_attrs, get_full_resid_decomposition. Every stack is
// [components, batch, (pos,) d_model] with one label per component.
import TLTensor

/// TransformerLens's pos_slice: all positions, one position (drops the axis), or a list.
public enum PosSlice: Sendable, Equatable {
    case all
    case index(Int)
    case indices([Int])

    /// Applies the slice to `axis` of `t`.
    func apply(_ t: Tensor, axis: Int) throws -> Tensor {
        switch self {
        case .all: return t
        case .index(let i): return try t.select(axis: axis, index: i)
        case .indices(let ix): return try t.gather(axis: axis, indices: ix)
        }
    }
}

/// A stack of residual-stream components with their labels.
public struct ResidualStack: Sendable {
    public var tensor: Tensor
    public var labels: [String]
}

extension ActivationCache {
    var nLayers: Int { model.config.nLayers }

    /// layer nil or −1 means "after the last block" (n_layers), as in TransformerLens.
    func endLayer(_ layer: Int?) throws -> Int {
        guard let layer, layer != -1 else { return nLayers }
        return try model.resolveLayer(layer, allowEnd: true)
    }

    /// Divides each component by the cached LayerNorm scale of the norm that reads the stream at
    /// `layer` (ln_final at the end), after centring it (LayerNorm models) — or by its own recomputed scale.
    public func applyLNToStack(_ stack: Tensor, layer: Int? = nil, mlpInput: Bool = false, posSlice: PosSlice = .all,
                               recomputeLN: Bool = false) throws -> Tensor {
        let l = try endLayer(layer)
        let d = model.config.dModel
        var out = stack
        // Centre every component over d_model (LayerNorm models only: RMSNorm does not centre).
        if model.config.normalizationType == .layerNorm { out.data.withUnsafeMutableBufferPointer { RecomputedNorm.center($0, d: d) } }
        if recomputeLN {
            out.data.withUnsafeMutableBufferPointer { RecomputedNorm.divideByScale($0, d: d, eps: model.config.eps) }
            return out
        }
        let scaleName = l == nLayers ? "ln_final.hook_scale" : "blocks.\(l).ln\(mlpInput ? 2 : 1).hook_scale"
        guard let full = self[scaleName] else {
            throw TLModelError.invalidInput("applying LayerNorm needs '\(scaleName)' in the cache; run without a names filter")
        }
        // scale [b, p, 1] → sliced like the stack's positions; every component shares it.
        let scale = try posSlice.apply(full, axis: 1)
        let perComponent = scale.count
        guard perComponent * d * (stack.shape[0]) == stack.count else {
            throw TLModelError.invalidInput("the stack's shape \(stack.shape) does not match the cached scale \(scale.shape)")
        }
        out.data.withUnsafeMutableBufferPointer { x in
            for c in 0..<stack.shape[0] {
                for r in 0..<perComponent {
                    let inv = 1 / scale.data[r]
                    let base = (c * perComponent + r) * d
                    for i in 0..<d { x[base + i] *= inv }
                }
            }
        }
        return out
    }

    /// accumulated_resid: the residual stream before each block (and mid-block with `inclMid`),
    /// ending with `final_post` when `layer` is the end. `applyLN` at the end recomputes ln_final
    /// per component (TransformerLens 3.x: a true logit lens).
    public func accumulatedResid(layer: Int? = nil, inclMid: Bool = false, applyLN: Bool = false,
                                 posSlice: PosSlice = .all, mlpInput: Bool = false) throws -> ResidualStack {
        let l = try endLayer(layer)
        var parts: [Tensor] = [], labels: [String] = []
        // Components 0…layer inclusive; the one at n_layers is the final residual.
        for i in 0...l {
            if i == nLayers { parts.append(try get("resid_post", layer: nLayers - 1)); labels.append("final_post"); break }
            parts.append(try get("resid_pre", layer: i)); labels.append("\(i)_pre")
            if (inclMid && i < l) || (mlpInput && i == l) { parts.append(try get("resid_mid", layer: i)); labels.append("\(i)_mid") }
        }
        var stack = try posSlice.apply(try Tensor.stack(parts), axis: 2)
        if applyLN {
            stack = try applyLNToStack(stack, layer: l, mlpInput: mlpInput, posSlice: posSlice, recomputeLN: l == nLayers)
        }
        return ResidualStack(tensor: stack, labels: labels)
    }

    public enum DecomposeMode: String, Sendable { case all, mlp, attn }

    /// decompose_resid: embed, pos_embed, then each block's attn_out and mlp_out before `layer`.
    public func decomposeResid(layer: Int? = nil, mlpInput: Bool = false, mode: DecomposeMode = .all, applyLN: Bool = false,
                               posSlice: PosSlice = .all, inclEmbeds: Bool = true) throws -> ResidualStack {
        let l = try endLayer(layer)
        var parts: [Tensor] = [], labels: [String] = []
        if inclEmbeds {
            parts.append(try get("hook_embed")); labels.append("embed")
            if let pe = self["hook_pos_embed"] { parts.append(pe); labels.append("pos_embed") }
        }
        for i in 0..<l {
            if mode != .mlp { parts.append(try get("attn_out", layer: i)); labels.append("\(i)_attn_out") }
            if mode != .attn { parts.append(try get("mlp_out", layer: i)); labels.append("\(i)_mlp_out") }
        }
        if mlpInput && mode != .mlp && l < nLayers { parts.append(try get("attn_out", layer: l)); labels.append("\(l)_attn_out") }
        var stack = try posSlice.apply(try Tensor.stack(parts), axis: 2)
        if applyLN { stack = try applyLNToStack(stack, layer: l, mlpInput: mlpInput, posSlice: posSlice) }
        return ResidualStack(tensor: stack, labels: labels)
    }

    /// Per-head outputs z[h] @ W_O[h] (no b_O) of one layer: [b, p, n_heads, d_model] (hook_result).
    public func headResults(layer: Int, posSlice: PosSlice = .all) throws -> Tensor {
        if let cached = self["blocks.\(layer).attn.hook_result"] { return try posSlice.apply(cached, axis: 1) }
        try model.requireWeights()  // W_O
        let z = try posSlice.apply(try get("z", layer: layer), axis: 1)  // [b, (p,) H, dh]
        let cfg = model.config, H = cfg.nHeads, dh = cfg.dHead, d = cfg.dModel
        let rows = z.count / (H * dh)
        var out = [Float](repeating: 0, count: rows * H * d)
        z.data.withUnsafeBufferPointer { zs in
            out.withUnsafeMutableBufferPointer { o in
                model.matrix(.o(layer)).multiplyBlocks(.rows(width: dh, count: H), m: rows, a: zs.baseAddress!, aStride: dh, lda: H * dh,
                                                       c: o.baseAddress!, cStride: d, ldc: H * d)
            }
        }
        return Tensor(shape: Array(z.shape.dropLast(2)) + [H, d], data: out)
    }

    /// stack_head_results: every head of the layers before `layer`, labelled `L{l}H{h}`, plus an
    /// optional `remainder` = resid_post[layer−1] − Σ heads.
    public func stackHeadResults(layer: Int = -1, inclRemainder: Bool = false, posSlice: PosSlice = .all,
                                 applyLN: Bool = false) throws -> ResidualStack {
        let l = try endLayer(layer)
        var parts: [Tensor] = [], labels: [String] = []
        for i in 0..<l {
            let r = try headResults(layer: i, posSlice: posSlice)  // [b, (p,) H, d]
            let headAxis = r.rank - 2
            for h in 0..<model.config.nHeads {
                parts.append(try r.select(axis: headAxis, index: h)); labels.append("L\(i)H\(h)")
            }
        }
        if inclRemainder {
            let total = try posSlice.apply(l == 0 ? try get("hook_embed") : try get("resid_post", layer: l - 1), axis: 1)
            var remainder = total
            for p in parts { remainder = try remainder - p }
            parts.append(remainder); labels.append("remainder")
        }
        var stack = try Tensor.stack(parts)
        if applyLN { stack = try applyLNToStack(stack, layer: l, posSlice: posSlice) }
        return ResidualStack(tensor: stack, labels: labels)
    }

    /// stack_neuron_results: post[n]·W_out[n] for every neuron of the layers before `layer`,
    /// labelled `L{l}N{n}`.
    public func stackNeuronResults(layer: Int, posSlice: PosSlice = .all, inclRemainder: Bool = false,
                                   applyLN: Bool = false) throws -> ResidualStack {
        let l = try endLayer(layer)
        let d = model.config.dModel, dMLP = model.config.dMLP
        var parts: [Tensor] = [], labels: [String] = []
        for i in 0..<l {
            let post = try posSlice.apply(try get("post", layer: i), axis: 1)  // [b, (p,) d_mlp]
            let rows = post.count / dMLP
            let wOut = model.floatLayer(i).wOut
            for n in 0..<dMLP {
                var out = [Float](repeating: 0, count: rows * d)
                for r in 0..<rows {
                    let a = post.data[r * dMLP + n]
                    for j in 0..<d { out[r * d + j] = a * wOut[n * d + j] }
                }
                parts.append(Tensor(shape: Array(post.shape.dropLast()) + [d], data: out)); labels.append("L\(i)N\(n)")
            }
        }
        if inclRemainder {
            var remainder = try posSlice.apply(l == 0 ? try get("hook_embed") : try get("resid_post", layer: l - 1), axis: 1)
            for p in parts { remainder = try remainder - p }
            parts.append(remainder); labels.append("remainder")
        }
        var stack = try Tensor.stack(parts)
        if applyLN { stack = try applyLNToStack(stack, layer: l, posSlice: posSlice) }
        return ResidualStack(tensor: stack, labels: labels)
    }

    /// logit_attrs: each component's contribution to logit(token) − logit(incorrect) through the
    /// final LayerNorm's cached scale: [components, b, (p)].
    public func logitAttrs(_ stack: Tensor, token: Int, incorrectToken: Int? = nil, posSlice: PosSlice = .all) throws -> Tensor {
        try model.requireWeights()  // W_U
        for t in [token] + (incorrectToken.map { [$0] } ?? []) where t < 0 || t >= model.config.dVocab {
            throw TLModelError.invalidInput("token id \(t) is outside the vocabulary (0..<\(model.config.dVocab))")
        }
        let scaled = try applyLNToStack(stack, layer: nil, posSlice: posSlice)
        var direction = model.unembedDirection(token)
        if let incorrectToken {
            let other = model.unembedDirection(incorrectToken)
            for i in direction.indices { direction[i] -= other[i] }
        }
        let d = model.config.dModel
        let rows = scaled.count / d
        var out = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var s: Float = 0
            for i in 0..<d { s += scaled.data[r * d + i] * direction[i] }
            out[r] = s
        }
        return Tensor(shape: Array(scaled.shape.dropLast()), data: out)
    }

    /// get_full_resid_decomposition: heads, neurons (or MLP outputs), embed, pos_embed and the
    /// accumulated biases; the rows sum to the residual stream entering `layer`.
    public func fullResidDecomposition(layer: Int? = nil, expandNeurons: Bool = true, applyLN: Bool = false,
                                       posSlice: PosSlice = .all) throws -> ResidualStack {
        let l = try endLayer(layer)
        let heads = try stackHeadResults(layer: l, posSlice: posSlice)
        var parts = [heads.tensor], labels = heads.labels
        if l > 0 {
            if expandNeurons {
                let neurons = try stackNeuronResults(layer: l, posSlice: posSlice)
                parts.append(neurons.tensor); labels += neurons.labels
            } else {
                let mlps = try decomposeResid(layer: l, mode: .mlp, posSlice: posSlice, inclEmbeds: false)
                parts.append(mlps.tensor); labels += mlps.labels
            }
        }
        let embeds = try decomposeResid(layer: 0, posSlice: posSlice)
        parts.append(embeds.tensor); labels += embeds.labels
        let bias = model.accumulatedBias(layer: l, includeMLPBiases: expandNeurons)
        let shape = Array(embeds.tensor.shape.dropFirst())
        var biasTensor = Tensor(zeros: shape)
        let d = model.config.dModel
        for r in 0..<(biasTensor.count / d) { for i in 0..<d { biasTensor.data[r * d + i] = bias[i] } }
        parts.append(biasTensor.unsqueezed(0)); labels.append("bias")
        var stack = try Tensor.concatenate(parts, axis: 0)
        if applyLN { stack = try applyLNToStack(stack, layer: l, posSlice: posSlice) }
        return ResidualStack(tensor: stack, labels: labels)
    }
}

/// lm_cross_entropy_loss: −log p(token[i+1] | prefix) per position [batch, pos−1], and its mean.
public func crossEntropyLoss(logits: Tensor, tokens: [[Int]]) -> (mean: Float, perToken: Tensor) {
    let B = logits.shape[0], P = logits.shape[1], V = logits.shape[2]
    var per = [Float](repeating: 0, count: B * max(P - 1, 0))
    var row = [Float](repeating: 0, count: V)
    logits.data.withUnsafeBufferPointer { lg in
        row.withUnsafeMutableBufferPointer { out in
            for b in 0..<B {
                for p in 0..<(P - 1) {
                    NeuralOps.logSoftmax(lg.baseAddress! + (b * P + p) * V, count: V, out: out.baseAddress!)
                    per[b * (P - 1) + p] = -out[tokens[b][p + 1]]
                }
            }
        }
    }
    let mean = per.isEmpty ? 0 : Float(per.reduce(0.0) { $0 + Double($1) } / Double(per.count))
    return (mean, Tensor(shape: [B, max(P - 1, 0)], data: per))
}
