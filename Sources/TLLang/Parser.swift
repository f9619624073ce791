/// Reads statements from source text, using the command table to tell commands from
/// expressions and to check option names.
///
/// Grammar (precedence lowest first; see docs/LANGUAGE.md for the prose version):
///
///     program    := statement? ((newline | ';') statement?)*
///     statement  := NAME '=' body | body
///     body       := VERB argument* | expr            -- VERB: a name in the command table
///     argument   := NAME '=' value | value           -- option or positional
///     value      := bareword (for NAME/FILE kinds) | expr
///     expr       := sum ('..' sum)?
///     sum        := product (('+' | '-') product)*
///     product    := unary (('*' | '/') unary)*
///     unary      := ('-' | '+') unary | postfix
///     postfix    := primary ('.' member | '(' args ')' | '[' indices ']')*
///     primary    := NUMBER | STRING | NAME | '*' | '(' expr ')' | '[' (expr (',' expr)* ','?)? ']'
///
/// Command arguments are separated by juxtaposition, so inside a command (but not inside
/// brackets) two whitespace rules apply:
/// 1. an operator with a space before it and none after it starts a new argument
///    (`top cache -1` is two arguments; `" Paris" - " Rome"` and `a-1` are one);
///    an operator followed by something that cannot start a value (end of line, `x=`) does
///    too, so `foo a *` passes `a` and the sweep `*`;
/// 2. `.`, `(` and `[` bind to the value before them only when written without a space
///    (`show cache.pattern[0]` is one argument; `print x [1, 2]` is two).
public struct Parser {
    private let scalars: [Unicode.Scalar]
    private let tokens: [Token]
    private let problems: [Diagnostic]
    private let table: CommandTable
    private var position = 0
    /// How deeply the expression being read nests (brackets, unary signs, operator chains). The parser,
    /// the evaluator and the tree's deallocation all recurse once per level, so a pathological input
    /// (`((((…` or `1+1+…` thousands deep) would overflow the stack; it is refused instead.
    private var depth = 0
    static let maxDepth = 200

    public init(source: String, table: CommandTable = .standard) {
        let lexed = Lexer.lex(source)
        scalars = Array(source.unicodeScalars)
        tokens = lexed.tokens
        problems = lexed.problems
        self.table = table
    }

    /// Parses a whole cell or script. Throws the first problem found.
    public static func parse(_ source: String, table: CommandTable = .standard) throws(Diagnostic) -> [Statement] {
        var parser = Parser(source: source, table: table)
        return try parser.parseProgram()
    }

    public mutating func parseProgram() throws(Diagnostic) -> [Statement] {
        if let first = problems.first { throw first }
        var statements: [Statement] = []
        while true {
            while current.kind == .newline || current.kind == .semicolon { advance() }
            if current.kind == .endOfInput { break }
            statements.append(try parseStatement())
            guard current.kind.isStatementEnd else { throw unexpectedAfterStatement() }
        }
        return statements
    }

    // MARK: - Token access

    private var current: Token { tokens[position] }

    private func peek(_ ahead: Int = 1) -> Token {
        tokens[min(position + ahead, tokens.count - 1)]
    }

    /// The last token consumed (for ranges ending at it).
    private var previous: Token { tokens[max(position - 1, 0)] }

    /// Nothing but a final newline is left: an error here means "the input stopped too early".
    private var atEndOfInput: Bool {
        current.kind == .endOfInput || (current.kind == .newline && peek().kind == .endOfInput)
    }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private func isKeyValueStart(_ index: Int) -> Bool {
        guard index + 1 < tokens.count, case .identifier = tokens[index].kind else { return false }
        return tokens[index + 1].kind == .equals
    }

    // MARK: - Statements

