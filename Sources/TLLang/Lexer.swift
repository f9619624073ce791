/// The result of lexing a whole cell or script.
public struct LexedSource: Sendable {
    /// Tokens in order, always ending with `.endOfInput`.
    public var tokens: [Token]
    /// Malformed strings and numbers; the parser throws the first one before parsing.
    public var problems: [Diagnostic]
    /// Ranges of `# ...` comments (completion offers nothing inside them).
    public var comments: [SourceRange]
    /// The input ends with a `\` line continuation, so another line is expected.
    public var endsWithContinuation: Bool
}

/// Splits source text into tokens. It never throws: problems are collected so that the
/// completeness check and completion can work on half-typed input.
///
/// Rules (see docs/LANGUAGE.md, "Lexical structure"):
/// - identifiers: a letter or `_`, then letters, digits, `_`;
/// - numbers: `12`, `2.0`, `1e-3`, `6.02E23`; after a `.` only digits are read, so
///   `cache.blocks.6.hook_resid_post` is member access and `0..5` is a range;
/// - strings: `"..."` or `'...'` with `\n \t \r \0 \\ \" \' \u{1F600}`; they may span lines;
/// - `#` starts a comment to the end of the line;
/// - newlines separate statements except inside `( )` / `[ ]` and after a trailing `\`.
public struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private var tokens: [Token] = []
    private var problems: [Diagnostic] = []
    private var comments: [SourceRange] = []
    private var bracketDepth = 0
    private var spaceBefore = true
    private var endsWithContinuation = false

    public init(source: String) {
        scalars = Array(source.unicodeScalars)
    }

    /// Lexes `source` in one call.
    public static func lex(_ source: String) -> LexedSource {
        var lexer = Lexer(source: source)
        return lexer.run()
    }

    public mutating func run() -> LexedSource {
        while index < scalars.count {
            lexOne()
        }
        tokens.append(Token(kind: .endOfInput, range: SourceRange(at: location), spaceBefore: true))
        return LexedSource(tokens: tokens, problems: problems, comments: comments,
                           endsWithContinuation: endsWithContinuation)
    }

    // MARK: - Position helpers

    private var location: SourceLocation {
        SourceLocation(offset: index, line: line, column: index - lineStart + 1)
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        index + ahead < scalars.count ? scalars[index + ahead] : nil
    }

    /// Advances one scalar, keeping line/column bookkeeping right across newlines.
    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private mutating func emit(_ kind: TokenKind, from start: SourceLocation) {
        tokens.append(Token(kind: kind, range: SourceRange(start: start, end: location), spaceBefore: spaceBefore))
        spaceBefore = false
    }

    private mutating func problem(_ message: String, from start: SourceLocation, expected: String? = nil,
                                  suggestion: String? = nil, atEnd: Bool = false) {
        problems.append(Diagnostic(range: SourceRange(start: start, end: location), message: message,
                                   expected: expected, suggestion: suggestion, atEndOfInput: atEnd))
    }

    // MARK: - Dispatch

    private mutating func lexOne() {
        let start = location
        let c = scalars[index]
        switch c {
        case " ", "\t", "\r":
            advance()
            spaceBefore = true
        case "\n":
            advance()
            if bracketDepth == 0 { emitNewline(from: start) }
            spaceBefore = true
        case "#":
            while let s = peek(), s != "\n" { advance() }
            comments.append(SourceRange(start: start, end: location))
            spaceBefore = true
        case "\\":
            lexBackslash(from: start)
        case "\"", "'":
            lexString(quote: c, from: start)
        case "0"..."9":
            lexNumber(from: start)
        case _ where Lexer.isIdentifierStart(c):
            var name = ""
            while let s = peek(), Lexer.isIdentifierContinue(s) {
                name.unicodeScalars.append(s)
                advance()
            }
            emit(.identifier(name), from: start)
        default:
            lexPunctuation(c, from: start)
        }
    }

    private mutating func emitNewline(from start: SourceLocation) {
        // Blank lines and repeated separators carry no meaning; keep one newline token.
        if let last = tokens.last, last.kind == .newline { return }
        emit(.newline, from: start)
    }

    private mutating func lexPunctuation(_ c: Unicode.Scalar, from start: SourceLocation) {
        advance()
        let kind: TokenKind
        switch c {
        case "+": kind = .plus
        case "-": kind = .minus
        case "*": kind = .star
        case "/": kind = .slash
        case "=": kind = .equals
        case ",": kind = .comma
        case ":": kind = .colon
        case ";": kind = .semicolon
        case "(": kind = .leftParen; bracketDepth += 1
        case "[": kind = .leftBracket; bracketDepth += 1
        case ")": kind = .rightParen; bracketDepth = max(0, bracketDepth - 1)
        case "]": kind = .rightBracket; bracketDepth = max(0, bracketDepth - 1)
        case ".":
            if peek() == "." {
                advance()
                kind = .dotDot
            } else {
                kind = .dot
            }
        default:
            kind = .unknown(Character(c))
        }
        emit(kind, from: start)
    }

    /// `\` before the end of a line joins the next line to this statement.
    private mutating func lexBackslash(from start: SourceLocation) {
        var ahead = 1
        while let s = peek(ahead), s == " " || s == "\t" || s == "\r" { ahead += 1 }
        guard peek(ahead) == nil || peek(ahead) == "\n" else {
            advance()
            emit(.unknown("\\"), from: start)
            return
        }
        for _ in 0..<ahead { advance() }
        if peek() == "\n" {
            advance()
        } else {
            endsWithContinuation = true
        }
        spaceBefore = true
    }

    // MARK: - Numbers

    private mutating func lexNumber(from start: SourceLocation) {
        var text = ""
        func takeDigits(_ lexer: inout Lexer, into text: inout String) {
            while let s = lexer.peek(), ("0"..."9").contains(s) {
                text.unicodeScalars.append(s)
                lexer.advance()
            }
        }
        takeDigits(&self, into: &text)
        // After a '.', a number is a member name (blocks.6.hook_z): integer only.
        let afterDot = tokens.last.map { $0.kind == .dot && !spaceBefore } ?? false
        var isFloat = false
        if !afterDot {
            if peek() == ".", let next = peek(1), ("0"..."9").contains(next) {
                isFloat = true
                text.append(".")
                advance()
                takeDigits(&self, into: &text)
            }
            if let e = peek(), e == "e" || e == "E" {
                var ahead = 1
                if let sign = peek(1), sign == "+" || sign == "-" { ahead = 2 }
                if let digit = peek(ahead), ("0"..."9").contains(digit) {
                    isFloat = true
                    for _ in 0..<ahead {
                        text.unicodeScalars.append(scalars[index])
                        advance()
                    }
                    takeDigits(&self, into: &text)
                }
            }
        }
        if isFloat {
            emit(.float(Double(text) ?? .nan), from: start)
        } else if let value = Int(text) {
            emit(.integer(value), from: start)
        } else {
            problem("number \(text) is too large", from: start, expected: "an integer below 2^63",
                    suggestion: "write it as a float, e.g. \(text).0")
            emit(.float(Double(text) ?? .infinity), from: start)
        }
    }

    // MARK: - Strings

    private mutating func lexString(quote: Unicode.Scalar, from start: SourceLocation) {
        advance()
        var value = ""
        while let c = peek() {
            if c == quote {
                advance()
                emit(.string(value), from: start)
                return
            }
            if c == "\\" {
                lexEscape(into: &value)
            } else {
                value.unicodeScalars.append(c)
                advance()
            }
        }
        problem("unterminated string", from: start, expected: "a closing \(quote)",
                suggestion: "add \(quote) at the end of the string", atEnd: true)
        emit(.unterminatedString(value), from: start)
    }

    private mutating func lexEscape(into value: inout String) {
        let escapeStart = location
        advance()
        guard let c = peek() else { return }  // the unterminated-string problem covers this
        advance()
        switch c {
        case "n": value.append("\n")
        case "t": value.append("\t")
        case "r": value.append("\r")
        case "0": value.append("\0")
        case "\\", "\"", "'": value.unicodeScalars.append(c)
        case "u":
            lexUnicodeEscape(into: &value, from: escapeStart)
        default:
            problem("unknown escape '\\\(c)' in string", from: escapeStart,
                    expected: "one of \\n \\t \\r \\0 \\\\ \\\" \\' \\u{...}",
                    suggestion: "write \\\\ for a literal backslash")
            value.unicodeScalars.append(c)
        }
    }

    /// `\u{1F600}`: 1 to 8 hex digits naming a Unicode scalar.
    private mutating func lexUnicodeEscape(into value: inout String, from start: SourceLocation) {
        guard peek() == "{" else {
            problem("'\\u' must be followed by {hex digits}", from: start, expected: "\\u{...}, e.g. \\u{e9}")
            return
        }
        advance()
        var hex = ""
        while let s = peek(), s != "}", s != "\"", s != "'", s != "\n", hex.count <= 8 {
            hex.unicodeScalars.append(s)
            advance()
        }
        guard peek() == "}" else {
            problem("'\\u{' is not closed", from: start, expected: "\\u{...}, e.g. \\u{e9}")
            return
        }
        advance()
        if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
            value.unicodeScalars.append(scalar)
        } else {
            problem("'\\u{\(hex)}' is not a Unicode scalar", from: start,
                    expected: "1 to 8 hex digits below 110000 outside D800-DFFF")
        }
    }

    // MARK: - Character classes

    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic
    }

    static func isIdentifierContinue(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
            || c.properties.generalCategory == .nonspacingMark
    }
}
