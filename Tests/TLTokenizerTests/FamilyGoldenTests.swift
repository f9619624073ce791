import Foundation
import XCTest
@testable import TLTokenizer
import TLCore

/// Each model family's tokenizer.json pipeline (Tests/Fixtures/tokenizer/families, built by
/// tools/tokenizer/make_family_fixtures.py) against Hugging Face `tokenizers` on the shared corpus:
/// byte-exact ids, decode equal to `tokenizers`' decode, per-token strings, the post-processor template,
/// and TransformerLens's BOS conventions.
final class FamilyGoldenTests: XCTestCase {
    static let familiesDirectory = Fixtures.tokenizerFixtures.appendingPathComponent("families")

    struct Golden {
        let ids: [Int]
        let decoded: String?
        let tokens: [String]?
        let withSpecialTokens: [Int]?
    }

    /// Read with the module's own JSON reader: Foundation's drops a leading U+FEFF inside strings.
    static let corpus: [String] = {
        lines(familiesDirectory.appendingPathComponent("corpus.jsonl")).map { value in
            guard case .string(let text) = value else { preconditionFailure("corpus.jsonl: expected strings") }
            return text
        }
    }()

    static func lines(_ url: URL) -> [JSON] {
        guard let data = try? Data(contentsOf: url) else { preconditionFailure("missing \(url.path)") }
        return data.split(separator: UInt8(ascii: "\n")).map { line in
            guard let value = try? JSON.parse(Array(line)) else { preconditionFailure("bad line in \(url.path)") }
            return value
        }
    }

    static func goldens(_ family: String) -> [Golden] { goldens(at: familiesDirectory.appendingPathComponent(family)) }

    static func goldens(at directory: URL) -> [Golden] {
        func integers(_ value: JSON?) -> [Int]? {
            guard case .array(let items)? = value else { return nil }
            return items.map { if case .integer(let id) = $0 { id } else { -1 } }
        }
        return lines(directory.appendingPathComponent("golden.jsonl")).map { value in
            var decoded: String?
            if case .string(let text)? = value["decoded"] { decoded = text }
            var tokens: [String]?
            if case .array(let items)? = value["tokens"] {
                tokens = items.map { if case .string(let text) = $0 { text } else { "" } }
            }
            return Golden(ids: integers(value["ids"]) ?? [], decoded: decoded, tokens: tokens,
                          withSpecialTokens: integers(value["with_special_tokens"]))
        }
    }

    func checkFamily(_ family: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try checkDirectory(Self.familiesDirectory.appendingPathComponent(family), file: file, line: line)
    }