    private mutating func parseStatement() throws(Diagnostic) -> Statement {
        // Only a whole statement: `x = quit` is no request to leave.
        if let habit = parseHabit() { return Statement(.command(habit), range: habit.range) }
        let start = current
        if case .identifier(let name) = start.kind, peek().kind == .equals {
            if table[name] != nil {
                throw Diagnostic(range: start.range, message: "'\(name)' is a command and cannot be a variable name",
                                 suggestion: "choose another name, e.g. \(name)_result = ...")
            }
            let equals = peek()
            advance()
            advance()
            guard !current.kind.isStatementEnd else {
                throw expectedValue(after: "'\(name) ='", at: equals, expectation: "a command or an expression")
            }
            let body = try parseBody()
            return Statement(.assignment(target: name, targetRange: start.range, value: body),
                             range: start.range.union(body.range))
        }
        let body = try parseBody()
        switch body {
        case .command(let command): return Statement(.command(command), range: command.range)
        case .expression(let expr): return Statement(.expression(expr), range: expr.range)
        }
    }

    private mutating func parseBody() throws(Diagnostic) -> Statement.Body {
        if case .identifier(let name) = current.kind {
            let next = peek()
            let isCall = next.kind == .leftParen && !next.spaceBefore
            if let spec = table[name], !isCall {
                return .command(try parseCommand(spec))
            }
            if table[name] == nil, table.function(named: name) == nil, next.spaceBefore, startsArgument(next.kind) {
                throw unknownVerb(name, at: current.range)
            }
        }
        return .expression(try parseExpression(.free))
    }

    // MARK: - Habits from other tools

    /// Spellings people bring from other tools, read as what they mean (a whole statement each):
    /// `exit()`, `quit`, `quit()`, `\q` (psql), `.quit` `.exit` (sqlite, node), `:q` (vim) leave
    /// tlsh like `exit`; `?`, `?patch`, `patch?` (IPython), `\?`, `.help` and `help(patch)` ask
    /// for help. Nil when the statement is not one of them.
    private mutating func parseHabit() -> Command? {
        var end = position
        while !tokens[end].kind.isStatementEnd { end += 1 }
        let line = tokens[position..<end]
        guard !line.isEmpty, line.count <= 4, let first = line.first, let last = line.last else { return nil }
        // Written without spaces inside: `\ q` or `. quit` are not habits.
        guard line.dropFirst().allSatisfy({ !$0.spaceBefore }) else { return nil }
        let kinds = line.map(\.kind)
        let range = first.range.union(last.range)
        func command(_ verb: String, topic: Token? = nil) -> Command {
            var positionals: [Expr] = []
            if let topic {
                switch topic.kind {
                case .identifier(let name), .string(let name): positionals = [Expr(.bareWord(name), range: topic.range)]
                default: break
                }
            }
            position = end
            return Command(verb: verb, verbRange: range, positionals: positionals, options: [], range: range)
        }
        func isName(_ k: TokenKind, _ names: Set<String>) -> Bool {
            if case .identifier(let n) = k { return names.contains(n) } else { return false }
        }
        func isTopic(_ k: TokenKind) -> Bool {
            switch k {
            case .identifier, .string: return true
            default: return false
            }
        }
        let leave: Set<String> = ["exit", "quit", "q"]
        switch kinds.count {
        case 1:
            if isName(kinds[0], ["quit"]) { return command("exit") }
            if kinds[0] == .unknown("?") { return command("help") }
        case 2:
            if kinds[0] == .unknown("\\"), isName(kinds[1], leave) { return command("exit") }
            if kinds[0] == .dot || kinds[0] == .colon, isName(kinds[1], leave.union(["wq"])) { return command("exit") }
            if kinds[0] == .unknown("\\") || kinds[0] == .dot, kinds[1] == .unknown("?") || isName(kinds[1], ["help", "h"]) {
                return command("help")
            }
            if kinds[0] == .unknown("?"), isTopic(kinds[1]) { return command("help", topic: line[line.startIndex + 1]) }
            if isTopic(kinds[0]), kinds[1] == .unknown("?") { return command("help", topic: first) }
        case 3:
            if isName(kinds[0], ["exit", "quit"]), kinds[1] == .leftParen, kinds[2] == .rightParen { return command("exit") }
            if isName(kinds[0], ["help"]), kinds[1] == .leftParen, kinds[2] == .rightParen { return command("help") }
        case 4:
            if isName(kinds[0], ["help"]), kinds[1] == .leftParen, isTopic(kinds[2]), kinds[3] == .rightParen {
                return command("help", topic: line[line.startIndex + 2])
            }
        default: break
        }
        return nil
    }

