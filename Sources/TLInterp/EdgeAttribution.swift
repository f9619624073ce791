// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated gradients (EAP-IG,
// Hanna et al. 2024) over the residual-stream graph of every family:
//   senders   input (hook_embed + hook_pos_embed; hook_embed alone under rotary), every head's output aL.hH (z[h] @ W_O[h]), every MLP mL
//   receivers every query head's q input aL.hH<q>, every key/value head's k and v input aL.hG<k>, aL.hG<v>
//             (under grouped-query attention G counts key/value heads; with multi-head attention G = H),
//             every MLP's input mL, the logits
// An edge u → v exists when v reads the residual stream after u writes it: with parallel blocks
// (GPT-NeoX) an MLP reads resid_pre like its layer's heads, so no head feeds its own layer's MLP.
// Its score is
//   score(u → v) = (a_u(clean) − a_u(corrupt)) · d metric / d a_u along the edge u → v,
// summed over positions and d_model. Where a head's output adds straight into the residual stream
// that gradient is d metric / d in_v. Gemma-2 normalises the attention output before adding it
// (attn_out = ln1_post(Σ_h result_h + b_O)), so a head's output reaches v through that norm: the
// gradient along the edge is J_ln1_postᵀ · d metric / d in_v, the norm's Jacobian taken at the run
// (the chain rule with only the edge's path kept). MLP outputs (hook_mlp_out, after ln2_post) add
// straight in on every family. Soft-caps are in the backward pass itself.
//
// The gradient is taken on the clean input (EAP), or averaged over interpolations from corrupt to
// clean (EAP-IG, α = k/steps, k = 1…steps):
//   on inputs       steps runs whose blocks.0.hook_resid_pre is corrupt + α(clean − corrupt);
//   on activations  for each layer node in turn (the input, each layer's attention — all heads at
//                   once — and each MLP) steps runs of the clean input with that node's output set
//                   to corrupt + α(clean − corrupt) and the gradient stopped there (it is a
//                   constant, as when a hook returns a new tensor); every run's gradients are averaged
//                   over all (1 + 2L)·steps runs (the eap library's EAP-IG-activations). The runs
//                   are batched, several nodes' steps to one forward and backward pass.
// A positive score means the edge carries the clean behaviour: corrupting it alone is estimated to
// lower the metric by that much. Node and edge names follow the eap / MIB library
// ("input->a0.h1<q>", "a0.h1->m1", "m1->logits").
import Foundation
import TLModel
import TLTensor

/// A sender or receiver of the edge graph.
public struct EdgeNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case input, head(layer: Int, head: Int), mlp(layer: Int), logits
        var headIndex: Int? { if case .head(_, let h) = self { return h }; return nil }
    }
    public let kind: Kind
    /// For receivers of heads: "q", "k" or "v".
    public let channel: String?
    /// Query heads per key/value head (k and v receivers under grouped-query attention; else 1).
    public let group: Int

    public init(kind: Kind, channel: String? = nil, group: Int = 1) {
        self.kind = kind; self.channel = channel; self.group = group
    }

    public var name: String {
        switch kind {
        case .input: return "input"
        case .head(let l, let h): return "a\(l).h\(h)" + (channel.map { "<\($0)>" } ?? "")
        case .mlp(let l): return "m\(l)"
        case .logits: return "logits"
        }
    }
    /// The component (node of the circuit graph), without the q/k/v channel.
    public var component: String { EdgeNode(kind: kind).name }
    /// The components this receiver feeds: itself, or for key/value head G's k or v under
    /// grouped-query attention the query heads that share it (G·group …< (G + 1)·group).
    public var readers: [EdgeNode] {
        if case .head(let l, let g) = kind, group > 1, channel == "k" || channel == "v" {
            return (0..<group).map { EdgeNode(kind: .head(layer: l, head: g * group + $0)) }
        }
        return [EdgeNode(kind: kind)]
    }
    /// Order in the residual stream for display: input −1; attention of layer l at 2l; MLP of layer l at 2l + 1; logits last.
    func order(nLayers: Int) -> Int {
        switch kind {
        case .input: return -1
        case .head(let l, _): return 2 * l
        case .mlp(let l): return 2 * l + 1
        case .logits: return 2 * nLayers
        }
    }
    /// When this sender has written its output (in quarter-layers): heads of layer l after 4l + 1,
    /// MLPs after 4l + 3; with parallel blocks both after 4l + 3.
    func writes(parallel: Bool) -> Int {
        switch kind {
        case .input: return -1
        case .head(let l, _): return parallel ? 4 * l + 3 : 4 * l + 1
        case .mlp(let l): return 4 * l + 3
        case .logits: return Int.max
        }
    }
    /// When this receiver reads the residual stream: heads of layer l at 4l, MLPs at 4l + 2 (at 4l
    /// with parallel blocks), the logits after every block.
    func reads(parallel: Bool) -> Int {
        switch kind {
        case .input: return Int.min
        case .head(let l, _): return 4 * l
        case .mlp(let l): return parallel ? 4 * l : 4 * l + 2
        case .logits: return Int.max - 1
        }
    }
}

