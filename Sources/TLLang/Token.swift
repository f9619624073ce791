/// What a token is. Punctuation gets one case each so the parser can switch on it.
public enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case integer(Int)
    case float(Double)
    /// A string literal with escapes already decoded.
    case string(String)
    /// A string literal that reached the end of input without its closing quote
    /// (what `completeness(of:)` reads as "keep typing").
    case unterminatedString(String)
    case plus, minus, star, slash
    case equals
    case leftParen, rightParen, leftBracket, rightBracket
    case comma, dot, dotDot, colon, semicolon
    /// A statement separator. Newlines inside brackets and after `\` never become tokens.
    case newline
    /// A character the language has no use for (`~`, `$`, ...). Kept as a token rather than an
    /// immediate error so bare words such as `~/models/gpt2` can still be read by the parser.
    case unknown(Character)
    case endOfInput

    /// How the token reads in an error message: `'layer'`, `'='`, `end of line`.
    public var quoted: String {
        switch self {
        case .identifier(let name): return "'\(name)'"
        case .integer(let value): return "'\(value)'"
        case .float(let value): return "'\(value)'"
        case .string(let value), .unterminatedString(let value): return "string \"\(value)\""
        case .newline: return "end of line"
        case .endOfInput: return "end of input"
        case .unknown(let c): return "'\(c)'"
        default: return "'\(spelling)'"
        }
    }

    /// Source spelling of punctuation (empty for tokens that carry a value).
    public var spelling: String {
        switch self {
        case .plus: return "+"
        case .minus: return "-"
        case .star: return "*"
        case .slash: return "/"
        case .equals: return "="
        case .leftParen: return "("
        case .rightParen: return ")"
        case .leftBracket: return "["
        case .rightBracket: return "]"
        case .comma: return ","
        case .dot: return "."
        case .dotDot: return ".."
        case .colon: return ":"
        case .semicolon: return ";"
        default: return ""
        }
    }

    /// True for `+ - * /` (the arithmetic operators).
    public var isArithmeticOperator: Bool {
        switch self {
        case .plus, .minus, .star, .slash: return true
        default: return false
        }
    }

    /// True for tokens that end a statement.
    public var isStatementEnd: Bool {
        switch self {
        case .newline, .semicolon, .endOfInput: return true
        default: return false
        }
    }
}

/// One lexical token with its source range.
public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    public var range: SourceRange
    /// Whitespace (or a line start, or a `\` continuation) comes right before this token.
    /// The parser uses it to read `a -1` as two command arguments and `a - 1` / `a-1` as one,
    /// and to require `f(x)`, `x[0]`, `x.name` to be written without spaces in commands.
    public var spaceBefore: Bool

    public init(kind: TokenKind, range: SourceRange, spaceBefore: Bool) {
        self.kind = kind
        self.range = range
        self.spaceBefore = spaceBefore
    }
}