    /// Tokens that, after a leading name and a space, show the user meant a command.
    private func startsArgument(_ kind: TokenKind) -> Bool {
        switch kind {
        case .identifier, .string, .integer, .float, .unterminatedString: return true
        default: return false
        }
    }

    // MARK: - Commands

    private mutating func parseCommand(_ spec: CommandSpec) throws(Diagnostic) -> Command {
        let verbToken = current
        advance()
        var positionals: [Expr] = []
        var options: [NamedArgument] = []
        while !current.kind.isStatementEnd {
            if isKeyValueStart(position), case .identifier(let key) = current.kind {
                let keyToken = current
                guard let option = spec.option(named: key) else { throw unknownOption(key, at: keyToken.range, of: spec) }
                if options.contains(where: { $0.name == key }) {
                    throw Diagnostic(range: keyToken.range, message: "option '\(key)=' is given twice",
                                     suggestion: "keep one \(key)=...")
                }
                let equals = peek()
                advance()
                advance()
                let value = try parseArgument(option.kind, after: "'\(key)='", at: equals)
                try check(value, against: option.kind, what: "'\(key)='")
                options.append(NamedArgument(name: key, nameRange: keyToken.range, value: value))
            } else {
                guard let arg = spec.positional(at: positionals.count) else {
                    throw try tooManyArguments(for: spec)
                }
                let value = try parseArgument(arg.kind, after: nil, at: previous)
                try check(value, against: arg.kind, what: "\(spec.name) \(arg.name)")
                positionals.append(value)
            }
        }
        let required = spec.positionals.filter(\.required).count
        if positionals.count < required {
            let missing = spec.positionals[positionals.count]
            throw Diagnostic(range: SourceRange(at: previous.range.end),
                             message: "'\(spec.name)' needs \(missing.name): \(missing.doc)",
                             expected: missing.kind.expectation, suggestion: "usage: \(spec.usage)",
                             atEndOfInput: atEndOfInput)
        }
        return Command(verb: spec.name, verbRange: verbToken.range, positionals: positionals, options: options,
                       range: verbToken.range.union(previous.range))
    }

    /// One positional or option value; `after` names what came before for the error message.
    private mutating func parseArgument(_ kind: ArgKind, after: String?, at anchor: Token) throws(Diagnostic) -> Expr {
        if current.kind.isStatementEnd {
            throw expectedValue(after: after ?? "the arguments", at: anchor, expectation: kind.expectation)
        }
        if kind.readsBareWord, let word = try parseBareWord() { return word }
        return try parseExpression(.command)
    }

    /// An unquoted word up to the next space, `#` or `;` (`gpt2-small`, `./models/x`,
    /// `NeelNanda/Attn_Only_2L`). Returns nil when the argument is quoted.
    private mutating func parseBareWord() throws(Diagnostic) -> Expr? {
        switch current.kind {
        case .string, .unterminatedString: return nil
        default: break
        }
        let start = current.range.start
        var end = start.offset
        while end < scalars.count, !" \t\r\n#;".unicodeScalars.contains(scalars[end]) { end += 1 }
        var last = current
        while current.kind != .endOfInput, current.range.start.offset < end {
            last = current
            advance()
        }
        guard last.range.end.offset <= end else {
            throw Diagnostic(range: last.range, message: "a quoted string cannot start inside a word",
                             suggestion: "quote the whole word, e.g. \"\(String(String.UnicodeScalarView(scalars[start.offset..<end])))\"")
        }
        let text = String(String.UnicodeScalarView(scalars[start.offset..<end]))
        let endLocation = SourceLocation(offset: end, line: start.line, column: start.column + (end - start.offset))
        return Expr(.bareWord(text), range: SourceRange(start: start, end: endLocation))
    }

