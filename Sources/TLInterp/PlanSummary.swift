// Server-side summaries of a plan's reads: instead of an activation, a few numbers computed where
// the model is (the nnsight worker, or NDIF's GPUs), so a 70B model's reply is a few floats per
// component. `unembed` projects a read onto unembedding directions (direct logit attribution),
// `stripe` and `weights` reduce attention patterns to per-head scores (induction, detect), and
// `normScale` gives a norm's scale per row. (Losses are a reduction: PlanReductions.swift's
// log-softmax and pick.) The Swift engine applies the same
// summaries in `execute(on:)`, so PlanTests check them without Python.
import Foundation
import TLCore
import TLModel
import TLTensor

extension InterventionPlan {
    /// Projection onto Σ c·W_U[:, t] (centred over d_model when `center`: centre(x)·w = x·centre(w),
    /// LayerNorm's centring moved onto the direction). `through`: the read itself ([1, pos, d_model]
    /// → [1, pos]), attn.hook_z through each head's W_O ([1, pos, head, d_head] → [1, pos, head]), or
    /// mlp.hook_post through each neuron's W_out row ([1, pos, d_mlp] → [1, pos, d_mlp]).
    public struct Unembed: Sendable, Equatable {
        public enum Through: String, Sendable { case output, heads, neurons }
        public var tokens: [Int]
        public var coefficients: [Float]
        public var center: Bool
        public var through: Through
        public init(tokens: [Int], coefficients: [Float], center: Bool, through: Through = .output) {
            self.tokens = tokens; self.coefficients = coefficients; self.center = center; self.through = through
        }
    }

    public enum Summary: Sendable, Equatable {
        case unembed(Unembed)
        /// attn.hook_pattern [1, head, P, P] → [1, head]: the mean of pattern[i, i − offset] over i ≥ offset.
        case stripe(offset: Int)
        /// attn.hook_pattern [1, head, P, P] → [1, head, k]: Σ_ij pattern[i, j]·W[k, i, j] for W [k, P, P].
        case weights(Tensor)
        /// [1, pos, d_model] → [1, pos]: a norm's scale, √(mean(x²) + eps) of each row, centred first
        /// for LayerNorm (dla's final scale, so the final residual row need not travel).
        case normScale(center: Bool, eps: Float)
    }
}

extension InterventionPlan.Read {
    public init(_ hook: String, positions: [Int]? = nil, summary: InterventionPlan.Summary) {
        self.init(hook, positions: positions)
        self.summary = summary
    }
}

extension InterventionPlan.Summary {
    /// The wire form (PlanWire): {"unembed": {...}} | {"stripe": n} | {"weights": tensor}
    /// | {"norm_scale": {"center": bool, "eps": x}}.
    var json: JSON {
        switch self {
        case .unembed(let u):
            return .object(["unembed": .object([("tokens", .numbers(u.tokens)), ("coefficients", .array(u.coefficients.map { .double(Double($0)) })),
                                                ("center", .bool(u.center)), ("through", .string(u.through.rawValue))])])
        case .stripe(let offset): return .object(["stripe": .integer(offset)])
        case .weights(let w): return .object(["weights": PlanWire.encode(w)])
        case .normScale(let center, let eps):
            return .object(["norm_scale": .object([("center", .bool(center)), ("eps", .double(Double(eps)))])])
        }
    }

