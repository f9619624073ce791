// Fuzzes the tokenizer: its two file formats (vocab.json + merges.txt, tokenizer.json) and encode/decode
// on arbitrary text, including text decoded from invalid UTF-8, and arbitrary (also out-of-range) ids.
import Foundation
@testable import TLTokenizer
import XCTest

final class TokenizerFuzzTests: XCTestCase {
    static let separator = Array("\n@@TLSH-FUZZ-FILE@@\n".utf8)
    static let probes = ["", "the thing", " thing\n\n  in", "héllo wörld 123 'll 's", "<|endoftext|>the<|endoftext|>",
                         String(repeating: "ab", count: 40), "\u{FFFD}\u{1F600} \t\r\n", "ing ing ing"]

    /// A small byte-level BPE vocabulary: the 256 byte tokens, a few merges and <|endoftext|>.
    static let smallVocabulary: (vocab: [String: Int], merges: [(String, String)], endOfText: Int) = {
        var vocab: [String: Int] = [:]
        for byte in 0..<256 { vocab[String(ByteLevel.character[byte])] = byte }
        let merges: [(String, String)] = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("in", "g"), ("Ġ", "th"),
                                          ("t", "h"), ("Ġth", "ing"), ("a", "b"), ("ab", "ab")]
        for (left, right) in merges where vocab[left + right] == nil { vocab[left + right] = vocab.count }
        let endOfText = vocab.count
        return (vocab, merges, endOfText)
    }()

    static func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static var vocabJSON: String {
        "{" + smallVocabulary.vocab.sorted { $0.value < $1.value }.map { "\(jsonString($0.key)):\($0.value)" }.joined(separator: ",") + "}"
    }

    static func tokenizerJSON(mergesAsPairs: Bool = true, preTokenizer: String = #"{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}"#,
                              addedExtra: String = "", ignoreMerges: Bool = false) -> String {
        let merges = smallVocabulary.merges.map { mergesAsPairs ? "[\(jsonString($0.0)),\(jsonString($0.1))]" : jsonString("\($0.0) \($0.1)") }
        let added = #"{"id":\#(smallVocabulary.endOfText),"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}"#
        return #"{"version":"1.0","added_tokens":[\#(added)\#(addedExtra)],"normalizer":null,"pre_tokenizer":\#(preTokenizer),"#
            + #""model":{"type":"BPE","dropout":null,"ignore_merges":\#(ignoreMerges),"vocab":\#(vocabJSON),"merges":[\#(merges.joined(separator: ","))]}}"#
    }

    /// Checks that hold for every tokenizer that loaded: ids in range, decode total (unknown ids skipped).
    static func exercise(_ tokenizer: GPT2Tokenizer, rng: inout SeededGenerator) {
        for probe in probes {
            let ids = tokenizer.encode(probe)
            for id in ids { XCTAssert(id >= 0 && id < tokenizer.vocabSize, "id \(id) outside 0..<\(tokenizer.vocabSize)") }
            _ = tokenizer.decode(ids)
        }
        let odd = [-1, Int.min, Int.max, tokenizer.vocabSize, tokenizer.vocabSize - 1, 0, Int.random(in: -100...100_000, using: &rng)]
        _ = tokenizer.decode(odd)
        for id in odd { _ = tokenizer.tokenString(id); _ = tokenizer.tokenBytes(id) }
    }

    func testVocabAndMergesOnMutatedFiles() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 3000, defaultSeconds: 12)
        let mergesText = "#version: 0.2\n" + Self.smallVocabulary.merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n"
        let seed = Array(Self.vocabJSON.utf8) + Self.separator + Array(mergesText.utf8)
        var rng = SeededGenerator(seed: budget.seed)
        let report = fuzz("vocab-merges", corpus: [seed, Array("{}".utf8) + Self.separator], dictionary: ["\"Ġ\"", "\"\\u0120\"", ":", ",", "Ġ", " ", "\n", "#version"],
                          budget: budget) { input in
            let split = input.firstRange(of: Self.separator)
            let vocab = split.map { Array(input[..<$0.lowerBound]) } ?? input
            let merges = split.map { Array(input[$0.upperBound...]) } ?? []
            let tokenizer = try GPT2Tokenizer(vocabJSON: Data(vocab), mergesText: String(decoding: merges, as: UTF8.self),
                                              addedTokens: ["<|endoftext|>": Self.smallVocabulary.endOfText])
            Self.exercise(tokenizer, rng: &rng)
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }

    func testTokenizerJSONOnMutatedFiles() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 3000, defaultSeconds: 12)
        let stripped = #",{"id":9000,"content":"<mask>","lstrip":true,"rstrip":false,"special":true},{"id":9001,"content":" [SEP]","lstrip":false,"rstrip":true,"special":false}"#
        let seeds = [
            Self.tokenizerJSON(),
            Self.tokenizerJSON(mergesAsPairs: false, ignoreMerges: true),
            Self.tokenizerJSON(preTokenizer: #"{"type":"Sequence","pretokenizers":[],"pre_tokenizers":[{"type":"ByteLevel","add_prefix_space":true,"use_regex":false}]}"#,
                               addedExtra: stripped),
        ].map { Array($0.utf8) }
        var rng = SeededGenerator(seed: budget.seed)
        let report = fuzz("tokenizer-json", corpus: seeds,
                          dictionary: ["\"model\"", "\"vocab\"", "\"merges\"", "\"added_tokens\"", "\"id\"", "\"content\"", "true", "false",
                                       "null", "\"lstrip\"", "\"rstrip\"", "\"ignore_merges\"", "\"ByteLevel\"", "\"BPE\"", "[", "]", "{", "}"],
                          budget: budget) { input in
            let tokenizer = try GPT2Tokenizer(tokenizerJSON: Data(input))
            Self.exercise(tokenizer, rng: &rng)
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }

    /// GPT-2's real tokenizer on mutated text: byte-level BPE is lossless, so decode(encode(s)) must give s
    /// back for every string — including those made from invalid UTF-8 (which Swift repairs to U+FFFD).
    func testEncodeRoundTripsOnMutatedText() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 5000, defaultSeconds: 12)
        let tokenizer = try GPT2Tokenizer(tokenizerJSON: Data(contentsOf: FuzzPaths.fixture("tokenizer/gpt2-tokenizer.json")))
        var seeds: [[UInt8]] = []
        let golden = try String(contentsOf: FuzzPaths.fixture("tokenizer/golden.jsonl"), encoding: .utf8)
        for line in golden.split(separator: "\n").prefix(300) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = object["text"] as? String,
               text.utf8.count < 4000 {
                seeds.append(Array(text.utf8))
            }
        }
        XCTAssertGreaterThan(seeds.count, 20)
        var rng = SeededGenerator(seed: budget.seed)
        let report = fuzz("encode", corpus: seeds, dictionary: ["<|endoftext|>", "'s", "'ll", " ", "\u{3000}", "\r\n", "😀", "\u{0301}"],
                          budget: budget) { input in
            let text = String(decoding: input, as: UTF8.self)
            let ids = tokenizer.encode(text)
            for id in ids { XCTAssert(id >= 0 && id < tokenizer.vocabSize) }
            XCTAssertEqual(tokenizer.decode(ids), text, "encode/decode lost text; input kept in tools/fuzz/last-input-encode")
            let (bounded, truncated) = tokenizer.toTokens(text, prependBOS: true, maxLength: 16)
            XCTAssertLessThanOrEqual(bounded.count, 16)
            if truncated == nil { XCTAssertEqual(bounded, [tokenizer.bosTokenID] + ids) }
            // Random ids, far out of range too, decode without trapping (unknown ids are skipped).
            _ = tokenizer.decode((0..<8).map { _ in Int.random(in: -70_000...70_000, using: &rng) } + [Int.max, Int.min])
        }
        XCTAssertEqual(report.rejected, 0)
    }
}
