/// Whether a cell or REPL buffer is ready to run. The REPL's continuation prompt and the
/// Jupyter kernel's `is_complete_request` both use `completeness(of:)`, so they agree.
public enum Completeness: Equatable, Sendable {
    /// Run it (it may still fail when run; it parses).
    case complete
    /// Wait for another line; `indent` is what to pre-fill it with.
    case incomplete(indent: String)
    /// No further line can fix it; run it to show the error (or show `diagnostic` directly).
    case invalid(Diagnostic)
}

/// The one rule for multi-line input. The input is incomplete when
/// - a `(` or `[` is still open,
/// - a string is still open at the end,
/// - the last line ends with `\`, or
/// - the last line ends with an operator that needs a right operand (`+ - * / ..`) and the
///   statement does not parse without one (`patch resid_post layer=*` is complete: there
///   `*` is the sweep).
/// A closing bracket with no opener, a mismatched bracket, or any other parse error is invalid.
/// Empty input and comments alone are complete.
public func completeness(of source: String, table: CommandTable = .standard) -> Completeness {
    let lexed = Lexer.lex(source)
    if lexed.tokens.contains(where: { if case .unterminatedString = $0.kind { return true } else { return false } }) {
        return .incomplete(indent: "")
    }
    var open: [Token] = []
    for token in lexed.tokens {
        switch token.kind {
        case .leftParen, .leftBracket:
            open.append(token)
        case .rightParen, .rightBracket:
            let wanted: TokenKind = token.kind == .rightParen ? .leftParen : .leftBracket
            guard let opener = open.popLast() else {
                return .invalid(Diagnostic(range: token.range,
                                           message: "'\(token.kind.spelling)' has no matching '\(wanted.spelling)'",
                                           suggestion: "remove it or add the opening bracket"))
            }
            guard opener.kind == wanted else {
                let closer: TokenKind = opener.kind == .leftParen ? .rightParen : .rightBracket
                return .invalid(Diagnostic(range: token.range,
                                           message: "'\(token.kind.spelling)' does not match the '\(opener.kind.spelling)' at \(opener.range.start)",
                                           expected: "'\(closer.spelling)'",
                                           suggestion: "close the '\(opener.kind.spelling)' with '\(closer.spelling)' first"))
            }
        default:
            break
        }
    }
    if !open.isEmpty { return .incomplete(indent: "    ") }
    if lexed.endsWithContinuation { return .incomplete(indent: "") }
    do {
        _ = try Parser.parse(source, table: table)
        return .complete
    } catch {
        if error.atEndOfInput, endsWithOperator(lexed.tokens) { return .incomplete(indent: "") }
        return .invalid(error)
    }
}

/// The last real token is an operator waiting for its right operand.
private func endsWithOperator(_ tokens: [Token]) -> Bool {
    guard let last = tokens.last(where: { $0.kind != .endOfInput && $0.kind != .newline }) else { return false }
    return last.kind.isArithmeticOperator || last.kind == .dotDot
}