    /// Closed sets (`measure=mul|abs`, `true|false`) are checked here so the error points at
    /// the value and suggests the nearest valid one.
    private func check(_ value: Expr, against kind: ArgKind, what: String) throws(Diagnostic) {
        guard let choices = kind.choices else { return }
        let word: String?
        switch value.kind {
        case .identifier(let name), .bareWord(let name), .string(let name): word = name
        default: word = nil
        }
        if let word, choices.contains(word) { return }
        let shown = word.map { "'\($0)'" } ?? "this value"
        throw Diagnostic(range: value.range, message: "\(shown) is not a valid value for \(what)",
                         expected: kind.expectation,
                         suggestion: word.flatMap { Suggest.nearest(to: $0, in: choices) }.map { "did you mean '\($0)'?" })
    }

    // MARK: - Expressions

    /// Where an expression is being read: inside a command's argument list the whitespace
    /// rules of the type comment apply; everywhere else (statements, brackets) they do not.
    private enum Context { case free, command }

    /// Enters one more level of nesting at `token`, or refuses input nested deeper than `maxDepth`.
    private mutating func enterNesting(at token: Token) throws(Diagnostic) {
        depth += 1
        guard depth <= Self.maxDepth else {
            throw Diagnostic(range: token.range, message: "the expression nests more than \(Self.maxDepth) levels deep",
                             suggestion: "split it into several statements with variables")
        }
    }

    private mutating func parseExpression(_ context: Context) throws(Diagnostic) -> Expr {
        try enterNesting(at: current)
        defer { depth -= 1 }
        let lower = try parseSum(context)
        guard current.kind == .dotDot else { return lower }
        let dots = current
        advance()
        skipLineBreakAfterOperator()
        guard canStartOperand(current.kind) else {
            throw expectedValue(after: "'..'", at: dots, expectation: "the end of the range, e.g. 0..6")
        }
        let upper = try parseSum(context)
        return Expr(.range(lower: lower, upper: upper), range: lower.range.union(upper.range))
    }

    private mutating func parseSum(_ context: Context) throws(Diagnostic) -> Expr {
        var lhs = try parseProduct(context)
        let entryDepth = depth
        defer { depth = entryDepth }
        while true {
            let op: BinaryOperator
            switch current.kind {
            case .plus: op = .add
            case .minus: op = .subtract
            default: return lhs
            }
            guard continuesBinary(context) else { return lhs }
            let opToken = current
            try enterNesting(at: opToken)
            advance()
            skipLineBreakAfterOperator()
            let rhs = try parseOperand(after: opToken, context)
            lhs = Expr(.binary(op, lhs, rhs), range: lhs.range.union(rhs.range))
        }
    }

    private mutating func parseProduct(_ context: Context) throws(Diagnostic) -> Expr {
        var lhs = try parseUnary(context)
        let entryDepth = depth
        defer { depth = entryDepth }
        while true {
            let op: BinaryOperator
            switch current.kind {
            case .star: op = .multiply
            case .slash: op = .divide
            default: return lhs
            }
            guard continuesBinary(context) else { return lhs }
            let opToken = current
            try enterNesting(at: opToken)
            advance()
            skipLineBreakAfterOperator()
            let rhs = try parseOperand(after: opToken, context, unaryOnly: true)
            lhs = Expr(.binary(op, lhs, rhs), range: lhs.range.union(rhs.range))
        }
    }

    private mutating func parseOperand(after op: Token, _ context: Context, unaryOnly: Bool = false) throws(Diagnostic) -> Expr {
        guard canStartOperand(current.kind) else {
            // The expectation adds what the message does not say: where the value may go.
            throw expectedValue(after: "'\(op.kind.spelling)'", at: op,
                                expectation: "a number, a name, a \"string\" or ( … ), on this line or the next")
        }
        return unaryOnly ? try parseUnary(context) : try parseProduct(context)
    }

