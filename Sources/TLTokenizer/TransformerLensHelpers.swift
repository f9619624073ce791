/// TransformerLens's tokenization helpers (`HookedTransformer.to_tokens`, `to_str_tokens`, `to_string`,
/// `to_single_token`, `get_token_position`) with the same semantics for one prompt.
extension GPT2Tokenizer {
    /// Which occurrence `tokenPosition` reports.
    public enum TokenPositionMode: Sendable {
        case first, last
    }

    /// Ids of `text`, with BOS first when `prependBOS` (TransformerLens's default). If `maxLength` (the
    /// model's n_ctx) is given and the ids are too long, they are cut and `truncatedFrom` is the length
    /// before cutting, so the caller can warn; otherwise `truncatedFrom` is nil.
    ///
    /// As in TransformerLens with GPT-2 (whose tokenizer there adds BOS itself, truncates to n_ctx, and
    /// only then drops BOS when `prepend_bos=False`), text without BOS keeps at most `maxLength - 1` ids.
    public func toTokens(_ text: String, prependBOS: Bool = true, maxLength: Int? = nil) -> (ids: [Int], truncatedFrom: Int?) {
        var ids = prependBOS ? [bosTokenID] : []
        ids += encode(text)
        if let maxLength {
            let limit = max(prependBOS ? maxLength : maxLength - 1, 0)
            if ids.count > limit {
                let originalCount = ids.count
                ids.removeSubrange(limit...)
                return (ids, originalCount)
            }
        }
        return (ids, nil)
    }

    /// Each token of `text` decoded on its own (BOS shown as "<|endoftext|>" when prepended), after the
    /// same truncation as `toTokens`.
    public func toStrTokens(_ text: String, prependBOS: Bool = true, maxLength: Int? = nil) -> [String] {
        toStrTokens(ids: toTokens(text, prependBOS: prependBOS, maxLength: maxLength).ids)
    }

    /// Each id decoded on its own; a token holding part of a character shows U+FFFD.
    public func toStrTokens(ids: [Int]) -> [String] { ids.map(tokenString) }

    /// Text of `ids` (TransformerLens's `to_string`, no clean-up of spaces).
    public func toString(_ ids: [Int]) -> String { decode(ids) }

    /// The id of `text` if it is exactly one token (no BOS); otherwise an error showing how it splits.
    public func toSingleToken(_ text: String) throws -> Int {
        let ids = encode(text)
        guard ids.count == 1 else {
            throw TLTokenizerError.notSingleToken(text: text, pieces: ids.map(tokenString))
        }
        return ids[0]
    }

    /// Position of the single-token string `single` among the tokens of `text` (BOS counted when
    /// `prependBOS`), first or last occurrence, after the same truncation as `toTokens`; errors if `single`
    /// is not one token or does not occur.
    public func tokenPosition(of single: String, in text: String, mode: TokenPositionMode = .first,
                              prependBOS: Bool = true, maxLength: Int? = nil) throws -> Int {
        let target = try toSingleToken(single)
        let ids = toTokens(text, prependBOS: prependBOS, maxLength: maxLength).ids
        let found = mode == .first ? ids.firstIndex(of: target) : ids.lastIndex(of: target)
        guard let found else { throw TLTokenizerError.tokenNotInPrompt(token: single, prompt: text) }
        return found
    }
}
