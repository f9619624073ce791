import Foundation
import XCTest
@testable import TLTokenizer

/// Paths of the committed tokenizer data and reference fixtures, found relative to this file.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let defaultModel = repositoryRoot.appendingPathComponent("Sources/TLHub/Resources/DefaultModel")
    static let tokenizerFixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenizer")

    /// GPT-2 loaded from vocab.json + merges.txt, shared by the tests (the tokenizer is thread-safe).
    static let gpt2: GPT2Tokenizer = {
        do {
            return try GPT2Tokenizer.load(directory: defaultModel)
        } catch {
            preconditionFailure("cannot load the GPT-2 tokenizer from \(defaultModel.path): \(error)")
        }
    }()

    struct GoldenCase {
        let text: String
        let ids: [Int]
        let tokens: [String]
    }

    /// Tests/Fixtures/tokenizer/golden.jsonl, written by tools/tokenizer/make_goldens.py (tiktoken == HF tokenizers).
    static let goldens: [GoldenCase] = {
        let url = tokenizerFixtures.appendingPathComponent("golden.jsonl")
        guard let data = try? Data(contentsOf: url) else { preconditionFailure("missing \(url.path)") }
        return data.split(separator: UInt8(ascii: "\n")).map { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let text = object["text"] as? String, let ids = object["ids"] as? [Int],
                  let tokens = object["tokens"] as? [String] else {
                preconditionFailure("malformed line in \(url.path)")
            }
            return GoldenCase(text: text, ids: ids, tokens: tokens)
        }
    }()

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: tokenizerFixtures.appendingPathComponent(name)))
    }
}
