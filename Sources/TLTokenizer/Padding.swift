// TransformerLens's `to_tokens` on a batch of texts: each tokenized (BOS prepended as asked), then
// padded to the longest. The pad id is the eos token, as TransformerLens sets `pad_token = eos_token`
// when a tokenizer has none (GPT-2, Llama-3, Pythia); padding goes on the right by default
// (`padding_side="right"`), on the left for generation, where every prompt must end at the last position.

/// Which end of a shorter sequence gets the padding.
public enum PaddingSide: String, Sendable, CaseIterable {
    case right, left
}

extension Tokenizer {
    /// The pad id used by `toTokens(_:prependBOS:paddingSide:)`.
    public var padTokenID: Int { eosTokenID }

    /// Ids of each text, padded to a rectangle, and the attention mask (1 for a real token, 0 for
    /// padding; BOS counts as real, so a mask is right even where pad and BOS are the same id).
    public func toTokens(_ texts: [String], prependBOS: Bool = true,
                         paddingSide: PaddingSide = .right) -> (ids: [[Int]], attentionMask: [[Int]]) {
        let rows = texts.map { (prependBOS ? [bosTokenID] : []) + encode($0) }
        let width = rows.map(\.count).max() ?? 0
        var ids: [[Int]] = [], mask: [[Int]] = []
        for row in rows {
            let pad = [Int](repeating: padTokenID, count: width - row.count)
            let zeros = [Int](repeating: 0, count: width - row.count), ones = [Int](repeating: 1, count: row.count)
            switch paddingSide {
            case .right: ids.append(row + pad); mask.append(ones + zeros)
            case .left: ids.append(pad + row); mask.append(zeros + ones)
            }
        }
        return (ids, mask)
    }
}