    func checkDirectory(_ directory: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let family = directory.lastPathComponent
        let tokenizer = try Tokenizer.load(directory: directory)
        let goldens = Self.goldens(at: directory)
        XCTAssertEqual(goldens.count, Self.corpus.count, file: file, line: line)
        XCTAssertGreaterThanOrEqual(goldens.count, 5_000, file: file, line: line)
        var failures = 0
        for (text, golden) in zip(Self.corpus, goldens) {
            let ids = tokenizer.encode(text)
            if ids != golden.ids {
                failures += 1
                if failures <= 5 { XCTFail("\(family): ids of \(quoteForMessage(text)): \(ids) != \(golden.ids)", file: file, line: line) }
            }
            let decoded = tokenizer.decode(golden.ids)
            if decoded != (golden.decoded ?? text) {
                failures += 1
                if failures <= 5 {
                    XCTFail("\(family): decode for \(quoteForMessage(text)) gave \(quoteForMessage(decoded))", file: file, line: line)
                }
            }
            if let tokens = golden.tokens, golden.ids.map(tokenizer.tokenString) != tokens {
                failures += 1
                if failures <= 5 { XCTFail("\(family): token strings of \(quoteForMessage(text))", file: file, line: line) }
            }
            if let expected = golden.withSpecialTokens {
                XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: true), expected, family, file: file, line: line)
            }
        }
        XCTAssertEqual(failures, 0, "\(family): \(failures) mismatches", file: file, line: line)
    }

    func testLlama3() throws { try checkFamily("llama3") }
    func testQwen2() throws { try checkFamily("qwen2") }
    func testPythia() throws { try checkFamily("pythia") }
    func testLlama2() throws { try checkFamily("llama2") }
    func testLlama2Metaspace() throws { try checkFamily("llama2-metaspace") }
    func testGemma() throws { try checkFamily("gemma") }

    /// Mistral's real SentencePiece tokenizer.model (from the mistral-common wheel), read from protobuf and
    /// tokenized as transformers' conversion does.
    func testMistralSentencePieceModel() throws {
        try checkDirectory(Fixtures.tokenizerFixtures.appendingPathComponent("sentencepiece/mistral-v1"))
        let tokenizer = try Tokenizer.load(directory: Fixtures.tokenizerFixtures.appendingPathComponent("sentencepiece/mistral-v1"))
        XCTAssertEqual(tokenizer.vocabSize, 32000)
        XCTAssertEqual(tokenizer.tokenString(tokenizer.bosTokenID), "<s>")
        XCTAssertEqual(tokenizer.tokenString(tokenizer.eosTokenID), "</s>")
        XCTAssertTrue(tokenizer.prependsBOSByDefault)
        XCTAssertTrue(tokenizer.encoder.splitsBeforeMetaspace)
    }

    /// The word-by-word path for SentencePiece vocabularies is the one the goldens exercise.
    func testSentencePieceFamiliesUseWordStretches() throws {
        for family in ["llama2", "llama2-metaspace", "gemma"] {
            let tokenizer = try Tokenizer.load(directory: Self.familiesDirectory.appendingPathComponent(family))
            XCTAssertTrue(tokenizer.encoder.splitsBeforeMetaspace, family)
        }
    }

    /// TransformerLens 3.9: default_prepend_bos is False for GPT-NeoX and Qwen2; BOS is bos_token, or
    /// eos_token where the tokenizer has none (Qwen2).
    func testBOSConventions() throws {
        let expectations: [(String, Bool, String)] = [
            ("llama3", true, "<|begin_of_text|>"), ("qwen2", false, "<|endoftext|>"), ("pythia", false, "<|endoftext|>"),
            ("llama2", true, "<s>"), ("llama2-metaspace", true, "<s>"), ("gemma", true, "<bos>"),
        ]
        for (family, prepends, bos) in expectations {
            let tokenizer = try Tokenizer.load(directory: Self.familiesDirectory.appendingPathComponent(family))
            XCTAssertEqual(tokenizer.prependsBOSByDefault, prepends, family)
            XCTAssertEqual(tokenizer.tokenString(tokenizer.bosTokenID), bos, family)
            XCTAssertEqual(tokenizer.toTokens("Hi", prependBOS: true).ids.first, tokenizer.bosTokenID, family)
        }
        XCTAssertTrue(Fixtures.gpt2.prependsBOSByDefault)
    }

    /// Special tokens of each family are single tokens inside text.
    func testSpecialTokensAreSingleTokens() throws {
        let llama3 = try Tokenizer.load(directory: Self.familiesDirectory.appendingPathComponent("llama3"))
        let begin = try XCTUnwrap(llama3.tokenID(of: "<|begin_of_text|>"))
        XCTAssertEqual(llama3.encode("<|begin_of_text|>Hi").first, begin)
        let gemma = try Tokenizer.load(directory: Self.familiesDirectory.appendingPathComponent("gemma"))
        XCTAssertEqual(try gemma.toSingleToken("<start_of_turn>"), gemma.tokenID(of: "<start_of_turn>"))
    }
}

/// Component settings the families do not use (every Split behaviour, invert, Digits, prefix space, other
/// normalizers, Metaspace schemes, unk without byte fallback), spliced into a family's tokenizer.json by
/// make_family_fixtures.py, against `tokenizers` on the first corpus strings.
final class ComponentVariantTests: XCTestCase {
    func testVariantsMatchTokenizers() throws {
        let url = FamilyGoldenTests.familiesDirectory.appendingPathComponent("variants.json")
        guard case .array(let variants) = try JSON.parse([UInt8](Data(contentsOf: url))) else {
            return XCTFail("variants.json: expected an array")
        }
        XCTAssertGreaterThanOrEqual(variants.count, 10)
        for variant in variants {
            guard case .string(let name)? = variant["name"], case .string(let base)? = variant["base"],
                  case .string(let key)? = variant["key"], let component = variant["component"],
                  case .array(let cases)? = variant["cases"] else { return XCTFail("variants.json: bad entry") }
            let file = FamilyGoldenTests.familiesDirectory.appendingPathComponent(base).appendingPathComponent("tokenizer.json")
            var description = try TokenizerDescription.fromTokenizerJSON([UInt8](Data(contentsOf: file)), file: file.path)
            switch key {
            case "pre_tokenizer": description.preTokenizer = try TokenizerDescription.readPreTokenizer(component, file: name)
            case "normalizer": description.normalizer = try TokenizerDescription.readNormalizer(component, file: name)
            default:
                description.byteFallback = false
                description.fuseUnknown = false
            }
            let tokenizer = try Tokenizer(description: description)
            var failures = 0
            for (text, expected) in zip(FamilyGoldenTests.corpus, cases) {
                guard case .array(let items)? = expected["ids"] else { return XCTFail("\(name): no ids") }
                let ids = items.map { if case .integer(let id) = $0 { id } else { -1 } }
                var decoded = text
                if case .string(let other)? = expected["decoded"] { decoded = other }
                if tokenizer.encode(text) != ids || tokenizer.decode(ids) != decoded {
                    failures += 1
                    if failures <= 3 {
                        XCTFail("\(name): \(quoteForMessage(text)): \(tokenizer.encode(text)) != \(ids) "
                                + "or \(quoteForMessage(tokenizer.decode(ids))) != \(quoteForMessage(decoded))")
                    }
                }
            }
            XCTAssertEqual(failures, 0, name)
        }
    }
}
