import Foundation
import XCTest
@testable import TLTokenizer

/// Broken tokenizer files give errors naming the file and the line / key / byte, never a crash.
final class MalformedFileTests: XCTestCase {
    private let tinyVocab = Data(#"{"a": 0, "b": 1}"#.utf8)

    private func description(of body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testVocabJSONSyntaxErrorNamesLine() {
        let message = description {
            _ = try GPT2Tokenizer(vocabJSON: Data("{\n\"a\": 0,\n\"b\" 1\n}".utf8), mergesText: "")
        }
        XCTAssertTrue(message.hasPrefix("vocab.json, line 3, byte "), message)
        XCTAssertTrue(message.contains("expected ':'"), message)
    }

    func testVocabValueMustBeAnInteger() {
        let message = description { _ = try GPT2Tokenizer(vocabJSON: Data(#"{"a": "zero"}"#.utf8), mergesText: "") }
        XCTAssertEqual(message, #"vocab.json, key "a": token id must be a non-negative integer, found a string"#)
    }

    func testTruncatedVocabJSON() {
        let message = description { _ = try GPT2Tokenizer(vocabJSON: Data(#"{"a": 0, "b""#.utf8), mergesText: "") }
        XCTAssertTrue(message.hasPrefix("vocab.json, line 1, byte"), message)
        XCTAssertTrue(message.contains("end of file"), message)
    }

    func testVocabWithoutByteTokens() {
        let message = description { _ = try GPT2Tokenizer(vocabJSON: tinyVocab, mergesText: "") }
        XCTAssertTrue(message.contains("vocab.json") && message.contains("byte-level token for byte 0x0"), message)
    }

    private var realVocab: Data {
        get throws { try Data(contentsOf: Fixtures.defaultModel.appendingPathComponent("vocab.json")) }
    }

    func testMergesLineWithoutSpaceNamesLine() throws {
        let vocab = try realVocab
        let message = description {
            _ = try GPT2Tokenizer(vocabJSON: vocab, mergesText: "#version: 0.2\nĠ t\nĠa\n")
        }
        XCTAssertEqual(message, #"merges.txt, line 3: expected two tokens separated by one space, found "Ġa""#)
    }

    func testMergeOfUnknownTokenNamesLine() throws {
        let vocab = try realVocab
        let message = description {
            _ = try GPT2Tokenizer(vocabJSON: vocab, mergesText: "#version: 0.2\nĠ t\nzzzq zzzq\n")
        }
        XCTAssertTrue(message.hasPrefix("merges.txt, line 3: token \"zzzq\" is not in the vocabulary"), message)
    }

    func testTokenizerJSONErrors() {
        let cases: [(String, String)] = [
            ("{\"model\": ", "tokenizer.json, line 1, byte 10: unexpected end of file, expected a value"),
            (#"{"version": "1.0"}"#, #"tokenizer.json, key "model": missing the "model" object"#),
            (#"{"model": {"type": "WordPiece", "vocab": {}}}"#,
             #"tokenizer.json: model type "WordPiece" is not supported (docs/TOKENIZER.md lists the supported components)"#),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}"#,
             #"tokenizer.json, key "model.merges"[0]: expected a pair of two strings"#),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a  b"]}}"#,
             #"tokenizer.json, key "model.merges"[0]: expected "left right", found "a  b""#),
            (#"{"model": {"type": "BPE", "vocab": [1]}}"#,
             #"tokenizer.json, key "model.vocab": expected an object mapping token strings to ids, found an array"#),
            (#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": [{"id": 1}]}"#,
             #"tokenizer.json, key "added_tokens"[0]: each added token needs a non-empty "content" and a non-negative "id""#),
            (#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": [], "normalizer": {"type": "BertNormalizer"}}"#,
             #"tokenizer.json: normalizer "BertNormalizer" is not supported (docs/TOKENIZER.md lists the supported components)"#),
            (#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#,
             #"tokenizer.json: pre_tokenizer "Whitespace" is not supported (docs/TOKENIZER.md lists the supported components)"#),
            (#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "decoder": {"type": "WordPiece"}}"#,
             #"tokenizer.json: decoder "WordPiece" is not supported (docs/TOKENIZER.md lists the supported components)"#),
            (#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}}}"#,
             #"tokenizer.json: Split pre-tokenizer regex "\\w+" (tlsh implements the GPT-2, Llama-3 and Qwen2 patterns) is not supported (docs/TOKENIZER.md lists the supported components)"#),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true, "unk_token": "<unk>"}, "pre_tokenizer": null}"#,
             #"tokenizer.json, key "model.unk_token": the unknown token "<unk>" is not in the vocabulary"#),
            ("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\q\": 0}}}",
             "tokenizer.json, line 1, byte 38: invalid escape sequence in a string"),
        ]
        for (json, expected) in cases {
            XCTAssertEqual(description { _ = try GPT2Tokenizer(tokenizerJSON: Data(json.utf8)) }, expected, json)
        }
    }

    func testAbsurdIDIsRejected() {
        let message = description {
            _ = try GPT2Tokenizer(vocabJSON: Data(#"{"a": 2000000000}"#.utf8), mergesText: "")
        }
        XCTAssertEqual(message, "vocab.json, token id 2000000000: id is far larger than the vocabulary (1 entries)")
    }

    func testBadBytesInsteadOfJSON() {
        let message = description { _ = try GPT2Tokenizer(tokenizerJSON: Data([0xFF, 0xFE, 0x00])) }
        XCTAssertEqual(message, "tokenizer.json, line 1, byte 0: unexpected character, expected a value")
    }

    func testLoadReportsFullPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tltokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{\"model\": {]}".utf8).write(to: directory.appendingPathComponent("tokenizer.json"))
        let message = description { _ = try GPT2Tokenizer.load(directory: directory) }
        XCTAssertEqual(message, directory.appendingPathComponent("tokenizer.json").path
                       + ", line 1, byte 11: expected a string key")
    }

    func testSentencePieceModelErrors() {
        // A piece (field 1) whose length runs past the end of the file.
        XCTAssertEqual(description { _ = try Tokenizer(sentencePieceModel: Data([0x0A, 0x20, 0x0A, 0x01])) },
                       "tokenizer.model, byte 2: invalid protobuf: length 32 runs past the end")
        XCTAssertEqual(description { _ = try Tokenizer(sentencePieceModel: Data()) },
                       "tokenizer.model, field 1: no pieces (not a SentencePiece model?)")
        // One piece "a", trainer_spec.model_type = 1 (Unigram).
        let unigram = Data([0x0A, 0x03, 0x0A, 0x01, 0x61, 0x12, 0x02, 0x18, 0x01])
        XCTAssertEqual(description { _ = try Tokenizer(sentencePieceModel: unigram) },
                       "tokenizer.model: a SentencePiece Unigram model (tlsh reads BPE models) is not supported "
                       + "(docs/TOKENIZER.md lists the supported components)")
    }
}
