import Foundation
import XCTest
@testable import TLTokenizer

final class TokenizeCommandTests: XCTestCase {
    func testBadArgumentsExitWithUsageStatus() {
        XCTAssertEqual(TokenizeCommand.run(arguments: ["--frobnicate"], tokenizer: Fixtures.gpt2), 2)
        XCTAssertEqual(TokenizeCommand.run(arguments: ["--bench"], tokenizer: Fixtures.gpt2), 2)
        XCTAssertEqual(TokenizeCommand.run(arguments: ["--bench", "/nonexistent/file.txt"], tokenizer: Fixtures.gpt2), 1)
    }

    func testMeasureCountsTokens() {
        let text = Fixtures.goldens.prefix(200).map(\.text).joined()
        let result = TokenizeCommand.measure(text: text, tokenizer: Fixtures.gpt2, runs: 3)
        XCTAssertEqual(result.tokens, Fixtures.gpt2.encode(text).count)
        XCTAssertGreaterThan(result.seconds, 0)
        XCTAssertGreaterThan(result.tokensPerSecond, 0)
    }
}
