// TransformerLens's head detector (head_detector.detect_head) and the induction score of the
// repeated-random-tokens experiment.
import TLModel
import TLTensor

public enum HeadPattern: String, Sendable, CaseIterable {
    case previousToken = "previous_token"
    case duplicateToken = "duplicate_token"
    case induction

    /// The detection pattern [pos, pos] for `tokens` (lower-triangular).
    public func detectionPattern(tokens: [Int]) -> [[Float]] {
        let n = tokens.count
        var det = Array(repeating: Array(repeating: Float(0), count: n), count: n)
        switch self {
        case .previousToken:
            for i in 1..<max(n, 1) { det[i][i - 1] = 1 }
        case .duplicateToken:
            for i in 0..<n { for j in 0..<i where tokens[j] == tokens[i] { det[i][j] = 1 } }
        case .induction:
            // The duplicate pattern shifted one column right: attend to the token after an earlier copy.
            let dup = HeadPattern.duplicateToken.detectionPattern(tokens: tokens)
            for i in 0..<n { for j in 1..<max(n, 1) { det[i][j] = dup[i][j - 1] } }
        }
        return det
    }
}

public enum ErrorMeasure: String, Sendable, CaseIterable { case mul, abs }

public enum HeadDetector {
    /// Scores [n_layers, n_heads] of every head's attention on `tokens` against `pattern`.
    public static func detect(model: HookedTransformer, tokens: [Int], pattern: HeadPattern, excludeBOS: Bool = false,
                              excludeCurrentToken: Bool = false, measure: ErrorMeasure = .mul,
                              isCancelled: (() -> Bool)? = nil) throws -> Tensor {
        guard tokens.count > 1 && tokens.count < model.config.nCtx else {
            throw TLInterpError.invalidArgument("head detection needs between 2 and \(model.config.nCtx - 1) tokens; got \(tokens.count)")
        }
        let det = pattern.detectionPattern(tokens: tokens)
        let (_, cache) = try model.runWithCache(tokens: [tokens], names: { $0.hasSuffix("attn.hook_pattern") },
                                                isCancelled: isCancelled)
        return try score(cache: cache, detection: det, excludeBOS: excludeBOS, excludeCurrentToken: excludeCurrentToken,
                         measure: measure, isCancelled: isCancelled)
    }

    /// Scores every head's cached pattern against a detection pattern [pos, pos].
    public static func score(cache: ActivationCache, detection det: [[Float]], excludeBOS: Bool, excludeCurrentToken: Bool,
                             measure: ErrorMeasure, isCancelled: (() -> Bool)? = nil) throws -> Tensor {
        let L = cache.model.config.nLayers, H = cache.model.config.nHeads
        var out = [Float](repeating: 0, count: L * H)
        for l in 0..<L {
            // Scoring is O(layers · heads · pos²) scalar work: long on a long prompt, so poll per layer.
            if let isCancelled, isCancelled() { throw TLInterpError.cancelled }
            let pattern = try cache.get("pattern", layer: l)  // [1, H, P, P]
            let P = pattern.shape[2]
            for h in 0..<H {
                var a = (0..<P).map { i in (0..<P).map { j in pattern.data[((h * P) + i) * P + j] } }
                switch measure {
                case .mul:
                    if excludeBOS { for i in 0..<P { a[i][0] = 0 } }
                    if excludeCurrentToken { for i in 0..<P { a[i][i] = 0 } }
                    var num: Float = 0, den: Float = 0
                    for i in 0..<P { for j in 0..<P { num += a[i][j] * det[i][j]; den += a[i][j] } }
                    out[l * H + h] = num / den
                case .abs:
                    var diff = (0..<P).map { i in (0..<P).map { j in Swift.abs(a[i][j] - det[i][j]) } }
                    if excludeBOS { for i in 0..<P { diff[i][0] = 0 } }
                    if excludeCurrentToken { for i in 0..<P { diff[i][i] = 0 } }
                    let mean = diff.joined().reduce(0, +) / Float(P * P)
                    out[l * H + h] = 1 - (mean * Float(P) * 1000).rounded() / 1000
                }
            }
        }
        return Tensor(shape: [L, H], data: out)
    }

    /// [BOS] + r + r with r of `length` tokens drawn uniformly from [100, 20000) (as TransformerLens's
    /// induction_loss does), clipped to the vocabulary.
    public static func repeatedRandomTokens(length: Int, seed: UInt64, bos: Int, vocab: Int) -> [Int] {
        var rng = SeededRandom(seed: seed)
        let upper = min(20000, vocab)
        let lower = min(100, max(upper - 1, 0))
        let r = (0..<length).map { _ in Int.random(in: lower..<upper, using: &rng) }
        return [bos] + r + r
    }

    /// The induction experiment: per-head induction score [n_layers, n_heads] (mean attention from
    /// each position of the second copy to the token after its first occurrence) and per-token loss.
    public static func induction(model: HookedTransformer, length: Int, seed: UInt64, bos: Int,
                                 isCancelled: (() -> Bool)? = nil) throws
        -> (tokens: [Int], scores: Tensor, lossPerToken: Tensor) {
        // Checked before the tokens exist: a huge or negative length must not reach the allocation.
        let longest = (model.config.nCtx - 1) / 2
        guard length >= 1 && length <= longest else {
            throw TLInterpError.invalidArgument("len=\(length) \(length >= 1 ? "needs 2·len+1 tokens but the model's context is \(model.config.nCtx)" : "repeats no tokens"); use len=1…\(longest)")
        }
        let tokens = repeatedRandomTokens(length: length, seed: seed, bos: bos, vocab: model.config.dVocab)
        let (logits, cache) = try model.runWithCache(tokens: [tokens], names: { $0.hasSuffix("attn.hook_pattern") },
                                                     isCancelled: isCancelled)
        if let isCancelled, isCancelled() { throw TLInterpError.cancelled }
        let scores = try inductionScores(cache: cache, length: length)
        return (tokens, scores, crossEntropyLoss(logits: logits, tokens: [tokens]).perToken)
    }

    /// Mean of each head's attention-pattern diagonal at offset −(length − 1), averaged over the batch.
    public static func inductionScores(cache: ActivationCache, length: Int) throws -> Tensor {
        let L = cache.model.config.nLayers, H = cache.model.config.nHeads
        var out = [Float](repeating: 0, count: L * H)
        for l in 0..<L {
            let pattern = try cache.get("pattern", layer: l)  // [batch, H, P, P]
            let B = pattern.shape[0], P = pattern.shape[2], offset = length - 1
            for h in 0..<H {
                var s: Float = 0, n = 0
                for b in 0..<B {
                    for i in offset..<P { s += pattern.data[(((b * H) + h) * P + i) * P + (i - offset)]; n += 1 }
                }
                out[l * H + h] = n > 0 ? s / Float(n) : 0
            }
        }
        return Tensor(shape: [L, H], data: out)
    }
}
