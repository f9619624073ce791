/// Arithmetic operators, in the order of the precedence table (lowest first).
public enum BinaryOperator: String, Equatable, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/"
}

public enum UnaryOperator: String, Equatable, Sendable {
    case negate = "-", plus = "+"
}

/// `name=value` inside a command (an option) or a call (a keyword argument).
public struct NamedArgument: Equatable, Sendable {
    public var name: String
    /// Range of the name alone (completion and "unknown option" errors point here).
    public var nameRange: SourceRange
    public var value: Expr
    /// Name through value.
    public var range: SourceRange { nameRange.union(value.range) }

    public init(name: String, nameRange: SourceRange, value: Expr) {
        self.name = name
        self.nameRange = nameRange
        self.value = value
    }
}

/// An expression node with its source range.
public struct Expr: Equatable, Sendable {
    public indirect enum Kind: Equatable, Sendable {
        case integer(Int)
        case float(Double)
        case string(String)
        /// An unquoted word read verbatim where a command expects a name or path:
        /// `model gpt2-small`, `model NeelNanda/Attn_Only_2L`, `save x out.png`.
        case bareWord(String)
        case identifier(String)
        /// `[a, b, c]`.
        case list([Expr])
        /// `a..b` (half-open: a, a+1, ..., b-1); inside `[ ]` also `a:b`, `a:`, `:b`.
        /// A missing bound means "from the start" / "to the end".
        case range(lower: Expr?, upper: Expr?)
        /// `*`: sweep every index (`layer=*`).
        case wildcard
        /// `:` alone inside `[ ]`: every index along that axis.
        case fullSlice
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        /// `mean(x, over=pos)`.
        case call(name: String, args: [Expr], kwargs: [NamedArgument])
        /// `cache.resid_post`, `cache.blocks.6.hook_resid_post` (each dotted part is one member,
        /// digits included).
        case member(Expr, name: String)
        /// `cache.pattern[0]`, `cache["pattern", 0]`, `x[:, -1]`.
        case index(Expr, [Expr])
    }

    public var kind: Kind
    public var range: SourceRange

    public init(_ kind: Kind, range: SourceRange) {
        self.kind = kind
        self.range = range
    }

    /// The dotted name an identifier or member chain spells, e.g. `blocks.6.hook_resid_post`
    /// or `resid_post`; nil for anything else. Commands use it for hook-name arguments.
    public var dottedName: String? {
        switch kind {
        case .identifier(let name), .bareWord(let name): return name
        case .member(let base, let name): return base.dottedName.map { "\($0).\(name)" }
        default: return nil
        }
    }

    /// A compact, range-free rendering used by tests and debugging:
    /// `(- (str " Paris") (str " Rome"))`, `(index (. cache pattern) 0)`.
    public var sExpression: String {
        switch kind {
        case .integer(let v): return String(v)
        case .float(let v): return String(v)
        case .string(let s): return "(str \(quote(s)))"
        case .bareWord(let s): return "(word \(s))"
        case .identifier(let name): return name
        case .list(let items): return "(list" + items.map { " " + $0.sExpression }.joined() + ")"
        case .range(let lower, let upper):
            return "(range \(lower?.sExpression ?? "_") \(upper?.sExpression ?? "_"))"
        case .wildcard: return "*"
        case .fullSlice: return ":"
        case .unary(let op, let operand): return "(\(op.rawValue) \(operand.sExpression))"
        case .binary(let op, let lhs, let rhs): return "(\(op.rawValue) \(lhs.sExpression) \(rhs.sExpression))"
        case .call(let name, let args, let kwargs):
            return "(\(name)" + args.map { " " + $0.sExpression }.joined()
                + kwargs.map { " \($0.name)=\($0.value.sExpression)" }.joined() + ")"
        case .member(let base, let name): return "(. \(base.sExpression) \(name))"
        case .index(let base, let indices):
            return "(index \(base.sExpression)" + indices.map { " " + $0.sExpression }.joined() + ")"
        }
    }
}

/// `verb positional... key=value...` — a statement whose first word is in the command table.
public struct Command: Equatable, Sendable {
    public var verb: String
    public var verbRange: SourceRange
    /// Positional arguments in order (may include `*`).
    public var positionals: [Expr]
    /// `key=value` options in the order written; names are checked against the verb's spec,
    /// and each appears at most once.
    public var options: [NamedArgument]
    public var range: SourceRange

    public init(verb: String, verbRange: SourceRange, positionals: [Expr], options: [NamedArgument], range: SourceRange) {
        self.verb = verb
        self.verbRange = verbRange
        self.positionals = positionals
        self.options = options
        self.range = range
    }

    /// The value of option `name`, if given.
    public func option(_ name: String) -> Expr? {
        options.first { $0.name == name }?.value
    }

    public var sExpression: String {
        "(\(verb)" + positionals.map { " " + $0.sExpression }.joined()
            + options.map { " \($0.name)=\($0.value.sExpression)" }.joined() + ")"
    }
}

/// One statement: `name = command`, `name = expr`, `command` or `expr`.
public struct Statement: Equatable, Sendable {
    /// The right-hand side of an assignment, or a whole statement.
    public enum Body: Equatable, Sendable {
        case command(Command)
        case expression(Expr)

        public var range: SourceRange {
            switch self {
            case .command(let c): return c.range
            case .expression(let e): return e.range
            }
        }

        public var sExpression: String {
            switch self {
            case .command(let c): return c.sExpression
            case .expression(let e): return e.sExpression
            }
        }
    }

    public enum Kind: Equatable, Sendable {
        case assignment(target: String, targetRange: SourceRange, value: Body)
        case command(Command)
        case expression(Expr)
    }

    public var kind: Kind
    public var range: SourceRange

    public init(_ kind: Kind, range: SourceRange) {
        self.kind = kind
        self.range = range
    }

    /// `(= cache (run (str "prompt")))`, `(patch resid_post layer=*)`, or the expression.
    public var sExpression: String {
        switch kind {
        case .assignment(let target, _, let value): return "(= \(target) \(value.sExpression))"
        case .command(let c): return c.sExpression
        case .expression(let e): return e.sExpression
        }
    }
}

/// Double-quoted with the same escapes the lexer accepts, so `sExpression` output is unambiguous.
func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
