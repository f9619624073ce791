// The logit lens: decode the residual stream after every layer through ln_final and W_U
// (accumulated_resid with apply_ln, TransformerLens 3.x: LayerNorm recomputed per component).
import TLModel
import TLTensor

public struct LogitLens: Sendable {
    /// Row labels: `0_pre`, `1_pre`, …, `final_post` (the residual entering each block, then the output).
    public var labels: [String]
    /// Positions decoded.
    public var positions: [Int]
    /// Log-probabilities [labels, positions, d_vocab].
    public var logProbs: Tensor

    /// Decodes `cache` (batch item 0) at `positions` (all when nil).
    public static func compute(cache: ActivationCache, positions: [Int]? = nil) throws -> LogitLens {
        let model = cache.model
        let stack = try cache.accumulatedResid(applyLN: true)  // [n, 1, P, d]
        let n = stack.tensor.shape[0], P = stack.tensor.shape[2], d = model.config.dModel, V = model.config.dVocab
        let pos = (positions ?? Array(0..<P)).map { $0 < 0 ? $0 + P : $0 }
        for p in pos where p < 0 || p >= P {
            throw TLInterpError.invalidArgument("position \(p) is out of range for \(P) tokens")
        }
        var x = [Float](repeating: 0, count: n * pos.count * d)
        for c in 0..<n { for (k, p) in pos.enumerated() { for i in 0..<d {
            x[(c * pos.count + k) * d + i] = stack.tensor.data[(c * P + p) * d + i]
        } } }
        let logits = model.matrix(.unembed).product(Tensor(shape: [n * pos.count, d], data: x), plus: model.weights.bU, shape: [n, pos.count, V])
        let lp = logits.logSoftmax()
        return LogitLens(labels: stack.labels, positions: pos, logProbs: lp)
    }

    /// Top-k (token, probability) at one layer row and position column.
    public func top(layer row: Int, position column: Int, k: Int) -> [(token: Int, prob: Float)] {
        let V = logProbs.shape[2]
        let base = (row * positions.count + column) * V
        return logProbs.data.withUnsafeBufferPointer { buf in
            Tensor.topK(UnsafeBufferPointer(rebasing: buf[base..<(base + V)]), k: k).map { ($0.index, expf($0.value)) }
        }
    }

    /// Rank (0 = top) and probability of `token` at every layer for one position column.
    public func track(token: Int, position column: Int) -> [(rank: Int, prob: Float)] {
        let V = logProbs.shape[2]
        return (0..<labels.count).map { row in
            let base = (row * positions.count + column) * V
            let v = logProbs.data[base + token]
            var rank = 0
            for i in 0..<V where logProbs.data[base + i] > v { rank += 1 }
            return (rank, expf(v))
        }
    }
}

import Foundation
