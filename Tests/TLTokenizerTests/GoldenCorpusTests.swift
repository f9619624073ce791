import Foundation
import XCTest
@testable import TLTokenizer

/// Byte-exact agreement with tiktoken and Hugging Face `tokenizers` on the generated corpus.
final class GoldenCorpusTests: XCTestCase {
    func testCorpusIsLargeAndVaried() {
        XCTAssertGreaterThanOrEqual(Fixtures.goldens.count, 5000)
        XCTAssertTrue(Fixtures.goldens.contains { $0.text.contains("<|endoftext|>") && $0.text.count > 13 })
    }

    func testFranceExample() {
        XCTAssertEqual(Fixtures.gpt2.encode("The capital of France is"),
                       Fixtures.goldens.first { $0.text == "The capital of France is" }?.ids)
        XCTAssertEqual(Fixtures.gpt2.vocabSize, 50257)
        XCTAssertEqual(Fixtures.gpt2.bosTokenID, 50256)
        XCTAssertEqual(Fixtures.gpt2.eosTokenID, 50256)
    }

    func testEncodeMatchesReferenceIDsOnWholeCorpus() {
        var failures: [String] = []
        for golden in Fixtures.goldens {
            let ids = Fixtures.gpt2.encode(golden.text)
            if ids != golden.ids {
                failures.append("\(quoteForMessage(golden.text)): got \(ids.prefix(20)), want \(golden.ids.prefix(20))")
            }
        }
        XCTAssertEqual(failures.count, 0, "first mismatches:\n" + failures.prefix(10).joined(separator: "\n"))
    }

    func testDecodeRoundTripsEveryString() {
        let failures = Fixtures.goldens.filter { Fixtures.gpt2.decode(Fixtures.gpt2.encode($0.text)) != $0.text }
        XCTAssertEqual(failures.count, 0, "first: \(failures.prefix(5).map { quoteForMessage($0.text) })")
    }

    /// Single tokens decoded alone, including partial UTF-8 (U+FFFD), as HF's decoder renders them.
    func testTokenStringsMatchReferenceDecoding() {
        var failures: [String] = []
        for golden in Fixtures.goldens {
            let strings = golden.ids.map(Fixtures.gpt2.tokenString)
            if strings != golden.tokens { failures.append("\(quoteForMessage(golden.text)): \(strings) vs \(golden.tokens)") }
        }
        XCTAssertEqual(failures.count, 0, failures.prefix(5).joined(separator: "\n"))
    }

    /// The merge cache is shared; encoding from many threads at once must give the same ids.
    func testConcurrentEncodingAgrees() {
        let sample = Array(Fixtures.goldens.prefix(800))
        guard let tokenizer = try? GPT2Tokenizer.load(directory: Fixtures.defaultModel) else { return XCTFail("load failed") }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for (index, golden) in sample.enumerated() where index % 8 == worker || index % 3 == 0 {
                XCTAssertEqual(tokenizer.encode(golden.text), golden.ids)
            }
        }
    }
}