public struct ScoredEdge: Sendable {
    public let from: EdgeNode, to: EdgeNode
    public let score: Float
    public var name: String { "\(from.name)->\(to.name)" }
}

/// All edge scores of one clean/corrupt pair.
public struct EdgeScores: Sendable {
    public let senders: [EdgeNode]
    public let receivers: [EdgeNode]
    /// [senders, receivers]; 0 where no edge exists.
    public let matrix: Tensor
    public let metric: PatchMetric
    public let method: String
    public let cleanValue: Float, corruptValue: Float
    /// Whether the model's attention and MLP run in parallel (both read resid_pre).
    public let parallel: Bool

    /// Whether v reads the residual stream after u writes it.
    static func connected(_ u: EdgeNode, _ v: EdgeNode, parallel: Bool) -> Bool {
        u.writes(parallel: parallel) < v.reads(parallel: parallel)
    }

    /// Every existing edge, highest |score| first.
    public var edges: [ScoredEdge] {
        var out: [ScoredEdge] = []
        let R = receivers.count
        for s in senders.indices {
            for r in receivers.indices where Self.connected(senders[s], receivers[r], parallel: parallel) {
                out.append(ScoredEdge(from: senders[s], to: receivers[r], score: matrix.data[s * R + r]))
            }
        }
        return out.sorted { abs($0.score) > abs($1.score) }
    }
}

/// Where EAP-IG interpolates from corrupt to clean.
public enum EdgeIntegration: String, Sendable, CaseIterable {
    /// The embeddings (blocks.0.hook_resid_pre), every step one run.
    case inputs
    /// Each layer node's output in turn (input, each attention layer, each MLP), the rest clean.
    case activations
}

public enum EdgeAttribution {
    /// The graph's senders and receivers, in residual-stream order (per layer: each query head's
    /// q input, with each key/value head's k and v inputs after the query head of the same index).
    public static func nodes(_ cfg: ModelConfig) -> (senders: [EdgeNode], receivers: [EdgeNode]) {
        var senders = [EdgeNode(kind: .input)], receivers: [EdgeNode] = []
        let K = cfg.kvHeads, group = cfg.queriesPerKVHead
        for l in 0..<cfg.nLayers {
            for h in 0..<cfg.nHeads {
                senders.append(EdgeNode(kind: .head(layer: l, head: h)))
                receivers.append(EdgeNode(kind: .head(layer: l, head: h), channel: "q"))
                if h < K {
                    for c in ["k", "v"] { receivers.append(EdgeNode(kind: .head(layer: l, head: h), channel: c, group: group)) }
                }
            }
            senders.append(EdgeNode(kind: .mlp(layer: l)))
            receivers.append(EdgeNode(kind: .mlp(layer: l)))
        }
        receivers.append(EdgeNode(kind: .logits))
        return (senders, receivers)
    }

    /// Each sender's output [P, d] (batch 0) from a cache with z, mlp_out and the embeddings.
    static func senderOutputs(_ cache: ActivationCache, model: HookedTransformer) throws -> [[Float]] {
        let d = model.config.dModel
        func get(_ n: String) throws -> Tensor {
            guard let t = cache[n] else { throw TLInterpError.invalidArgument("the run has no '\(n)' cached") }
            return t
        }
        // The input node: hook_embed (+ hook_pos_embed with learned positions; rotary models have none).
        let embed = try get("hook_embed")
        let P = embed.shape[1]
        let input = model.config.isRotary ? embed : try embed + get("hook_pos_embed")
        var out: [[Float]] = [Array(input.data.prefix(P * d))]
        for l in 0..<model.config.nLayers {
            out += headOutputs(try get("blocks.\(l).attn.hook_z"), model: model, layer: l)
            out.append(Array(try get("blocks.\(l).hook_mlp_out").data.prefix(P * d)))
        }
        return out
    }

