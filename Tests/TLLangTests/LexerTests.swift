import XCTest
@testable import TLLang

final class LexerTests: XCTestCase {
    private func kinds(_ source: String) -> [TokenKind] {
        Lexer.lex(source).tokens.map(\.kind)
    }

    func testPunctuationNumbersAndNames() {
        XCTAssertEqual(kinds("x = a*2.0 + 1e-3 - 7 / b"),
                       [.identifier("x"), .equals, .identifier("a"), .star, .float(2.0), .plus, .float(1e-3),
                        .minus, .integer(7), .slash, .identifier("b"), .endOfInput])
        XCTAssertEqual(kinds("0..5 [0, 3] x[:, -1];"),
                       [.integer(0), .dotDot, .integer(5), .leftBracket, .integer(0), .comma, .integer(3), .rightBracket,
                        .identifier("x"), .leftBracket, .colon, .comma, .minus, .integer(1), .rightBracket, .semicolon, .endOfInput])
        XCTAssertEqual(kinds("6.02E23 1.5"), [.float(6.02e23), .float(1.5), .endOfInput])
    }

    func testDottedHookPathLexesDigitsAsMembers() {
        XCTAssertEqual(kinds("cache.blocks.6.hook_resid_post"),
                       [.identifier("cache"), .dot, .identifier("blocks"), .dot, .integer(6), .dot,
                        .identifier("hook_resid_post"), .endOfInput])
    }

    func testStringsAndEscapes() {
        XCTAssertEqual(kinds(#""a\"b\\c\n\t\u{e9}" 'it''s'"#),
                       [.string("a\"b\\c\n\té"), .string("it"), .string("s"), .endOfInput])
        XCTAssertEqual(kinds("\" Paris\""), [.string(" Paris"), .endOfInput])
        let bad = Lexer.lex(#""a\qb""#)
        XCTAssertEqual(bad.problems.first?.message, "unknown escape '\\q' in string")
        let open = Lexer.lex("run \"The movie")
        XCTAssertEqual(open.tokens.map(\.kind), [.identifier("run"), .unterminatedString("The movie"), .endOfInput])
        XCTAssertEqual(open.problems.first?.atEndOfInput, true)
    }

    func testCommentsNewlinesAndContinuation() {
        XCTAssertEqual(kinds("a # note\n\n\nb"), [.identifier("a"), .newline, .identifier("b"), .endOfInput])
        XCTAssertEqual(kinds("f(a,\n  b)\nc"),
                       [.identifier("f"), .leftParen, .identifier("a"), .comma, .identifier("b"), .rightParen, .newline,
                        .identifier("c"), .endOfInput])
        XCTAssertEqual(kinds("a \\\n  b"), [.identifier("a"), .identifier("b"), .endOfInput])
        XCTAssertTrue(Lexer.lex("a \\").endsWithContinuation)
        XCTAssertEqual(Lexer.lex("x # c").comments.count, 1)
    }

    func testRangesCountUnicodeScalarsAndLines() {
        // "é" as e + combining acute is two scalars; columns count scalars.
        let tokens = Lexer.lex("s = \"e\u{301}\" x\n  y").tokens
        XCTAssertEqual(tokens[2].range.start, SourceLocation(offset: 4, line: 1, column: 5))
        XCTAssertEqual(tokens[2].range.end.offset, 8)
        XCTAssertEqual(tokens[3].range.start.column, 10)
        XCTAssertEqual(tokens[5].range.start, SourceLocation(offset: 13, line: 2, column: 3))
    }

    func testSpaceBeforeFlags() {
        let tokens = Lexer.lex("a -1 b-c").tokens
        XCTAssertEqual(tokens.map(\.spaceBefore), [true, true, false, true, false, false, true])
    }

    func testUnknownCharactersBecomeTokens() {
        XCTAssertEqual(kinds("~$"), [.unknown("~"), .unknown("$"), .endOfInput])
    }
}
