import Foundation
import XCTest
@testable import TLTokenizer

/// SentencePiece's own encoding of a tokenizer.model (what `tlsh tokenize` prints for a directory whose only
/// tokenizer file is tokenizer.model) against `sentencepiece.SentencePieceProcessor.encode`, from goldens written
/// by tools/tokenizer/make_sentencepiece_native_goldens.py: byte-exact ids.
final class SentencePieceNativeTests: XCTestCase {
    static let mistral = Fixtures.tokenizerFixtures.appendingPathComponent("sentencepiece/mistral-v1")
    static let variant = Fixtures.tokenizerFixtures.appendingPathComponent("sentencepiece/mistral-v1-variant")

    static func nativeGoldens(_ directory: URL) -> [[Int]] {
        FamilyGoldenTests.lines(directory.appendingPathComponent("golden_native.jsonl")).map { value in
            guard case .array(let items)? = value["ids"] else { return [-1] }
            return items.map { if case .integer(let id) = $0 { id } else { -1 } }
        }
    }

    static func strings(_ url: URL) -> [String] {
        FamilyGoldenTests.lines(url).map { if case .string(let text) = $0 { text } else { "" } }
    }

    func check(_ directory: URL, corpus: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let tokenizer = try Tokenizer.load(directory: directory, sentencePieceNative: true)
        let goldens = Self.nativeGoldens(directory)
        XCTAssertEqual(goldens.count, corpus.count, file: file, line: line)
        var failures = 0
        for (text, golden) in zip(corpus, goldens) where tokenizer.encode(text) != golden {
            failures += 1
            if failures <= 5 {
                XCTFail("ids of \(quoteForMessage(text)): \(tokenizer.encode(text)) != \(golden)", file: file, line: line)
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(corpus.count) strings differ", file: file, line: line)
    }

    /// The real Mistral model on the 5,100 family strings (space runs, `<s>` in text, byte fallback, CJK...).
    func testMistralMatchesSentencePiece() throws {
        try check(Self.mistral, corpus: FamilyGoldenTests.corpus)
        XCTAssertGreaterThanOrEqual(FamilyGoldenTests.corpus.count, 5_000)
    }

    /// Mistral's model with remove_extra_whitespaces on, add_dummy_prefix off, user-defined and unused pieces.
    func testVariantNormalizerAndPieceTypes() throws {
        let corpus = Self.strings(Self.variant.appendingPathComponent("corpus.jsonl"))
        XCTAssertGreaterThan(corpus.count, 1_500)
        try check(Self.variant, corpus: corpus)
    }

    /// Mistral is encoded chunk by chunk (cut before space runs, cached); the variant, which has unused pieces,
    /// as one whole text: both paths are what the golden tests above check.
    func testBothEncodingPathsAreCovered() throws {
        let mistral = try SentencePieceEncoder(SentencePieceProto.load(
            [UInt8](Data(contentsOf: Self.mistral.appendingPathComponent("tokenizer.model"))), file: "mistral"), file: "mistral")
        let variant = try SentencePieceEncoder(SentencePieceProto.load(
            [UInt8](Data(contentsOf: Self.variant.appendingPathComponent("tokenizer.model"))), file: "variant"), file: "variant")
        XCTAssertTrue(mistral.cutsBeforeSpaceRuns)
        XCTAssertFalse(variant.cutsBeforeSpaceRuns)
        let space = SentencePieceEncoder.spaceSymbol
        XCTAssertTrue(SentencePieceEncoder.hasSpaceAfterOtherCharacter(Array("a\u{2581}".utf8)[...], space: space))
        XCTAssertFalse(SentencePieceEncoder.hasSpaceAfterOtherCharacter(Array("\u{2581}\u{2581}a".utf8)[...], space: space))
    }

    /// The model path (no flag) keeps transformers' conversion; the two modes really differ on this corpus,
    /// e.g. on runs of spaces and on `<s>` written in the text.
    func testDefaultLoadingKeepsTransformersConversion() throws {
        let converted = try Tokenizer.load(directory: Self.mistral)
        let native = try Tokenizer.load(directory: Self.mistral, sentencePieceNative: true)
        XCTAssertEqual(converted.encode("<s>"), [1])
        XCTAssertFalse(native.encode("<s>").contains(1))
        // A corpus string with `<s>` in it: one BOS id converted, none natively (and native equals SentencePiece).
        let index = try XCTUnwrap(FamilyGoldenTests.corpus.firstIndex { $0.contains("<s>") })
        XCTAssertTrue(converted.encode(FamilyGoldenTests.corpus[index]).contains(1))
        XCTAssertEqual(native.encode(FamilyGoldenTests.corpus[index]), Self.nativeGoldens(Self.mistral)[index])
        XCTAssertFalse(Self.nativeGoldens(Self.mistral)[index].contains(1))
        let differing = zip(FamilyGoldenTests.corpus, Self.nativeGoldens(Self.mistral)).filter { converted.encode($0.0) != $0.1 }
        XCTAssertGreaterThan(differing.count, 100)
        XCTAssertEqual(try Tokenizer(sentencePieceModel: Data(contentsOf: Self.mistral.appendingPathComponent("tokenizer.model")),
                                     native: true).encode("  a  b  "), native.encode("  a  b  "))
    }

    /// A model with a precompiled character map (e.g. nmt_nfkc) is refused in native mode, naming the rule.
    func testCharacterMapNormalizationIsRefused() throws {
        var bytes = [UInt8](try Data(contentsOf: Self.mistral.appendingPathComponent("tokenizer.model")))
        // A second normalizer_spec (field 3): name "nmt_nfkc", a 4-byte precompiled_charsmap; protobuf merges it.
        let spec: [UInt8] = [0x0A, 8] + Array("nmt_nfkc".utf8) + [0x12, 4, 1, 2, 3, 4]
        bytes += [0x1A, UInt8(spec.count)] + spec
        XCTAssertThrowsError(try Tokenizer(sentencePieceModel: Data(bytes), native: true)) { error in
            XCTAssertEqual("\(error)", "tokenizer.model: SentencePiece's own encoding with the \"nmt_nfkc\" normalization "
                + "rule (a 4-byte precompiled_charsmap; tlsh reproduces only the identity rule) is not supported "
                + "(docs/TOKENIZER.md lists the supported components)")
        }
        XCTAssertNoThrow(try Tokenizer(sentencePieceModel: Data(bytes)))  // the converted pipeline ignores it
    }

    /// The built `tlsh tokenize --model DIR` on a directory holding only tokenizer.model and config.json.
    func testTlshTokenizeOnTokenizerModelDirectory() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tlsh")
        let path = ProcessInfo.processInfo.environment["TLSH_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? binary.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no \(path); build it with swift build -c release --product tlsh (or set TLSH_BINARY)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["tokenizer.model", "config.json"] {
            try FileManager.default.copyItem(at: Self.mistral.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        // Lines that survive line-based stdin: no line breaks inside; the first 60 such, and some that differ.
        let goldens = Self.nativeGoldens(Self.mistral)
        let usable = zip(FamilyGoldenTests.corpus, goldens).filter { text, _ in
            !text.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }
        }
        let cases = Array(usable.prefix(60)) + usable.filter { $0.0.contains("  ") || $0.0.contains("<s>") }.prefix(40)
        XCTAssertGreaterThan(cases.count, 80)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["tokenize", "--model", directory.path]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(cases.map { $0.0 + "\n" }.joined().utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        let lines = String(decoding: printed, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, cases.count)
        for (line, (text, golden)) in zip(lines, cases) {
            XCTAssertEqual(String(line), "[" + golden.map(String.init).joined(separator: ",") + "]", "line \(quoteForMessage(text))")
        }
    }
}
