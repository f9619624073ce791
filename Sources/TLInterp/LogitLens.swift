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

    /// Which residual-stream points a lens decodes.
    public enum Point: String, Sendable, CaseIterable {
        /// TransformerLens's accumulated_resid: the input of every block (0_pre is the embeddings),
        /// then the final output (final_post); each row after the first is a block's output.
        case resid_post
        /// The input of every block: 0_pre … (n_layers-1)_pre.
        case resid_pre
        /// Every block's middle, after attention and before the MLP: 0_mid … (n_layers-1)_mid.
        case resid_mid
    }

    /// Decodes `cache` (batch item 0) at `positions` (all when nil), at `point`'s rows.
    public static func compute(cache: ActivationCache, positions: [Int]? = nil, at point: Point = .resid_post) throws -> LogitLens {
        let model = cache.model
        // ln_final is recomputed per row (apply_ln), so choosing rows after stacking gives the same
        // numbers as stacking only those rows.
        let full = try cache.accumulatedResid(inclMid: point == .resid_mid, applyLN: true)  // [n, 1, P, d]
        let keep: [Int]
        switch point {
        case .resid_post: keep = Array(full.labels.indices)
        case .resid_pre: keep = full.labels.indices.filter { full.labels[$0].hasSuffix("_pre") }
        case .resid_mid: keep = full.labels.indices.filter { full.labels[$0].hasSuffix("_mid") }
        }
        let rowSize = full.tensor.count / max(full.labels.count, 1)
        let stack = (tensor: Tensor(shape: [keep.count] + full.tensor.shape.dropFirst(),
                                    data: keep.flatMap { full.tensor.data[($0 * rowSize)..<(($0 + 1) * rowSize)] }),
                     labels: keep.map { full.labels[$0] })
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
