// Patching metrics: scalar functions of a run's logits, declared as data so the patcher knows
// which logits it must compute (two vocabulary columns for a logit difference, all for a loss).
import TLModel
import TLTensor

/// What a patching experiment measures on a run's output.
public enum PatchMetric: Sendable, Equatable, CustomStringConvertible {
    /// logit(answer) − logit(wrong) at `position` (default: last).
    case logitDiff(answer: Int, wrong: Int, position: Int = -1)
    /// logit(token) at `position`.
    case logit(token: Int, position: Int = -1)
    /// softmax probability of `token` at `position`.
    case probability(token: Int, position: Int = -1)
    /// Mean next-token cross-entropy loss over the sequence (needs every position's logits).
    case loss

    public var description: String {
        switch self {
        case .logitDiff(let a, let w, let p): return "logit_diff(\(a), \(w)) at position \(p)"
        case .logit(let t, let p): return "logit(\(t)) at position \(p)"
        case .probability(let t, let p): return "prob(\(t)) at position \(p)"
        case .loss: return "loss"
        }
    }

    /// The single position whose logits the metric reads, or nil when it reads all.
    var position: Int? {
        switch self {
        case .logitDiff(_, _, let p), .logit(_, let p), .probability(_, let p): return p
        case .loss: return nil
        }
    }

    /// Vocabulary columns the metric needs, or nil for the whole vocabulary.
    var columns: [Int]? {
        switch self {
        case .logitDiff(let a, let w, _): return [a, w]
        case .logit(let t, _): return [t]
        case .probability, .loss: return nil
        }
    }

    /// Whether `restrict` narrows a run's logits (to one position and/or a few vocabulary columns),
    /// which `evaluate` must then be told.
    var restrictsLogits: Bool { columns != nil || position != nil }

    /// Configures a run to compute just what the metric reads.
    func restrict(_ options: inout RunOptions, sequenceLength: Int, startPosition: Int) {
        if let p = position {
            let absolute = p < 0 ? p + sequenceLength : p
            options.logitPositions = [absolute - startPosition]
        }
        options.logitTokens = columns
    }

    /// Evaluates the metric on logits produced under `restrict` (or on full logits [1, pos, vocab]).
    func evaluate(_ logits: Tensor, tokens: [Int], restricted: Bool) -> Float {
        func row(_ pos: Int) -> Int { restricted ? 0 : (pos < 0 ? pos + logits.shape[1] : pos) }
        let width = logits.shape[2]
        switch self {
        case .logitDiff(let a, let w, let p):
            let r = row(p) * width
            return restricted ? logits.data[r] - logits.data[r + 1] : logits.data[r + a] - logits.data[r + w]
        case .logit(let t, let p):
            let r = row(p) * width
            return restricted ? logits.data[r] : logits.data[r + t]
        case .probability(let t, let p):
            let r = row(p) * width
            let slice = Tensor(shape: [width], data: Array(logits.data[r..<(r + width)]))
            return slice.softmax().data[t]
        case .loss:
            return crossEntropyLoss(logits: logits, tokens: [tokens]).mean
        }
    }

    /// The metric of a full run's logits [1, pos, vocab].
    public func value(logits: Tensor, tokens: [Int]) -> Float {
        evaluate(logits, tokens: tokens, restricted: false)
    }
}
