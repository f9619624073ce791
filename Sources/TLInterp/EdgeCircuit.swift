// Circuits from edge scores: selection (top n or a threshold, pruned to paths from input to
// logits) and evaluation (run the clean input with every edge outside the circuit fed its
// corrupted value). See EdgeAttribution.swift for the graph.
import Foundation
import TLModel
import TLTensor

/// A selected circuit: its edges (pruned to those on a path from input to logits).
public struct Circuit: Sendable {
    public let edges: [ScoredEdge]
    public var edgeNames: Set<String> { Set(edges.map(\.name)) }
    /// The circuit's components in residual-stream order (input, a0.h0, …, m0, a1.h0, …, logits);
    /// a key/value head's receiver counts as the query heads that read it.
    public var components: [String] {
        var order: [String: Int] = [:]
        for e in edges {
            for n in [e.from] + e.to.readers {
                order[n.component] = n.order(nLayers: 1 << 20) * 100_000 + (n.kind.headIndex ?? 0)
            }
        }
        return order.keys.sorted { order[$0]! < order[$1]! }
    }
}

extension EdgeAttribution {
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
                for e in chosen where reachable.contains(e.from.component) {
                    for r in e.to.readers where !reachable.contains(r.component) { reachable.insert(r.component); grew = true }
                }
            }
            var reaching: Set<String> = ["logits"]
            grew = true
            while grew {
                grew = false
                for e in chosen where e.to.readers.contains(where: { reaching.contains($0.component) }) && !reaching.contains(e.from.component) {
                    reaching.insert(e.from.component); grew = true
                }
            }
            let kept = chosen.filter { e in reachable.contains(e.from.component) && e.to.readers.contains { reaching.contains($0.component) } }
            if kept.count != chosen.count { chosen = kept; changed = true }
        }
        return Circuit(edges: chosen)
    }

    /// Runs the clean input with every edge outside `circuit` corrupted: each receiver reads its
    /// input with every non-circuit sender's output replaced by the sender's output in the corrupt
    /// run. Outputs that add into the residual stream are replaced by subtracting
    /// Σ (this run − corrupt); a post-normed attention layer (Gemma-2) contributes
    /// ln1_post(pre) − ln1_post(pre − Σ over its ablated heads (this run − corrupt)), pre being
    /// Σ_h result_h + b_O. Returns the metric (the full graph gives the clean value, the empty one
    /// the corrupt value).
    ///
    /// `ablation: .mean` replaces a non-circuit sender's output by its mean over the corrupt run's
    /// positions instead (the eap library's "mean" intervention with the corrupt prompt as the
    /// dataset): the empty circuit then reads Σ of those means, not the corrupt run.
    public static func evaluate(model: HookedTransformer, circuit: Set<String>, clean: [Int], corrupt: [Int],
                                metric: PatchMetric, ablation: CircuitAblation = .corrupt) throws -> Float {
        let cfg = model.config, d = cfg.dModel, P = clean.count, n = P * d
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupted inputs must have the same number of tokens: clean has \(clean.count), corrupted has \(corrupt.count)")
        }
        let parallel = cfg.parallelAttnMLP
        let (senders, receivers) = nodes(cfg)
        let wanted: (String) -> Bool = { $0 == "hook_embed" || $0 == "hook_pos_embed" || $0.hasSuffix("attn.hook_z") || $0.hasSuffix("hook_mlp_out") }
        var corruptOut = try senderOutputs(try model.runWithCache(tokens: [corrupt], names: wanted).cache, model: model)
        if ablation == .mean { corruptOut = corruptOut.map { positionalMean($0, positions: P, width: d) } }
        let index = Dictionary(uniqueKeysWithValues: senders.enumerated().map { ($1.name, $0) })
        let postNormed = Set((0..<cfg.nLayers).filter { model.floatLayer($0).ln1PostW != nil })
        func additive(_ s: Int) -> Bool {
            if case .head(let l, _) = senders[s].kind { return !postNormed.contains(l) }
            return true
        }
        // For each receiver: the additive senders whose edge to it IS in the circuit (usually few),
        // and per post-normed layer before it, that layer's heads whose edge to it is NOT.
        var kept: [String: [Int]] = [:], ablatedHeads: [String: [Int: [Int]]] = [:]
        for v in receivers {
            let connected = senders.indices.filter { EdgeScores.connected(senders[$0], v, parallel: parallel) }
            kept[v.name] = connected.filter { additive($0) && circuit.contains("\(senders[$0].name)->\(v.name)") }
            var byLayer: [Int: [Int]] = [:]
            for s in connected where !additive(s) && !circuit.contains("\(senders[s].name)->\(v.name)") {
                if case .head(let l, let h) = senders[s].kind { byLayer[l, default: []].append(h) }
            }
            ablatedHeads[v.name] = byLayer
        }
        // Every additive sender a receiver is connected to has written before the receiver reads, so
        //   Σ over ablated senders (this run − corrupt) = Σ over all written (…) − Σ over kept (…).
        // `written` keeps the first sum as senders write (`atLayerStart` its value at the current
        // block's resid_pre, what a parallel block's MLP reads); `diffs` each sender's (this run − corrupt);
        // `heads[l]` a post-normed layer's pre-norm sum and per-head differences.
        final class Box: @unchecked Sendable {
            var diffs: [Int: [Float]] = [:]; var written: [Float] = []; var atLayerStart: [Float] = []; var embed: [Float] = []
            var heads: [Int: (pre: [Float], diffs: [[Float]])] = [:]
        }
        let box = Box()
        box.written = [Float](repeating: 0, count: n)
        func record(_ s: Int, _ now: [Float]) {
            var diff = now
            for i in 0..<n { diff[i] -= corruptOut[s][i]; box.written[i] += diff[i] }
            box.diffs[s] = diff
        }
        func postNorm(_ x: [Float], _ l: Int) -> [Float] {
            let w = model.floatLayer(l).ln1PostW!
            var y = x
            for r in 0..<P {
                var mean: Float = 0
                if cfg.normalizationType != .rms { for i in 0..<d { mean += x[r * d + i] }; mean /= Float(d) }
                var ss: Float = 0
                for i in 0..<d { let c = x[r * d + i] - mean; ss += c * c }
                let s = (ss / Float(d) + cfg.eps).squareRoot()
                for i in 0..<d { y[r * d + i] = (x[r * d + i] - mean) / s * w[i] }
            }
            return y
        }
        func correction(_ v: EdgeNode) -> [Float] {  // what to subtract from v's input  [P, d]
            var c = parallel && { if case .mlp = v.kind { return true }; return false }() ? box.atLayerStart : box.written
            for s in kept[v.name] ?? [] {
                guard let diff = box.diffs[s] else { continue }
                for i in 0..<n { c[i] -= diff[i] }
            }
            for (l, ablated) in ablatedHeads[v.name] ?? [:] {
                guard let layer = box.heads[l] else { continue }
                var pre = layer.pre
                for h in ablated { for i in 0..<n { pre[i] -= layer.diffs[h][i] } }
                let now = postNorm(layer.pre, l), patched = postNorm(pre, l)
                for i in 0..<n { c[i] += now[i] - patched[i] }
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
        let byName = Dictionary(uniqueKeysWithValues: receivers.map { ($0.name, $0) })
        for l in 0..<cfg.nLayers {
            hooks.append(ForwardHook(name: "blocks.\(l).hook_resid_pre") { _, _ in box.atLayerStart = box.written })
            for c in ["q", "k", "v"] {
                hooks.append(ForwardHook(name: "blocks.\(l).hook_\(c)_input") { act, _ in  // [1, P, heads, d]
                    let heads = act.shape[2]
                    for h in 0..<heads {
                        let corr = correction(byName["a\(l).h\(h)<\(c)>"]!)
                        for p in 0..<P { for i in 0..<d { act.data[(p * heads + h) * d + i] -= corr[p * d + i] } }
                    }
                })
            }
            hooks.append(ForwardHook(name: "blocks.\(l).attn.hook_z") { act, _ in
                let outputs = headOutputs(act, model: model, layer: l)
                guard postNormed.contains(l) else {
                    for (h, r) in outputs.enumerated() { record(index["a\(l).h\(h)"]!, r) }
                    return
                }
                var pre = [Float](repeating: 0, count: n)
                let bO = model.floatLayer(l).bO
                for p in 0..<P { for i in 0..<d { pre[p * d + i] = bO[i] } }
                var diffs: [[Float]] = []
                for (h, r) in outputs.enumerated() {
                    let c = corruptOut[index["a\(l).h\(h)"]!]
                    for i in 0..<n { pre[i] += r[i] }
                    diffs.append((0..<n).map { r[$0] - c[$0] })
                }
                box.heads[l] = (pre, diffs)
            })
            hooks.append(ForwardHook(name: "blocks.\(l).hook_mlp_in") { act, _ in
                let corr = correction(byName["m\(l)"]!)
                for i in 0..<n { act.data[i] -= corr[i] }
            })
            hooks.append(ForwardHook(name: "blocks.\(l).hook_mlp_out") { act, _ in record(index["m\(l)"]!, act.data) })
        }
        hooks.append(ForwardHook(name: "blocks.\(cfg.nLayers - 1).hook_resid_post") { act, _ in
            let corr = correction(byName["logits"]!)
            for i in 0..<n { act.data[i] -= corr[i] }
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

/// What a non-circuit edge carries in a faithfulness run.
public enum CircuitAblation: String, Sendable, CaseIterable {
    /// The sender's output in the corrupt run, position by position.
    case corrupt
    /// The sender's output in the corrupt run averaged over its positions.
    case mean
}

extension EdgeAttribution {
    /// `x` [P, d] with every row replaced by the mean of the rows.
    public static func positionalMean(_ x: [Float], positions P: Int, width d: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: d)
        for r in 0..<P { for i in 0..<d { mean[i] += x[r * d + i] } }
        for i in 0..<d { mean[i] /= Float(P) }
        var out = [Float](repeating: 0, count: P * d)
        for r in 0..<P { for i in 0..<d { out[r * d + i] = mean[i] } }
        return out
    }
}