    /// A line that ends with a binary operator (`+ - * / ..`) goes on on the next line:
    /// `y = 1 +⏎2` is `y = 1 + 2`, as the continuation prompt promises (`completeness(of:)`).
    private mutating func skipLineBreakAfterOperator() {
        if current.kind == .newline && peek().kind != .endOfInput { advance() }
    }

    /// Inside a command, does the operator at the cursor join the value before it?
    private func continuesBinary(_ context: Context) -> Bool {
        guard context == .command else { return true }
        let op = current, next = peek()
        // `print 1 +⏎2` goes on on the next line; a `*` at the end of a command line stays the
        // sweep (`patch resid_post layer=*`, `foo a *`).
        if next.kind == .newline, op.kind != .star, peek(2).kind != .endOfInput { return canStartOperand(peek(2).kind) }
        if op.spaceBefore && !next.spaceBefore && !next.kind.isStatementEnd { return false }
        return canStartOperand(next.kind) && !isKeyValueStart(position + 1)
    }

    private func canStartOperand(_ kind: TokenKind) -> Bool {
        switch kind {
        case .identifier, .integer, .float, .string, .unterminatedString,
             .leftParen, .leftBracket, .minus, .plus, .star: return true
        default: return false
        }
    }

    private mutating func parseUnary(_ context: Context) throws(Diagnostic) -> Expr {
        let op: UnaryOperator
        switch current.kind {
        case .minus: op = .negate
        case .plus: op = .plus
        default: return try parsePostfix(context)
        }
        let opToken = current
        try enterNesting(at: opToken)
        defer { depth -= 1 }
        advance()
        let operand = try parseOperand(after: opToken, context, unaryOnly: true)
        let range = opToken.range.union(operand.range)
        // Fold signs into number literals so `pos=-1` reads as the integer -1.
        switch (op, operand.kind) {
        case (.negate, .integer(let v)): return Expr(.integer(-v), range: range)
        case (.negate, .float(let v)): return Expr(.float(-v), range: range)
        case (.plus, .integer), (.plus, .float): return Expr(operand.kind, range: range)
        default: return Expr(.unary(op, operand), range: range)
        }
    }

    private mutating func parsePostfix(_ context: Context) throws(Diagnostic) -> Expr {
        var base = try parsePrimary()
        let entryDepth = depth
        defer { depth = entryDepth }
        while true {
            let token = current
            if context == .command && token.spaceBefore { return base }
            if [.dot, .leftParen, .leftBracket].contains(token.kind) { try enterNesting(at: token) }
            switch token.kind {
            case .dot:
                advance()
                let name: String
                switch current.kind {
                case .identifier(let n): name = n
                case .integer(let v) where v >= 0: name = String(v)
                default:
                    throw Diagnostic(range: current.range, message: "expected a name after '.', found \(current.kind.quoted)",
                                     expected: "a hook or field name, e.g. cache.resid_post",
                                     atEndOfInput: atEndOfInput)
                }
                base = Expr(.member(base, name: name), range: base.range.union(current.range))
                advance()
            case .leftParen:
                guard case .identifier(let name) = base.kind else {
                    throw Diagnostic(range: token.range, message: "only functions can be called",
                                     expected: "a function name before '(', e.g. mean(x, over=pos)")
                }
                base = try parseCall(name, nameRange: base.range)
            case .leftBracket:
                base = try parseIndex(base)
            default:
                return base
            }
        }
    }

