import Foundation
import XCTest
@testable import TLTokenizer

final class TokenizeCommandTests: XCTestCase {
    func testUnreadableBenchFileExitsWithStatus1() {
        XCTAssertEqual(TokenizeCommand.run(prependBOS: false, benchFile: "/nonexistent/file.txt", tokenizer: Fixtures.gpt2), 1)
    }

    /// Bad command lines, through the built binary (the options are parsed by TLTools's declaration).
    func testBadArgumentsExitWithUsageStatusAndNameTheProblem() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tlsh")
        let path = ProcessInfo.processInfo.environment["TLSH_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? binary.path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no \(path); build it with swift build -c release --product tlsh (or set TLSH_BINARY)")
        }
        for (arguments, problem) in [(["--frobnicate"], "unknown option --frobnicate"), (["--bench"], "--bench needs a value (FILE)"),
                                     (["--bos=1"], "--bos takes no value")] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["tokenize"] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 2, "\(arguments): \(stderr)")
            XCTAssertTrue(stderr.contains(problem) && stderr.contains("usage: tlsh tokenize [--bos] [--model NAME] [--bench FILE]"), stderr)
        }
    }

    func testMeasureCountsTokens() {
        let text = Fixtures.goldens.prefix(200).map(\.text).joined()
        let result = TokenizeCommand.measure(text: text, tokenizer: Fixtures.gpt2, runs: 3)
        XCTAssertEqual(result.tokens, Fixtures.gpt2.encode(text).count)
        XCTAssertGreaterThan(result.seconds, 0)
        XCTAssertGreaterThan(result.tokensPerSecond, 0)
    }
}