    /// Applies the summary to a read on the Swift engine (what the worker's _summarise does).
    func apply(to value: Tensor, hook: String, model: HookedTransformer, tokens: [Int]) throws -> Tensor {
        switch self {
        case .unembed(let u): return try Self.unembed(u, value, hook: hook, model: model)
        case .stripe(let offset):
            guard value.rank == 4, value.shape[2] == value.shape[3], hook.hasSuffix("attn.hook_pattern") else {
                throw TLInterpError.invalidArgument("a stripe summary reads attn.hook_pattern, not \(hook)")
            }
            let H = value.shape[1], P = value.shape[2]
            guard offset >= 0 && offset < P else { throw TLInterpError.invalidArgument("stripe offset \(offset) is out of range for \(P) tokens") }
            let out = (0..<H).map { h -> Float in
                var s: Float = 0
                for i in offset..<P { s += value.data[(h * P + i) * P + (i - offset)] }
                return s / Float(P - offset)
            }
            return Tensor(shape: [1, H], data: out)
        case .weights(let w):
            guard value.rank == 4, hook.hasSuffix("attn.hook_pattern") else {
                throw TLInterpError.invalidArgument("a weights summary reads attn.hook_pattern, not \(hook)")
            }
            let H = value.shape[1], P = value.shape[2], T = value.shape[3]
            guard w.rank == 3, w.shape[1] == P, w.shape[2] == T else {
                throw TLInterpError.invalidArgument("pattern weights must be [k, \(P), \(T)], got \(w.shape)")
            }
            let K = w.shape[0], cells = P * T
            var out = [Float](repeating: 0, count: H * K)
            for h in 0..<H {
                for k in 0..<K {
                    var s: Float = 0
                    for c in 0..<cells { s += value.data[h * cells + c] * w.data[k * cells + c] }
                    out[h * K + k] = s
                }
            }
            return Tensor(shape: [1, H, K], data: out)
        case .normScale(let center, let eps):
            guard value.rank == 3 else { throw TLInterpError.invalidArgument("a norm_scale summary reads [1, pos, d_model], not \(hook) \(value.shape)") }
            let d = value.shape[2], rows = value.shape[1]
            var x = value.data
            return Tensor(shape: [1, rows], data: x.withUnsafeMutableBufferPointer { b in
                if center { RecomputedNorm.center(b, d: d) }
                return RecomputedNorm.scales(UnsafeBufferPointer(b), d: d, eps: eps)
            })
        }
    }

    static func layer(of hook: String) throws -> Int {
        let parts = hook.split(separator: ".")
        guard parts.count > 1, parts[0] == "blocks", let l = Int(parts[1]) else {
            throw TLInterpError.invalidArgument("'\(hook)' is not a hook of a block")
        }
        return l
    }

    static func unembed(_ u: InterventionPlan.Unembed, _ value: Tensor, hook: String, model: HookedTransformer) throws -> Tensor {
        guard model.hasWeights else {  // W_U (and W_O, W_out)
            throw TLInterpError.invalidArgument("an unembed summary needs the model's weights; this model has only its config")
        }
        let cfg = model.config, d = cfg.dModel
        guard u.tokens.count == u.coefficients.count, !u.tokens.isEmpty else {
            throw TLInterpError.invalidArgument("an unembed summary needs one coefficient per token")
        }
        var direction = [Float](repeating: 0, count: d)
        for (t, c) in zip(u.tokens, u.coefficients) {
            guard t >= 0 && t < cfg.dVocab else { throw TLInterpError.invalidArgument("token id \(t) is outside the vocabulary (0..<\(cfg.dVocab))") }
            let column = model.unembedDirection(t)
            for i in 0..<d { direction[i] += c * column[i] }
        }
        if u.center {
            let mean = direction.reduce(0, +) / Float(d)
            for i in 0..<d { direction[i] -= mean }
        }
        func dot(_ x: ArraySlice<Float>, _ w: [Float]) -> Float {
            var s: Float = 0
            for (a, b) in zip(x, w) { s += a * b }
            return s
        }
        switch u.through {
        case .output:
            guard value.shape.last == d else { throw TLInterpError.invalidArgument("an unembed summary of \(hook) needs d_model-wide rows, got \(value.shape)") }
            let rows = value.count / d
            return Tensor(shape: Array(value.shape.dropLast()), data: (0..<rows).map { dot(value.data[($0 * d)..<(($0 + 1) * d)], direction) })
        case .heads:
            guard hook.hasSuffix("attn.hook_z") else { throw TLInterpError.invalidArgument("an unembed summary through heads reads attn.hook_z, not \(hook)") }
            // Each head's z @ W_O[h] (TransformerLens's hook_result), dotted with the direction.
            let results = try ActivationCache(model: model, entries: [(hook, value)]).headResults(layer: try layer(of: hook))
            let rows = results.count / d
            return Tensor(shape: Array(results.shape.dropLast()), data: (0..<rows).map { dot(results.data[($0 * d)..<(($0 + 1) * d)], direction) })
        case .neurons:
            guard hook.hasSuffix("mlp.hook_post") else { throw TLInterpError.invalidArgument("an unembed summary through neurons reads mlp.hook_post, not \(hook)") }
            let wOut = model.floatLayer(try layer(of: hook)).wOut, m = cfg.dMLP  // [d_mlp, d_model]
            let back = (0..<m).map { n in dot(wOut[(n * d)..<((n + 1) * d)], direction) }
            var out = value
            for i in 0..<out.count { out.data[i] *= back[i % m] }
            return out
        }
    }
}
