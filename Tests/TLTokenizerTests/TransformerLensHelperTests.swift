import Foundation
import XCTest
@testable import TLTokenizer

/// The TransformerLens helpers against what TransformerLens itself returned
/// (Tests/Fixtures/tokenizer/transformer_lens.json, from tools/tokenizer/make_tl_reference.py, n_ctx 8).
final class TransformerLensHelperTests: XCTestCase {
    private var reference: [String: Any] {
        get throws { try XCTUnwrap(try Fixtures.json("transformer_lens.json") as? [String: Any]) }
    }

    private func cases(_ name: String) throws -> [[String: Any]] {
        try XCTUnwrap(try reference[name] as? [[String: Any]], name)
    }

    /// A batch padded on the right (TransformerLens's default) and on the left, with its attention mask.
    func testBatchPaddingAndAttentionMask() throws {
        let batches = try cases("to_tokens_batch")
        XCTAssertEqual(batches.count, 12)
        for item in batches {
            let texts = try XCTUnwrap(item["texts"] as? [String])
            let bos = try XCTUnwrap(item["prepend_bos"] as? Bool)
            let side = try XCTUnwrap(PaddingSide(rawValue: try XCTUnwrap(item["padding_side"] as? String)))
            let result = Fixtures.gpt2.toTokens(texts, prependBOS: bos, paddingSide: side)
            XCTAssertEqual(result.ids, try XCTUnwrap(item["ids"] as? [[Int]]), "\(texts) bos=\(bos) \(side)")
            XCTAssertEqual(result.attentionMask, try XCTUnwrap(item["attention_mask"] as? [[Int]]), "\(texts) bos=\(bos) \(side)")
        }
    }

    func testToTokensWithTruncation() throws {
        let nCtx = try XCTUnwrap(try reference["n_ctx"] as? Int)
        var sawTruncation = false
        for item in try cases("to_tokens") {
            let text = try XCTUnwrap(item["text"] as? String)
            let bos = try XCTUnwrap(item["prepend_bos"] as? Bool)
            let expected = try XCTUnwrap(item["ids"] as? [Int])
            let untruncated = try XCTUnwrap(item["untruncated_ids"] as? [Int])
            let result = Fixtures.gpt2.toTokens(text, prependBOS: bos, maxLength: nCtx)
            XCTAssertEqual(result.ids, expected, "\(quoteForMessage(text)) bos=\(bos)")
            XCTAssertEqual(result.truncatedFrom, expected == untruncated ? nil : untruncated.count)
            XCTAssertEqual(Fixtures.gpt2.toTokens(text, prependBOS: bos).ids, untruncated)
            XCTAssertNil(Fixtures.gpt2.toTokens(text, prependBOS: bos).truncatedFrom)
            sawTruncation = sawTruncation || expected != untruncated
        }
        XCTAssertTrue(sawTruncation, "the reference should include a truncated prompt")
    }

    func testToStrTokensAndToString() throws {
        let nCtx = try XCTUnwrap(try reference["n_ctx"] as? Int)
        for item in try cases("to_str_tokens") {
            let text = try XCTUnwrap(item["text"] as? String)
            let bos = try XCTUnwrap(item["prepend_bos"] as? Bool)
            XCTAssertEqual(Fixtures.gpt2.toStrTokens(text, prependBOS: bos, maxLength: nCtx),
                           item["str_tokens"] as? [String], "\(quoteForMessage(text)) bos=\(bos)")
        }
        for item in try cases("to_string") {
            XCTAssertEqual(Fixtures.gpt2.toString(try XCTUnwrap(item["ids"] as? [Int])), item["text"] as? String)
        }
    }

    func testToSingleToken() throws {
        var sawError = false
        for item in try cases("to_single_token") {
            let text = try XCTUnwrap(item["text"] as? String)
            if let id = item["id"] as? Int {
                XCTAssertEqual(try Fixtures.gpt2.toSingleToken(text), id)
                continue
            }
            sawError = true
            let pieces = try XCTUnwrap(item["pieces"] as? [String])
            XCTAssertThrowsError(try Fixtures.gpt2.toSingleToken(text)) { error in
                XCTAssertEqual(error as? TLTokenizerError, .notSingleToken(text: text, pieces: pieces))
            }
        }
        XCTAssertTrue(sawError)
    }

    func testSingleTokenMessageShowsTheSplit() throws {
        let pieces = try XCTUnwrap(try cases("to_single_token").first { $0["text"] as? String == " Parisian" }?["pieces"] as? [String])
        XCTAssertThrowsError(try Fixtures.gpt2.toSingleToken(" Parisian")) { error in
            let expected = "\" Parisian\" is \(pieces.count) tokens: "
                + pieces.map { "\"\($0)\"" }.joined(separator: " + ")
                + "; use a single-token string such as \"\(pieces[0])\""
            XCTAssertEqual("\(error)", expected)
        }
        XCTAssertThrowsError(try Fixtures.gpt2.toSingleToken("")) { error in
            XCTAssertTrue("\(error)".hasPrefix("\"\" is 0 tokens"), "\(error)")
        }
    }

    func testTokenPosition() throws {
        let nCtx = try XCTUnwrap(try reference["n_ctx"] as? Int)
        for item in try cases("get_token_position") {
            let single = try XCTUnwrap(item["single"] as? String)
            let text = try XCTUnwrap(item["text"] as? String)
            let mode: GPT2Tokenizer.TokenPositionMode = item["mode"] as? String == "last" ? .last : .first
            let bos = try XCTUnwrap(item["prepend_bos"] as? Bool)
            XCTAssertEqual(try Fixtures.gpt2.tokenPosition(of: single, in: text, mode: mode, prependBOS: bos,
                                                             maxLength: nCtx),
                           item["position"] as? Int, "\(single) in \(text) \(mode) bos=\(bos)")
        }
        XCTAssertThrowsError(try Fixtures.gpt2.tokenPosition(of: " Paris", in: "London is big", mode: .first)) { error in
            XCTAssertEqual(error as? TLTokenizerError, .tokenNotInPrompt(token: " Paris", prompt: "London is big"))
        }
    }
}