    /// Each head's output result[h] = z[0, ·, h] @ W_O[h]  [P, d] (TransformerLens's hook_result, no b_O).
    static func headOutputs(_ z: Tensor, model: HookedTransformer, layer l: Int) -> [[Float]] {
        let cfg = model.config, d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, P = z.shape[1]
        // z[·, h] @ W_O[h] for every head h: W_O's row blocks, through the model's weight matrix.
        var all = [Float](repeating: 0, count: H * P * d)  // [H, P, d]
        z.data.withUnsafeBufferPointer { zs in
            all.withUnsafeMutableBufferPointer { out in
                model.matrix(.o(l)).multiplyBlocks(.rows(width: dh, count: H), m: P, a: zs.baseAddress!, aStride: dh, lda: hd,
                                                   c: out.baseAddress!, cStride: P * d, ldc: d)
            }
        }
        return (0..<H).map { h in Array(all[(h * P * d)..<((h + 1) * P * d)]) }
    }

    /// Where receiver r's input gradient lives in a gradient cache: the hook's tensor and, for
    /// heads, which head of its [B, P, heads, d].
    static func receiverHook(_ v: EdgeNode, nLayers: Int) -> (name: String, head: Int?) {
        switch v.kind {
        case .head(let l, let h): return ("blocks.\(l).hook_\(v.channel!)_input", h)
        case .mlp(let l): return ("blocks.\(l).hook_mlp_in", nil)
        default: return ("blocks.\(nLayers - 1).hook_resid_post", nil)
        }
    }

    /// Receiver v's input gradient in batch element b  [P·d].
    static func receiverGradient(_ grads: ActivationCache, _ v: EdgeNode, batch b: Int, nLayers: Int) throws -> [Float] {
        let (name, head) = receiverHook(v, nLayers: nLayers)
        guard let g = grads[name] else { throw TLInterpError.invalidArgument("no gradient at '\(name)'") }
        let P = g.shape[1], d = g.shape.last!
        guard let h = head else { return Array(g.data[(b * P * d)..<((b + 1) * P * d)]) }
        let heads = g.shape[2]
        var r = [Float](repeating: 0, count: P * d)
        for p in 0..<P { for i in 0..<d { r[p * d + i] = g.data[((b * P + p) * heads + h) * d + i] } }
        return r
    }

    /// The post-norm's vector–Jacobian product Jᵀ g at one batch element: for n = x_c / s (x_c = x,
    /// or x − mean(x) for LayerNorm), s = sqrt(mean(x_c²) + eps), y = w ⊙ n:
    ///   dn = g ⊙ w;  d x_c = dn / s − n · (Σ dn·n) / (d · s);  LayerNorm: d x = d x_c − mean(d x_c).
    static func postNormVJP(_ g: [Float], weight: [Float], normalized: Tensor, scale: Tensor, batch b: Int, centred: Bool) -> [Float] {
        let d = weight.count, rows = g.count / d
        var out = [Float](repeating: 0, count: g.count)
        for r in 0..<rows {
            let nOff = (b * rows + r) * d, s = scale.data[b * rows + r]
            var dot: Float = 0
            for i in 0..<d { dot += g[r * d + i] * weight[i] * normalized.data[nOff + i] }
            var mean: Float = 0
            for i in 0..<d {
                let v = g[r * d + i] * weight[i] / s - normalized.data[nOff + i] * dot / (Float(d) * s)
                out[r * d + i] = v
                mean += v
            }
            if centred { mean /= Float(d); for i in 0..<d { out[r * d + i] -= mean } }
        }
        return out
    }

