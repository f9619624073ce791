/// What completion can offer besides the command table: the session's state.
public struct CompletionContext: Sendable {
    /// Names bound in the session.
    public var variables: [String]
    /// Full hook names of the current model (`blocks.0.hook_resid_pre`, ...), offered inside
    /// strings after `[` (`cache["blocks.0.`).
    public var hookNames: [String]
    /// Short activation names (`resid_post`, `pattern`, ...), offered after `.` and for hook arguments.
    public var cacheShortNames: [String]
    /// Model names offered after `model` (TransformerLens aliases such as gpt2-small).
    public var modelNames: [String]
    public var table: CommandTable

    public init(variables: [String] = [], hookNames: [String] = [], cacheShortNames: [String] = [],
                modelNames: [String] = [], table: CommandTable = .standard) {
        self.variables = variables
        self.hookNames = hookNames
        self.cacheShortNames = cacheShortNames
        self.modelNames = modelNames
        self.table = table
    }
}

/// Replace source scalars `[start, end)` with one of `matches`.
public struct CompletionResult: Equatable, Sendable {
    /// Unicode-scalar offsets into the source (Jupyter's `cursor_start`/`cursor_end`).
    public var start: Int
    public var end: Int
    public var matches: [String]
    /// What follows a unique match: a space after a whole word (a verb, a choice, a hook name)
    /// so the next argument can be typed at once, `"]` after a hook name inside `cache["…`,
    /// nothing after a variable (`c` may go on as `c.pattern`) or an option (`layer=`). Front
    /// ends add it when there is one match and it is not already there.
    public var closing: String

    public init(start: Int, end: Int, matches: [String], closing: String = "") {
        self.start = start
        self.end = end
        self.matches = matches
        self.closing = closing
    }

    /// The text to insert for the unique match, followed by `closing` unless `after` (the text
    /// after the cursor) already starts with it; nil unless there is exactly one match.
    public func completedText(after: String) -> String? {
        guard matches.count == 1, let match = matches.first else { return nil }
        if closing.isEmpty || after.hasPrefix(closing) { return match }
        if closing == " " { return after.first?.isWhitespace == true ? match : match + " " }
        // A quote already after the cursor closes the string: leave the rest to the user.
        if after.hasPrefix("\"") { return match }
        return match + closing
    }
}

/// Completions at `cursor` (a Unicode-scalar offset into `source`):
/// - at the start of a statement, or after `name =`: verbs, variables and functions;
/// - after a verb: its unused options (`layer=`), the values of a choice or hook argument,
///   and variables (`help` offers verbs and functions);
/// - after `key=`: the option's choices (`measure=mul`), short hook names for hook options,
///   otherwise variables;
/// - after `x.`: short activation names; inside a string right after `[`: full hook names;
/// - inside other strings and in comments: nothing.
public func complete(source: String, cursor: Int, context: CompletionContext) -> CompletionResult {
    let scalars = Array(source.unicodeScalars)
    let cursor = min(max(cursor, 0), scalars.count)
    let prefix = String(String.UnicodeScalarView(scalars[0..<cursor]))
    let lexed = Lexer.lex(prefix)
    var tokens = lexed.tokens
    tokens.removeLast()  // endOfInput
    let nothing = CompletionResult(start: cursor, end: cursor, matches: [])

    if let comment = lexed.comments.last, comment.end.offset == cursor { return nothing }

    // Inside a string: only `x["...` gets hook names.
    if let last = tokens.last, case .unterminatedString(let typed) = last.kind {
        let before = tokens.count >= 2 ? tokens[tokens.count - 2].kind : nil
        guard before == .leftBracket else { return nothing }
        let start = last.range.start.offset + 1
        return CompletionResult(start: start, end: cursor, matches: filter(context.hookNames, typed), closing: "\"]")
    }

    // The word being typed (possibly empty) and what comes before it.
    var typed = ""
    var start = cursor
    var wordIndex = tokens.count  // index where the typed word is (or would be)
    if let last = tokens.last, last.range.end.offset == cursor {
        switch last.kind {
        case .identifier(let name):
            typed = name
            start = last.range.start.offset
            wordIndex = tokens.count - 1
        case .integer, .float, .string, .rightParen, .rightBracket:
            return nothing  // right after a value nothing new can start without a space
        default:
            break
        }
    }
    let statement = currentStatement(tokens[0..<wordIndex])
    let before = statement.last
    let table = context.table
    // A unique whole word (verb, choice, hook name) is followed by a space; variables, functions
    // and options are not (`c` may go on as `c.pattern`, `mean` as `mean(`, `layer=` with a value).
    let openEnded = Set(context.variables + table.functionNames)
    let result = { (candidates: [String]) -> CompletionResult in
        let matches = filter(candidates, typed)
        let whole = matches.count == 1 && !openEnded.contains(matches[0]) && !matches[0].hasSuffix("=")
        return CompletionResult(start: start, end: cursor, matches: matches, closing: whole ? " " : "")
    }

    if let before, before.kind == .dot, !(wordIndex < tokens.count && tokens[wordIndex].spaceBefore) {
        // `c.resid_post` goes on with `[`: no space.
        return CompletionResult(start: start, end: cursor, matches: filter(context.cacheShortNames, typed))
    }
    let general = context.variables + table.functionNames

    // `name=` inside a call or a command.
    if let before, before.kind == .equals, statement.count >= 2, case .identifier(let key) = statement[statement.count - 2].kind {
        if statement.count == 2 { return result(table.verbNames + general) }  // `x = |`
        if let function = enclosingCall(statement).flatMap({ table.function(named: $0) }) {
            return result(function.options.first { $0.name == key }?.kind.choices ?? general)
        }
        if let spec = commandSpec(of: statement, table), let option = spec.option(named: key) {
            return result(candidates(for: option.kind, context) ?? general)
        }
        return result(general)
    }

    // Statement start, or right after `name =`.
    if statement.isEmpty || (statement.count == 2 && statement[1].kind == .equals) {
        return result(table.verbNames + general)
    }
    if enclosingCall(statement) != nil || bracketDepth(statement) > 0 {
        let kwargs = enclosingCall(statement).flatMap { table.function(named: $0) }?.options.map { "\($0.name)=" } ?? []
        return result(kwargs + general)
    }
    guard let spec = commandSpec(of: statement, table) else { return result(general) }
    if spec.name == "help" { return result(table.verbNames + table.functionNames) }
    if spec.name == "model" {
        // A model name is a bare word (gpt2-small, openai-community/gpt2): complete the whole
        // word before the cursor, not just its last identifier, when it is the first argument.
        let lineStart = prefix.unicodeScalars.lastIndex { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ";" }
        let wordStart = lineStart.map { prefix.unicodeScalars.distance(from: prefix.unicodeScalars.startIndex, to: $0) + 1 } ?? 0
        let word = String(String.UnicodeScalarView(scalars[wordStart..<cursor]))
        let verbAt = statement.count >= 2 && statement[1].kind == .equals ? 2 : 0
        if !word.contains("="), statement.filter({ $0.range.start.offset < wordStart }).count == verbAt + 1 {
            let matches = filter(context.modelNames, word)
            return CompletionResult(start: wordStart, end: cursor, matches: matches, closing: matches.count == 1 ? " " : "")
        }
    }
    let used = Set(statement.indices.compactMap { i -> String? in
        guard i + 1 < statement.count, statement[i + 1].kind == .equals, case .identifier(let n) = statement[i].kind else { return nil }
        return n
    })
    let options = spec.options.filter { !used.contains($0.name) }.map { "\($0.name)=" }
    var offered = options
    if let arg = spec.positional(at: positionalCount(statement)) {
        offered += candidates(for: arg.kind, context) ?? (arg.kind == .word ? context.variables : general)
    }
    return result(offered)
}

