// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated gradients (EAP-IG,
// Hanna et al. 2024) over the residual-stream graph of a model with sequential blocks and multi-head attention (GPT-2,
// sequential GPT-NeoX, multi-head Llama/Qwen; grouped-query, parallel and post-normed models are refused):
//   senders   input (hook_embed + hook_pos_embed; hook_embed alone under rotary), every head's output aL.hH (z[h] @ W_O[h]), every MLP mL
//   receivers every head's q, k and v input aL.hH<q|k|v>, every MLP's input mL, the logits
// An edge u → v exists when v reads the residual stream after u writes it. Its score is
//   score(u → v) = (a_u(clean) − a_u(corrupt)) · d metric / d in_v,
// summed over positions and d_model, with the gradient taken on the clean input (EAP) or averaged
// over `steps` inputs whose embeddings run from corrupt to clean (EAP-IG on inputs: α = k/steps,
// k = 1…steps). A positive score means the edge carries the clean behaviour: corrupting it alone
// is estimated to lower the metric by that much. Node and edge names follow the eap / MIB library
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

    public var name: String {
        switch kind {
        case .input: return "input"
        case .head(let l, let h): return "a\(l).h\(h)" + (channel.map { "<\($0)>" } ?? "")
        case .mlp(let l): return "m\(l)"
        case .logits: return "logits"
        }
    }
    /// The component (node of the circuit graph), without the q/k/v channel.
    public var component: String { EdgeNode(kind: kind, channel: nil).name }
    /// Order in the residual stream: input −1; attention of layer l at 2l; MLP of layer l at 2l + 1; logits last.
    func order(nLayers: Int) -> Int {
        switch kind {
        case .input: return -1
        case .head(let l, _): return 2 * l
        case .mlp(let l): return 2 * l + 1
        case .logits: return 2 * nLayers
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

    /// Whether v reads the residual stream after u writes it.
    static func connected(_ u: EdgeNode, _ v: EdgeNode) -> Bool {
        let big = 1 << 20
        return u.order(nLayers: big) < v.order(nLayers: big)
    }

    /// Every existing edge, highest |score| first.
    public var edges: [ScoredEdge] {
        var out: [ScoredEdge] = []
        let R = receivers.count
        for s in senders.indices {
            for r in receivers.indices where Self.connected(senders[s], receivers[r]) {
                out.append(ScoredEdge(from: senders[s], to: receivers[r], score: matrix.data[s * R + r]))
            }
        }
        return out.sorted { abs($0.score) > abs($1.score) }
    }
}

/// A selected circuit: its edges (pruned to those on a path from input to logits).
public struct Circuit: Sendable {
    public let edges: [ScoredEdge]
    public var edgeNames: Set<String> { Set(edges.map(\.name)) }
    /// The circuit's components in residual-stream order (input, a0.h0, …, m0, a1.h0, …, logits).
    public var components: [String] {
        var order: [String: Int] = [:]
        for e in edges {
            for n in [e.from, e.to] {
                let rank = n.order(nLayers: 1 << 20) * 100_000 + (n.kind.headIndex ?? 0)
                order[n.component] = rank
            }
        }
        return order.keys.sorted { order[$0]! < order[$1]! }
    }
}

public enum EdgeAttribution {
    /// The graph's senders and receivers, in residual-stream order.
    public static func nodes(_ cfg: ModelConfig) -> (senders: [EdgeNode], receivers: [EdgeNode]) {
        var senders = [EdgeNode(kind: .input, channel: nil)], receivers: [EdgeNode] = []
        for l in 0..<cfg.nLayers {
            for h in 0..<cfg.nHeads {
                senders.append(EdgeNode(kind: .head(layer: l, head: h), channel: nil))
                for c in ["q", "k", "v"] { receivers.append(EdgeNode(kind: .head(layer: l, head: h), channel: c)) }
            }
            senders.append(EdgeNode(kind: .mlp(layer: l), channel: nil))
            receivers.append(EdgeNode(kind: .mlp(layer: l), channel: nil))
        }
        receivers.append(EdgeNode(kind: .logits, channel: nil))
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
        let wO = model.floatLayer(l).wO  // [H·dh, d]
        return (0..<H).map { h in
            var r = [Float](repeating: 0, count: P * d)
            z.data.withUnsafeBufferPointer { zs in
                wO.withUnsafeBufferPointer { wo in
                    r.withUnsafeMutableBufferPointer { rs in
                        BLAS.sgemm(m: P, n: d, k: dh, a: zs.baseAddress! + h * dh, lda: hd, b: wo.baseAddress! + h * dh * d, ldb: d,
                                   c: rs.baseAddress!, ldc: d)
                    }
                }
            }
            return r
        }
    }

    /// Each receiver's input gradient [P, d], summed over the batch.
    static func receiverGradients(_ grads: ActivationCache, model: HookedTransformer) throws -> [[Float]] {
        let cfg = model.config, d = cfg.dModel, H = cfg.nHeads
        func get(_ n: String) throws -> Tensor {
            guard let t = grads[n] else { throw TLInterpError.invalidArgument("no gradient at '\(n)'") }
            return t
        }
        var out: [[Float]] = []
        for l in 0..<cfg.nLayers {
            let inputs = try ["q", "k", "v"].map { try get("blocks.\(l).hook_\($0)_input") }  // [B, P, H, d]
            let B = inputs[0].shape[0], P = inputs[0].shape[1]
            for h in 0..<H {
                for g in inputs {
                    var r = [Float](repeating: 0, count: P * d)
                    for b in 0..<B { for p in 0..<P { for i in 0..<d { r[p * d + i] += g.data[((b * P + p) * H + h) * d + i] } } }
                    out.append(r)
                }
            }
            out.append(Self.batchSum(try get("blocks.\(l).hook_mlp_in")))
        }
        out.append(Self.batchSum(try get("blocks.\(cfg.nLayers - 1).hook_resid_post")))
        return out
    }

    static func batchSum(_ t: Tensor) -> [Float] {
        let n = t.count / t.shape[0]
        var r = [Float](repeating: 0, count: n)
        for b in 0..<t.shape[0] { for i in 0..<n { r[i] += t.data[b * n + i] } }
        return r
    }

    /// The edge graph here is sequential blocks with one q/k/v input per query head and head outputs
    /// that add straight into the residual stream; models that differ are refused, not mis-scored.
    static func checkGraph(_ cfg: ModelConfig) throws {
        let problem: String?
        if cfg.useNormalizationBeforeAndAfter {
            problem = "it normalises the attention and MLP outputs before they reach the residual stream (a head's output is not additive)"
        } else if cfg.parallelAttnMLP {
            problem = "its attention and MLP run in parallel (the MLP does not read the heads of its own layer)"
        } else if cfg.kvHeads != cfg.nHeads {
            problem = "it uses grouped-query attention (\(cfg.nHeads) query heads share \(cfg.kvHeads) key/value heads, so k/v inputs are not per head)"
        } else {
            problem = nil
        }
        if let problem {
            throw TLInterpError.invalidArgument("edge attribution (eap) does not support this model: \(problem). "
                + "Node-level attribution (attrib) works on it; for eap use a model with sequential blocks and multi-head attention")
        }
    }

    /// EAP (steps = nil) or EAP-IG on inputs with `steps` interpolation steps.
    public static func scores(model: HookedTransformer, clean: [Int], corrupt: [Int], metric: PatchMetric,
                              steps: Int? = nil, isCancelled: (() -> Bool)? = nil) throws -> EdgeScores {
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        if let steps, steps < 1 || steps > 256 { throw TLInterpError.invalidArgument("steps must be between 1 and 256") }
        try checkGraph(model.config)
        let cfg = model.config, d = cfg.dModel, P = clean.count
        let wanted: (String) -> Bool = { $0 == "hook_embed" || $0 == "hook_pos_embed" || $0.hasSuffix("attn.hook_z") || $0.hasSuffix("hook_mlp_out") || $0.hasSuffix("hook_resid_pre") }
        let (cleanLogits, cleanCache) = try model.runWithCache(tokens: [clean], names: wanted, isCancelled: isCancelled)
        let (corruptLogits, corruptCache) = try model.runWithCache(tokens: [corrupt], names: wanted, isCancelled: isCancelled)
        let a = try senderOutputs(cleanCache, model: model), b = try senderOutputs(corruptCache, model: model)

        var o = GradientOptions()
        o.inputGradients = true
        o.activationFilter = { _ in false }
        o.gradientFilter = { $0.hasSuffix("_input") || $0.hasSuffix("hook_mlp_in") || $0 == "blocks.\(cfg.nLayers - 1).hook_resid_post" }
        o.isCancelled = isCancelled
        let tokens: [[Int]]
        if let steps {
            // Batch element k − 1 runs with resid_pre 0 = corrupt + (k / steps)(clean − corrupt).
            let e0 = try cleanCache.get("resid_pre", layer: 0), e1 = try corruptCache.get("resid_pre", layer: 0)
            tokens = Array(repeating: clean, count: steps)
            o.forwardHooks = [ForwardHook(name: "blocks.0.hook_resid_pre") { act, _ in
                for k in 0..<steps {
                    let alpha = Float(k + 1) / Float(steps)
                    for i in 0..<(P * d) { act.data[k * P * d + i] = e1.data[i] + alpha * (e0.data[i] - e1.data[i]) }
                }
            }]
        } else {
            tokens = [clean]
        }
        let run = try model.gradients(tokens: tokens, options: o) { try metric.logitGradient(logits: $0, tokens: tokens) }
        let g = try receiverGradients(run.gradients, model: model)
        let scaleBy = 1 / Float(steps ?? 1)

        // matrix = ΔA [S, P·d] @ Gᵀ [P·d, R]
        let (senders, receivers) = nodes(cfg)
        let S = senders.count, R = receivers.count, n = P * d
        var delta = [Float](repeating: 0, count: S * n), gm = [Float](repeating: 0, count: R * n)
        for s in 0..<S { for i in 0..<n { delta[s * n + i] = a[s][i] - b[s][i] } }
        for r in 0..<R { for i in 0..<n { gm[r * n + i] = g[r][i] * scaleBy } }
        var m = Tensor(zeros: [S, R])
        delta.withUnsafeBufferPointer { ds in
            gm.withUnsafeBufferPointer { gs in
                m.data.withUnsafeMutableBufferPointer { ms in
                    BLAS.sgemm(transB: true, m: S, n: R, k: n, a: ds.baseAddress!, lda: n, b: gs.baseAddress!, ldb: n, c: ms.baseAddress!, ldc: R)
                }
            }
        }
        for s in 0..<S { for r in 0..<R where !EdgeScores.connected(senders[s], receivers[r]) { m.data[s * R + r] = 0 } }
        return EdgeScores(senders: senders, receivers: receivers, matrix: m, metric: metric, method: steps.map { "EAP-IG (inputs, \($0) steps)" } ?? "EAP",
                          cleanValue: metric.value(logits: cleanLogits, tokens: clean),
                          corruptValue: metric.value(logits: corruptLogits, tokens: corrupt))
    }

    /// The top `top` edges by |score| (or those with |score| ≥ `threshold`), pruned to edges on a
    /// path from input to logits.
    public static func circuit(_ scores: EdgeScores, top: Int? = nil, threshold: Float? = nil) -> Circuit {
        var chosen = scores.edges
        if let threshold { chosen = chosen.filter { abs($0.score) >= threshold } }
        if let top { chosen = Array(chosen.prefix(top)) }
        // Keep an edge when its sender is reachable from input and its receiver reaches logits.
        var changed = true
        while changed {
            changed = false
            var reachable: Set<String> = ["input"]
            var grew = true
            while grew {
                grew = false
                for e in chosen where reachable.contains(e.from.component) && !reachable.contains(e.to.component) {
                    reachable.insert(e.to.component); grew = true
                }
            }
            var reaching: Set<String> = ["logits"]
            grew = true
            while grew {
                grew = false
                for e in chosen where reaching.contains(e.to.component) && !reaching.contains(e.from.component) {
                    reaching.insert(e.from.component); grew = true
                }
            }
            let kept = chosen.filter { reachable.contains($0.from.component) && reaching.contains($0.to.component) }
            if kept.count != chosen.count { chosen = kept; changed = true }
        }
        return Circuit(edges: chosen)
    }

    /// Runs the clean input with every edge outside `circuit` corrupted: each receiver reads
    /// its input minus Σ over its non-circuit senders of (sender's output in this run − its
    /// output in the corrupt run). Returns the metric (the full graph gives the clean value, the
    /// empty one the corrupt value).
    public static func evaluate(model: HookedTransformer, circuit: Set<String>, clean: [Int], corrupt: [Int],
                                metric: PatchMetric) throws -> Float {
        try checkGraph(model.config)
        let cfg = model.config, d = cfg.dModel, H = cfg.nHeads, P = clean.count
        let (senders, receivers) = nodes(cfg)
        let wanted: (String) -> Bool = { $0 == "hook_embed" || $0 == "hook_pos_embed" || $0.hasSuffix("attn.hook_z") || $0.hasSuffix("hook_mlp_out") }
        let corruptOut = try senderOutputs(try model.runWithCache(tokens: [corrupt], names: wanted).cache, model: model)
        let index = Dictionary(uniqueKeysWithValues: senders.enumerated().map { ($1.name, $0) })
        // For each receiver, the senders whose edge to it IS in the circuit (usually few).
        let kept: [String: [Int]] = Dictionary(uniqueKeysWithValues: receivers.map { v in
            (v.name, senders.indices.filter { EdgeScores.connected(senders[$0], v) && circuit.contains("\(senders[$0].name)->\(v.name)") })
        })
        // Every sender a receiver is connected to has written before the receiver reads, so
        //   Σ over ablated senders (this run − corrupt) = Σ over all written (…) − Σ over kept (…).
        // `written` keeps the first sum as senders write; `diffs` each sender's (this run − corrupt).
        final class Box: @unchecked Sendable { var diffs: [Int: [Float]] = [:]; var written: [Float] = []; var embed: [Float] = [] }
        let box = Box()
        box.written = [Float](repeating: 0, count: P * d)
        func record(_ s: Int, _ now: [Float]) {
            var diff = now
            for i in 0..<(P * d) { diff[i] -= corruptOut[s][i]; box.written[i] += diff[i] }
            box.diffs[s] = diff
        }
        func correction(_ v: String) -> [Float] {  // Σ (this run − corrupt) over ablated senders  [P, d]
            var c = box.written
            for s in kept[v] ?? [] {
                guard let diff = box.diffs[s] else { continue }
                for i in 0..<(P * d) { c[i] -= diff[i] }
            }
            return c
        }
        var hooks: [ForwardHook] = []
        if cfg.isRotary {
            hooks.append(ForwardHook(name: "hook_embed") { act, _ in record(0, act.data) })
        } else {
            hooks.append(ForwardHook(name: "hook_embed") { act, _ in box.embed = act.data })
            hooks.append(ForwardHook(name: "hook_pos_embed") { act, _ in
                record(0, zip(box.embed, act.data).map { $0 + $1 })
            })
        }
        for l in 0..<cfg.nLayers {
            for c in ["q", "k", "v"] {
                hooks.append(ForwardHook(name: "blocks.\(l).hook_\(c)_input") { act, _ in  // [1, P, H, d]
                    for h in 0..<H {
                        let corr = correction("a\(l).h\(h)<\(c)>")
                        for p in 0..<P { for i in 0..<d { act.data[(p * H + h) * d + i] -= corr[p * d + i] } }
                    }
                })
            }
            hooks.append(ForwardHook(name: "blocks.\(l).attn.hook_z") { act, _ in
                for (h, r) in headOutputs(act, model: model, layer: l).enumerated() { record(index["a\(l).h\(h)"]!, r) }
            })
            hooks.append(ForwardHook(name: "blocks.\(l).hook_mlp_in") { act, _ in
                let corr = correction("m\(l)")
                for i in 0..<(P * d) { act.data[i] -= corr[i] }
            })
            hooks.append(ForwardHook(name: "blocks.\(l).hook_mlp_out") { act, _ in record(index["m\(l)"]!, act.data) })
        }
        hooks.append(ForwardHook(name: "blocks.\(cfg.nLayers - 1).hook_resid_post") { act, _ in
            let corr = correction("logits")
            for i in 0..<(P * d) { act.data[i] -= corr[i] }
        })
        let saved = model.optionalHooks
        model.optionalHooks = OptionalHooks(attnResult: saved.attnResult, mlpIn: true, attnIn: saved.attnIn, splitQKVInput: true)
        defer { model.optionalHooks = saved }
        var o = RunOptions()
        o.hooks = hooks
        let logits = try model.run(tokens: [clean], options: o).logits!
        return metric.value(logits: logits, tokens: clean)
    }
}
