// Head scores (induction, detect) as plans: one run whose attention patterns are reduced to per-head
// numbers where the model runs (InterventionPlan.Summary.stripe / .weights), so a reply is
// [layers, heads] floats, not [layers, heads, pos, pos]. The scores are HeadDetector's.
import TLModel
import TLTensor

public enum HeadScorePlan {
    static func patternHook(_ l: Int) -> String { "blocks.\(l).attn.hook_pattern" }

    /// The induction experiment on `tokens` ([BOS] + r + r, r of `length`): each layer's pattern
    /// reduced to the stripe at offset length − 1, and the logits to each next token's log-probability
    /// (and rank) at each position, the reduction `loss` uses.
    public static func induction(config: ModelConfig, tokens: [Int], length: Int) -> InterventionPlan {
        var loss = InterventionPlan.Read(InterventionPlan.logits, positions: Array(0..<(tokens.count - 1)))
        loss.reduce = .init(logSoftmax: true, pick: .columns(Array(tokens.dropFirst())))
        return InterventionPlan(runs: [.init(tokens: tokens, reads: (0..<config.nLayers).map { .init(patternHook($0), summary: .stripe(offset: length - 1)) }
                                                + [loss])])
    }

    /// (scores [n_layers, n_heads], loss per token) from an induction plan's results.
    public static func inductionResult(_ r: PlanResult, config: ModelConfig) throws -> (scores: Tensor, lossPerToken: Tensor) {
        let scores = try stack(r, config: config, perHead: 1)
        guard let pairs = r.runs[0][InterventionPlan.logits] else { throw TLInterpError.invalidArgument("the plan's reply has no loss") }
        // [1, P − 1, 2]: (log-probability, rank) pairs; the loss is minus the log-probability.
        let n = pairs.count / 2
        return (scores, Tensor(shape: [n], data: (0..<n).map { -pairs.data[2 * $0] }))
    }

    /// Weights that make HeadDetector.score linear in the pattern a: with mask m (0 on excluded
    /// cells) and detection pattern d, mul = Σ a·(m·d) / Σ a·m, and, since d is 0 or 1 and a in
    /// [0, 1], Σ m·|a − d| = Σ a·m·(1 − 2d) + Σ m·d (abs).
    static func weights(tokens: [Int], pattern: HeadPattern, excludeBOS: Bool, excludeCurrentToken: Bool,
                        measure: ErrorMeasure) -> (weights: Tensor, constant: Float) {
        let det = pattern.detectionPattern(tokens: tokens), P = tokens.count
        var mask = Array(repeating: Array(repeating: Float(1), count: P), count: P)
        for i in 0..<P {
            if excludeBOS { mask[i][0] = 0 }
            if excludeCurrentToken { mask[i][i] = 0 }
        }
        var w: [Float] = [], constant: Float = 0
        switch measure {
        case .mul:
            for i in 0..<P { for j in 0..<P { w.append(mask[i][j] * det[i][j]) } }
            for i in 0..<P { for j in 0..<P { w.append(mask[i][j]) } }
            return (Tensor(shape: [2, P, P], data: w), 0)
        case .abs:
            for i in 0..<P { for j in 0..<P { w.append(mask[i][j] * (1 - 2 * det[i][j])); constant += mask[i][j] * det[i][j] } }
            return (Tensor(shape: [1, P, P], data: w), constant)
        }
    }

    /// detect's plan: each layer's pattern reduced by the detection weights.
    public static func detect(config: ModelConfig, tokens: [Int], pattern: HeadPattern, excludeBOS: Bool, excludeCurrentToken: Bool,
                              measure: ErrorMeasure) throws -> InterventionPlan {
        guard tokens.count > 1 && tokens.count < config.nCtx else {
            throw TLInterpError.invalidArgument("head detection needs between 2 and \(config.nCtx - 1) tokens; got \(tokens.count)")
        }
        let w = weights(tokens: tokens, pattern: pattern, excludeBOS: excludeBOS, excludeCurrentToken: excludeCurrentToken, measure: measure).weights
        return InterventionPlan(runs: [.init(tokens: tokens, reads: (0..<config.nLayers).map { .init(patternHook($0), summary: .weights(w)) })])
    }

    /// Scores [n_layers, n_heads] from a detect plan's results, as HeadDetector.score computes them.
    public static func detectScores(_ r: PlanResult, config: ModelConfig, tokens: [Int], pattern: HeadPattern, excludeBOS: Bool,
                                    excludeCurrentToken: Bool, measure: ErrorMeasure) throws -> Tensor {
        let P = tokens.count
        switch measure {
        case .mul:
            let sums = try stack(r, config: config, perHead: 2)
            let n = sums.count / 2
            return Tensor(shape: [config.nLayers, config.nHeads], data: (0..<n).map { sums.data[2 * $0] / sums.data[2 * $0 + 1] })
        case .abs:
            let constant = weights(tokens: tokens, pattern: pattern, excludeBOS: excludeBOS, excludeCurrentToken: excludeCurrentToken, measure: measure).constant
            let sums = try stack(r, config: config, perHead: 1)
            return Tensor(shape: sums.shape, data: sums.data.map { s in
                let mean = (s + constant) / Float(P * P)
                return 1 - (mean * Float(P) * 1000).rounded() / 1000
            })
        }
    }

    /// Each layer's reduced pattern [1, H, k] (or [1, H]) in layer order: [n_layers, n_heads, k] flattened.
    static func stack(_ r: PlanResult, config: ModelConfig, perHead k: Int) throws -> Tensor {
        var out: [Float] = []
        for l in 0..<config.nLayers {
            guard let t = r.runs[0][patternHook(l)], t.count == config.nHeads * k else {
                throw TLInterpError.invalidArgument("the plan's reply has no per-head scores of layer \(l)")
            }
            out += t.data
        }
        return Tensor(shape: k == 1 ? [config.nLayers, config.nHeads] : [config.nLayers, config.nHeads, k], data: out)
    }
}