/// Candidates for a closed kind (choices, hooks), or nil when any value goes.
private func candidates(for kind: ArgKind, _ context: CompletionContext) -> [String]? {
    if let choices = kind.choices { return choices }
    if kind == .hook { return context.cacheShortNames }
    return nil
}

/// Matches that start with `typed`, in the given order, without duplicates.
private func filter(_ candidates: [String], _ typed: String) -> [String] {
    var seen = Set<String>()
    return candidates.filter { $0.hasPrefix(typed) && seen.insert($0).inserted }
}

/// Tokens of the statement the cursor is in (after the last top-level newline or `;`).
private func currentStatement(_ tokens: ArraySlice<Token>) -> [Token] {
    let start = tokens.lastIndex { $0.kind == .newline || $0.kind == .semicolon }.map { $0 + 1 } ?? tokens.startIndex
    return Array(tokens[start...])
}

/// The command spec when the statement is `verb ...` or `name = verb ...`.
private func commandSpec(of statement: [Token], _ table: CommandTable) -> CommandSpec? {
    var i = 0
    if statement.count >= 2, statement[1].kind == .equals { i = 2 }
    guard i < statement.count, case .identifier(let verb) = statement[i].kind else { return nil }
    return table[verb]
}

private func bracketDepth(_ statement: [Token]) -> Int {
    var depth = 0
    for token in statement {
        switch token.kind {
        case .leftParen, .leftBracket: depth += 1
        case .rightParen, .rightBracket: depth = max(0, depth - 1)
        default: break
        }
    }
    return depth
}

/// The function whose argument list is still open at the end (`mean(x, ov|`).
private func enclosingCall(_ statement: [Token]) -> String? {
    var opens: [Int] = []
    for (i, token) in statement.enumerated() {
        switch token.kind {
        case .leftParen, .leftBracket: opens.append(i)
        case .rightParen, .rightBracket: _ = opens.popLast()
        default: break
        }
    }
    guard let open = opens.last, statement[open].kind == .leftParen, open > 0,
          case .identifier(let name) = statement[open - 1].kind else { return nil }
    return name
}

/// How many positional arguments a command statement already has. Follows the parser's
/// juxtaposition rule approximately: a top-level token after a space starts an argument
/// unless an operator or `=` joins it to the previous one.
private func positionalCount(_ statement: [Token]) -> Int {
    let verbAt = statement.count >= 2 && statement[1].kind == .equals ? 2 : 0
    var count = 0
    var depth = 0
    var index = verbAt + 1
    while index < statement.count {
        let token = statement[index]
        defer { index += 1 }
        switch token.kind {
        case .leftParen, .leftBracket:
            depth += 1
            if depth > 1 { continue }
        case .rightParen, .rightBracket:
            depth = max(0, depth - 1)
            continue
        default:
            if depth > 0 { continue }
        }
        let previous = statement[index - 1].kind
        let joined = index > verbAt + 1 && (previous.isArithmeticOperator || previous == .equals || previous == .dotDot)
            && !(previous.isArithmeticOperator && statement[index - 1].spaceBefore && !token.spaceBefore)
        if token.kind == .equals || !token.spaceBefore || joined { continue }
        if token.kind.isArithmeticOperator && index + 1 < statement.count && statement[index + 1].spaceBefore { continue }
        if index + 1 < statement.count, statement[index + 1].kind == .equals { continue }  // an option name
        count += 1
    }
    return count
}