    /// EAP (steps = nil) or EAP-IG with `steps` interpolation steps on inputs or on activations.
    public static func scores(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric,
                              steps: Int? = nil, integration: EdgeIntegration = .inputs,
                              isCancelled: (() -> Bool)? = nil) throws -> EdgeScores {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        if let steps, steps < 1 || steps > 256 { throw TLInterpError.invalidArgument("steps must be between 1 and 256") }
        let cfg = model.config, d = cfg.dModel, P = clean.count, L = cfg.nLayers, H = cfg.nHeads, n = P * d
        let parallel = cfg.parallelAttnMLP
        let wanted: (String) -> Bool = { $0 == "hook_embed" || $0 == "hook_pos_embed" || $0.hasSuffix("attn.hook_z") || $0.hasSuffix("hook_mlp_out") || $0.hasSuffix("hook_resid_pre") }
        // A metric of a few logits needs only those columns of the logits (as in AttributionPatcher).
        let V = cfg.dVocab
        let columns = metric.columns.flatMap { cs in cs.allSatisfy { $0 >= 0 && $0 < V } ? cs : nil }
        func cachedRun(_ tokens: [Int]) throws -> (Tensor, ActivationCache) {
            var o = RunOptions()
            o.cacheFilter = wanted
            o.logitTokens = columns
            o.isCancelled = isCancelled
            let out = try model.run(tokens: [tokens], options: o)
            return (out.logits!, out.cache)
        }
        let (cleanLogits, cleanCache) = try cachedRun(clean)
        let (corruptLogits, corruptCache) = try cachedRun(corrupt)
        let a = try senderOutputs(cleanCache, model: model), b = try senderOutputs(corruptCache, model: model)
        let (senders, receivers) = nodes(cfg)
        let S = senders.count, R = receivers.count
        var delta = [Float](repeating: 0, count: S * n)
        for s in 0..<S { for i in 0..<n { delta[s * n + i] = a[s][i] - b[s][i] } }
        // Layers whose heads reach the residual stream through ln1_post (Gemma-2).
        let postNormed = (0..<L).filter { model.floatLayer($0).ln1PostW != nil }
        let centred = cfg.normalizationType != .rms

        // Σ over runs and batch of each receiver's gradient [R, n]; with post-norms, the head rows'
        // scores Σ Δ_head · Jᵀ g accumulate run by run in `headScores` [L][H, R].
        var gradSum = [Float](repeating: 0, count: R * n)
        var headScores = [Int: [Float]]()
        func accumulate(_ run: GradientRun, batch: Int) throws {
            for b in 0..<batch {
                var g = [[Float]]()
                g.reserveCapacity(R)
                for (r, v) in receivers.enumerated() {
                    let gr = try receiverGradient(run.gradients, v, batch: b, nLayers: L)
                    for i in 0..<n { gradSum[r * n + i] += gr[i] }
                    g.append(gr)
                }
                for l in postNormed {
                    let p = "blocks.\(l).ln1_post."
                    guard let normalized = run.activations[p + "hook_normalized"], let scale = run.activations[p + "hook_scale"] else {
                        throw TLInterpError.invalidArgument("the gradient run did not keep \(p)hook_normalized and hook_scale")
                    }
                    let weight = model.floatLayer(l).ln1PostW!
                    let head0 = EdgeNode(kind: .head(layer: l, head: 0))
                    var pulled = [Float](repeating: 0, count: R * n)  // Jᵀ g_v for receivers after layer l, else 0
                    for (r, v) in receivers.enumerated() where EdgeScores.connected(head0, v, parallel: parallel) {
                        let jt = postNormVJP(g[r], weight: weight, normalized: normalized, scale: scale, batch: b, centred: centred)
                        for i in 0..<n { pulled[r * n + i] = jt[i] }
                    }
                    var block = headScores[l] ?? [Float](repeating: 0, count: H * R)
                    let first = 1 + l * (H + 1)  // sender index of a{l}.h0
                    delta.withUnsafeBufferPointer { ds in
                        pulled.withUnsafeBufferPointer { ps in
                            block.withUnsafeMutableBufferPointer { bs in
                                BLAS.sgemm(transB: true, m: H, n: R, k: n, a: ds.baseAddress! + first * n, lda: n, b: ps.baseAddress!, ldb: n,
                                           beta: 1, c: bs.baseAddress!, ldc: R)
                            }
                        }
                    }
                    headScores[l] = block
                }
            }
        }

        var o = GradientOptions()
        o.inputGradients = true
        o.activationFilter = { _ in false }
        o.gradientFilter = { $0.hasSuffix("_input") || $0.hasSuffix("hook_mlp_in") || $0 == "blocks.\(L - 1).hook_resid_post" }
        o.logitColumns = columns
        o.isCancelled = isCancelled
        func cached(_ c: ActivationCache, _ name: String) throws -> Tensor {
            guard let t = c[name] else { throw TLInterpError.invalidArgument("the run has no '\(name)' cached") }
            return t
        }
        /// One gradient run of `k` copies of the clean input per node in `names`: in node n's copies
        /// (batch elements n·k + j) its output is set to corrupt + ((j + 1) / k)(clean − corrupt) and,
        /// with `stop`, is a constant there (its gradient zeroed for those copies only), so the batch
        /// gives what one run per node would.
        func interpolatedRun(_ names: [String], steps k: Int, stop: Bool) throws {
            let batch = names.count * k
            let tokens = Array(repeating: clean, count: batch)
            var forward: [ForwardHook] = [], backward: [GradientHook] = []
            for (n, name) in names.enumerated() {
                let e1 = try cached(corruptCache, name), e0 = try cached(cleanCache, name), size = e0.count
                forward.append(ForwardHook(name: name) { act, _ in
                    for j in 0..<k {
                        let alpha = Float(j + 1) / Float(k), offset = (n * k + j) * size
                        for i in 0..<size { act.data[offset + i] = e1.data[i] + alpha * (e0.data[i] - e1.data[i]) }
                    }
                })
                if stop {
                    backward.append(GradientHook(name: name) { g, _ in
                        for i in (n * k * size)..<((n + 1) * k * size) { g.data[i] = 0 }
                    })
                }
            }
            o.forwardHooks = forward
            o.hooks = backward
            let run = try model.gradients(tokens: tokens, options: o) { try metric.logitGradient(logits: $0, tokens: tokens, vocabulary: V) }
            try accumulate(run, batch: batch)
        }
        let runs: Int
        let method: String
        if let steps {
            switch integration {
            case .inputs:
                try interpolatedRun(["blocks.0.hook_resid_pre"], steps: steps, stop: false)
                runs = steps
                method = "EAP-IG (inputs, \(steps) steps)"
            case .activations:
                var names = ["blocks.0.hook_resid_pre"]
                for l in 0..<L { names += ["blocks.\(l).attn.hook_z", "blocks.\(l).hook_mlp_out"] }
                // Several nodes' steps share one batched run (one pass over the weights for all of
                // them), up to about 2048 rows of activations per run.
                let nodesPerRun = max(1, 2048 / (steps * P))
                for first in stride(from: 0, to: names.count, by: nodesPerRun) {
                    if let c = isCancelled, c() { throw TLModelError.cancelled }
                    try interpolatedRun(Array(names[first..<min(names.count, first + nodesPerRun)]), steps: steps, stop: true)
                }
                runs = names.count * steps
                method = "EAP-IG (activations, \(steps) steps)"
            }
        } else {
            let run = try model.gradients(tokens: [clean], options: o) { try metric.logitGradient(logits: $0, tokens: [clean], vocabulary: V) }
            try accumulate(run, batch: 1)
            runs = 1
            method = "EAP"
        }

        // matrix = ΔA [S, n] @ Gᵀ [n, R] / runs, head rows of post-normed layers from headScores.
        var m = Tensor(zeros: [S, R])
        delta.withUnsafeBufferPointer { ds in
            gradSum.withUnsafeBufferPointer { gs in
                m.data.withUnsafeMutableBufferPointer { ms in
                    BLAS.sgemm(transB: true, m: S, n: R, k: n, a: ds.baseAddress!, lda: n, b: gs.baseAddress!, ldb: n, c: ms.baseAddress!, ldc: R)
                }
            }
        }
        for (l, block) in headScores {
            let first = 1 + l * (H + 1)
            for i in 0..<(H * R) { m.data[first * R + i] = block[i] }
        }
        let scale = 1 / Float(runs)
        for s in 0..<S {
            for r in 0..<R {
                m.data[s * R + r] = EdgeScores.connected(senders[s], receivers[r], parallel: parallel) ? m.data[s * R + r] * scale : 0
            }
        }
        return EdgeScores(senders: senders, receivers: receivers, matrix: m, metric: metric, method: method,
                          cleanValue: AttributionPatcher.value(metric, logits: cleanLogits, columns: columns, tokens: clean),
                          corruptValue: AttributionPatcher.value(metric, logits: corruptLogits, columns: columns, tokens: corrupt), parallel: parallel)
    }
}