    private mutating func parsePrimary() throws(Diagnostic) -> Expr {
        let token = current
        switch token.kind {
        case .integer(let v): advance(); return Expr(.integer(v), range: token.range)
        case .float(let v): advance(); return Expr(.float(v), range: token.range)
        case .string(let s), .unterminatedString(let s): advance(); return Expr(.string(s), range: token.range)
        case .identifier(let name): advance(); return Expr(.identifier(name), range: token.range)
        case .star: advance(); return Expr(.wildcard, range: token.range)
        case .leftParen:
            advance()
            let inner = try parseExpression(.free)
            let close = try expectClosing(.rightParen, opener: token)
            return Expr(inner.kind, range: token.range.union(close.range))
        case .leftBracket:
            advance()
            var items: [Expr] = []
            while current.kind != .rightBracket {
                items.append(try parseExpression(.free))
                guard current.kind == .comma else { break }
                advance()
            }
            let close = try expectClosing(.rightBracket, opener: token)
            return Expr(.list(items), range: token.range.union(close.range))
        default:
            throw Diagnostic(range: token.range, message: "expected a value, found \(token.kind.quoted)",
                             expected: "a number, a \"string\", a name, [a list], ( ... ) or *",
                             atEndOfInput: atEndOfInput)
        }
    }

    private mutating func parseCall(_ name: String, nameRange: SourceRange) throws(Diagnostic) -> Expr {
        let open = current
        advance()
        var args: [Expr] = []
        var kwargs: [NamedArgument] = []
        while current.kind != .rightParen {
            if isKeyValueStart(position), case .identifier(let key) = current.kind {
                let keyRange = current.range
                let equals = peek()
                advance()
                advance()
                guard canStartOperand(current.kind) else {
                    throw expectedValue(after: "'\(key)='", at: equals, expectation: "a value, e.g. over=pos")
                }
                let value = try parseExpression(.free)
                if let spec = table.function(named: name)?.options.first(where: { $0.name == key }) {
                    try check(value, against: spec.kind, what: "'\(key)='")
                }
                kwargs.append(NamedArgument(name: key, nameRange: keyRange, value: value))
            } else {
                if let first = kwargs.first {
                    throw Diagnostic(range: current.range, message: "positional argument after keyword argument '\(first.name)='",
                                     suggestion: "put positional arguments first: \(name)(x, \(first.name)=...)")
                }
                args.append(try parseExpression(.free))
            }
            guard current.kind == .comma else { break }
            advance()
        }
        let close = try expectClosing(.rightParen, opener: open)
        return Expr(.call(name: name, args: args, kwargs: kwargs), range: nameRange.union(close.range))
    }

    private mutating func parseIndex(_ base: Expr) throws(Diagnostic) -> Expr {
        let open = current
        advance()
        var indices: [Expr] = []
        repeat {
            if indices.count > 0 { advance() }  // the comma
            indices.append(try parseIndexItem())
        } while current.kind == .comma
        let close = try expectClosing(.rightBracket, opener: open)
        return Expr(.index(base, indices), range: base.range.union(close.range))
    }

    /// `i`, `a..b`, `*`, `:`, `a:b`, `a:`, `:b`.
    private mutating func parseIndexItem() throws(Diagnostic) -> Expr {
        let start = current
        if start.kind == .colon {
            advance()
            if current.kind == .comma || current.kind == .rightBracket {
                return Expr(.fullSlice, range: start.range)
            }
            let upper = try parseExpression(.free)
            return Expr(.range(lower: nil, upper: upper), range: start.range.union(upper.range))
        }
        if start.kind == .rightBracket {
            throw Diagnostic(range: start.range, message: "empty index",
                             expected: "an index such as 0, -1, 0..4, : or \"blocks.0.hook_resid_pre\"")
        }
        let item = try parseExpression(.free)
        guard current.kind == .colon else { return item }
        let colon = current
        advance()
        if current.kind == .comma || current.kind == .rightBracket {
            return Expr(.range(lower: item, upper: nil), range: item.range.union(colon.range))
        }
        let upper = try parseExpression(.free)
        return Expr(.range(lower: item, upper: upper), range: item.range.union(upper.range))
    }

