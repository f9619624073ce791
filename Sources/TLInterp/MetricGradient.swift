// The derivative of a patching metric with respect to the logits: the seed of the backward pass.
// Over a batch the metric is the sum of each sequence's metric (so every sequence gets its own
// gradient, as if run alone).
import Foundation
import TLModel
import TLTensor

extension PatchMetric {
    /// d metric / d logits for logits [B, P, V] of `tokens` [B][P]. `vocabulary`: the model's V when
    /// the logits hold only the metric's columns (GradientOptions.logitColumns; a logit difference or
    /// a logit, whose gradient reads no logit), else V is the logits' last axis.
    public func logitGradient(logits: Tensor, tokens: [[Int]], vocabulary: Int? = nil) throws -> LogitGradient {
        guard logits.rank == 3, logits.shape[0] == tokens.count else {
            throw TLInterpError.invalidArgument("logits \(logits.shape) do not match \(tokens.count) sequences")
        }
        let B = logits.shape[0], P = logits.shape[1], V = vocabulary ?? logits.shape[2]
        func row(_ b: Int, _ pos: Int) throws -> Int {
            let p = pos < 0 ? pos + P : pos
            guard p >= 0 && p < P else { throw TLInterpError.invalidArgument("position \(pos) is out of range for \(P) tokens") }
            return b * P + p
        }
        for t in [columns ?? [], probabilityToken].joined() where t < 0 || t >= V {
            throw TLInterpError.invalidArgument("token id \(t) is outside the vocabulary (0..<\(V))")
        }
        switch self {
        case .logitDiff(_, _, let p):
            // + at the answer, − at the wrong token.
            return LogitGradient(rows: try (0..<B).map { try row($0, p) }, columns: columns,
                                 values: [Float]((0..<B).map { _ in [1, -1] }.joined()))
        case .logit(_, let p):
            return LogitGradient(rows: try (0..<B).map { try row($0, p) }, columns: columns, values: [Float](repeating: 1, count: B))
        case .probability(let t, let p):
            // d p_t / d logit_j = p_t (δ_tj − p_j)
            var values = [Float](repeating: 0, count: B * V)
            var rows: [Int] = []
            for b in 0..<B {
                let r = try row(b, p)
                rows.append(r)
                let probs = Tensor(shape: [V], data: Array(logits.data[(r * V)..<((r + 1) * V)])).softmax().data
                for j in 0..<V { values[b * V + j] = probs[t] * ((j == t ? 1 : 0) - probs[j]) }
            }
            return LogitGradient(rows: rows, columns: nil, values: values)
        case .loss:
            // Mean next-token cross-entropy per sequence: (softmax − onehot(next)) / (P − 1) at 0..<P−1.
            guard P >= 2 else { throw TLInterpError.invalidArgument("the loss needs at least 2 tokens") }
            var values = [Float](repeating: 0, count: B * (P - 1) * V)
            var rows: [Int] = []
            for b in 0..<B {
                for p in 0..<(P - 1) {
                    let r = b * P + p, o = rows.count * V
                    rows.append(r)
                    let probs = Tensor(shape: [V], data: Array(logits.data[(r * V)..<((r + 1) * V)])).softmax().data
                    let next = tokens[b][p + 1]
                    for j in 0..<V { values[o + j] = (probs[j] - (j == next ? 1 : 0)) / Float(P - 1) }
                }
            }
            return LogitGradient(rows: rows, columns: nil, values: values)
        }
    }

    private var probabilityToken: [Int] {
        if case .probability(let t, _) = self { return [t] }
        return []
    }
}
