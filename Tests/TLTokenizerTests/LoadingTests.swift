import Foundation
import XCTest
@testable import TLTokenizer

/// tokenizer.json loading agrees with vocab.json + merges.txt; directories pick the right files.
final class LoadingTests: XCTestCase {
    private let fixtureJSON = Fixtures.tokenizerFixtures.appendingPathComponent("gpt2-tokenizer.json")

    /// gpt2-tokenizer.json is written by HF tokenizers (make_goldens.py) with merges as ["a", "b"] pairs.
    func testTokenizerJSONEncodesLikeVocabAndMerges() throws {
        let fromJSON = try GPT2Tokenizer(tokenizerJSON: Data(contentsOf: fixtureJSON))
        XCTAssertEqual(fromJSON.vocabSize, Fixtures.gpt2.vocabSize)
        XCTAssertEqual(fromJSON.bosTokenID, 50256)
        let mismatches = Fixtures.goldens.filter { fromJSON.encode($0.text) != $0.ids }
        XCTAssertEqual(mismatches.count, 0, "first: \(mismatches.prefix(3).map { quoteForMessage($0.text) })")
        for id in stride(from: 0, to: 50257, by: 97) {
            XCTAssertEqual(fromJSON.tokenBytes(id), Fixtures.gpt2.tokenBytes(id), "id \(id)")
        }
    }

    /// The legacy tokenizer.json form spells each merge as one "a b" string.
    func testTokenizerJSONWithStringMerges() throws {
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureJSON)) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        let pairs = try XCTUnwrap(model["merges"] as? [[String]])
        model["merges"] = pairs.map { $0.joined(separator: " ") }
        root["model"] = model
        let legacy = try GPT2Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root))
        for golden in Fixtures.goldens.prefix(1500) { XCTAssertEqual(legacy.encode(golden.text), golden.ids) }
    }

    /// With `ignore_merges`, whole-vocabulary pieces skip BPE; for GPT-2 every token is BPE-reachable,
    /// so the ids must not change.
    func testIgnoreMergesKeepsGPT2IDs() throws {
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureJSON)) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["ignore_merges"] = true
        root["model"] = model
        let tokenizer = try GPT2Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root))
        for golden in Fixtures.goldens.prefix(1500) { XCTAssertEqual(tokenizer.encode(golden.text), golden.ids) }
    }

    func testLoadDirectoryPrefersTokenizerJSON() throws {
        let directory = try temporaryDirectory()
        XCTAssertThrowsError(try GPT2Tokenizer.load(directory: directory)) { error in
            XCTAssertEqual(error as? TLTokenizerError, .missingTokenizerFiles(directory: directory.path))
        }
        // vocab.json + merges.txt only.
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: Fixtures.defaultModel.appendingPathComponent(name),
                                             to: directory.appendingPathComponent(name))
        }
        XCTAssertEqual(try GPT2Tokenizer.load(directory: directory).encode("Paris<|endoftext|>"),
                       golden("Paris") + [50256])
        // A tokenizer.json next to them wins: make it recognisable with an extra added token.
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureJSON)) as? [String: Any])
        var added = try XCTUnwrap(root["added_tokens"] as? [[String: Any]])
        added.append(["id": 50257, "content": "<|pad|>", "special": true, "lstrip": false, "rstrip": false,
                      "single_word": false, "normalized": false])
        root["added_tokens"] = added
        try JSONSerialization.data(withJSONObject: root).write(to: directory.appendingPathComponent("tokenizer.json"))
        let tokenizer = try GPT2Tokenizer.load(directory: directory)
        XCTAssertEqual(tokenizer.vocabSize, 50258)
        XCTAssertEqual(tokenizer.encode("Paris<|pad|> Paris"), golden("Paris") + [50257] + golden(" Paris"))
        XCTAssertEqual(tokenizer.decode(golden("Paris") + [50257]), "Paris<|pad|>")
    }

    /// Added tokens with lstrip/rstrip, against cases HF tokenizers encoded (make_goldens.py).
    func testAddedTokenCasesMatchHuggingFace() throws {
        let cases = try XCTUnwrap(try Fixtures.json("added_tokens.json") as? [String: Any])
        let added = try XCTUnwrap(cases["added_tokens"] as? [[String: Any]])
        var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureJSON)) as? [String: Any])
        root["added_tokens"] = (try XCTUnwrap(root["added_tokens"] as? [[String: Any]])) + added
        let tokenizer = try GPT2Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root))
        let examples = try XCTUnwrap(cases["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(examples.count, 5)
        for example in examples {
            let text = try XCTUnwrap(example["text"] as? String)
            XCTAssertEqual(tokenizer.encode(text), example["ids"] as? [Int], quoteForMessage(text))
            XCTAssertEqual(tokenizer.decode(try XCTUnwrap(example["ids"] as? [Int])), example["decoded"] as? String)
        }
    }

    /// ByteLevel `add_prefix_space` (per stretch between added tokens) and `use_regex: false`, against HF.
    func testPreTokenizerOptionsMatchHuggingFace() throws {
        let cases = try XCTUnwrap(try Fixtures.json("added_tokens.json") as? [String: Any])
        let variants = try XCTUnwrap(cases["pre_tokenizer_variants"] as? [[String: Any]])
        XCTAssertEqual(variants.count, 2)
        for variant in variants {
            let options = try XCTUnwrap(variant["pre_tokenizer"] as? [String: Any])
            var root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureJSON)) as? [String: Any])
            var preTokenizer = try XCTUnwrap(root["pre_tokenizer"] as? [String: Any])
            preTokenizer.merge(options) { $1 }
            root["pre_tokenizer"] = preTokenizer
            let tokenizer = try GPT2Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root))
            for example in try XCTUnwrap(variant["cases"] as? [[String: Any]]) {
                let text = try XCTUnwrap(example["text"] as? String)
                XCTAssertEqual(tokenizer.encode(text), example["ids"] as? [Int], "\(options) \(quoteForMessage(text))")
            }
        }
    }

    func testTokenizerConfigNamesBOS() throws {
        let directory = try temporaryDirectory()
        try FileManager.default.copyItem(at: fixtureJSON, to: directory.appendingPathComponent("tokenizer.json"))
        try Data(#"{"bos_token": {"content": "!"}, "eos_token": "\""}"#.utf8)
            .write(to: directory.appendingPathComponent("tokenizer_config.json"))
        let tokenizer = try GPT2Tokenizer.load(directory: directory)
        XCTAssertEqual(tokenizer.bosTokenID, 0)
        XCTAssertEqual(tokenizer.eosTokenID, 1)
    }

    private func golden(_ text: String) -> [Int] {
        Fixtures.goldens.first { $0.text == text }?.ids ?? []
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tltokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