    private mutating func expectClosing(_ kind: TokenKind, opener: Token) throws(Diagnostic) -> Token {
        let token = current
        guard token.kind == kind else {
            let atEnd = token.kind == .endOfInput
            throw Diagnostic(range: atEnd ? SourceRange(at: token.range.start) : token.range,
                             message: "expected '\(kind.spelling)' to close the '\(opener.kind.spelling)' at \(opener.range.start), found \(token.kind.quoted)",
                             expected: opener.kind == .leftParen ? "',' or ')'" : "',' or ']'",
                             suggestion: canStartOperand(token.kind) ? "separate items with ','" : nil,
                             atEndOfInput: atEnd)
        }
        advance()
        return token
    }

    // MARK: - Errors

    private func expectedValue(after what: String, at anchor: Token, expectation: String) -> Diagnostic {
        let atEnd = atEndOfInput
        let range = current.kind.isStatementEnd ? SourceRange(at: anchor.range.end) : current.range
        let found = current.kind.isStatementEnd ? "" : ", found \(current.kind.quoted)"
        return Diagnostic(range: range, message: "expected a value after \(what)\(found)",
                          expected: expectation, atEndOfInput: atEnd)
    }

    private func unknownVerb(_ name: String, at range: SourceRange) -> Diagnostic {
        let hint = table.suggestVerb(for: name).map { "did you mean '\($0)'?" }
            ?? "type help to list the verbs"
        return Diagnostic(range: range, message: "unknown verb '\(name)'", suggestion: hint)
    }

    private func unknownOption(_ key: String, at range: SourceRange, of spec: CommandSpec) -> Diagnostic {
        let names = spec.options.map(\.name)
        let expected = names.isEmpty ? "no options: '\(spec.name)' takes none"
            : "one of " + names.map { "\($0)=" }.joined(separator: ", ")
        let hint = Suggest.nearest(to: key, in: names).map { "did you mean '\($0)='?" } ?? "see help \(spec.name)"
        return Diagnostic(range: range, message: "unknown option '\(key)=' for '\(spec.name)'", expected: expected,
                          suggestion: hint)
    }

    /// Reads the surplus argument first so the error can underline all of it.
    private mutating func tooManyArguments(for spec: CommandSpec) throws(Diagnostic) -> Diagnostic {
        let extra = try parseExpression(.command)
        let count = spec.positionals.count
        let takes = count == 0 ? "takes no arguments" : "takes \(count) argument\(count == 1 ? "" : "s")"
        var hint = "usage: \(spec.usage)"
        if case .unary(.negate, _) = extra.kind, extra.range.length > 1,
           scalars[extra.range.start.offset + 1] != " " {
            hint = "to subtract, put spaces on both sides of '-': a - b"
        }
        return Diagnostic(range: extra.range, message: "too many arguments: '\(spec.name)' \(takes)",
                          expected: spec.positionals.isEmpty ? "options or the end of the line" : "options (name=value) or the end of the line",
                          suggestion: hint)
    }

    private func unexpectedAfterStatement() -> Diagnostic {
        let token = current
        switch token.kind {
        case .equals:
            return Diagnostic(range: token.range, message: "only a plain name can be assigned to",
                              expected: "name = value",
                              suggestion: "bind a new name instead, e.g. result = ...; members and indices are read-only")
        case .rightParen, .rightBracket:
            return Diagnostic(range: token.range, message: "'\(token.kind.spelling)' has no matching '\(token.kind == .rightParen ? "(" : "[")'",
                              suggestion: "remove it or add the opening bracket")
        default:
            if position > 0, case .identifier(let name) = tokens[position - 1].kind, table.function(named: name) != nil {
                return Diagnostic(range: token.range, message: "unexpected \(token.kind.quoted) after the function '\(name)'",
                                  expected: "an argument list in parentheses",
                                  suggestion: "call it with parentheses: \(table.function(named: name)?.usage ?? "\(name)(x)")")
            }
            return Diagnostic(range: token.range, message: "unexpected \(token.kind.quoted) after the statement",
                              expected: "an operator (+ - * /), ';' or the end of the line",
                              suggestion: "put one statement per line, or separate them with ';'")
        }
    }
}
