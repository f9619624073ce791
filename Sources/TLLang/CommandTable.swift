/// What a command argument or option accepts. The parser uses it to read the argument
/// (`.word` and `.path` accept unquoted words such as `gpt2-small`), to check closed sets
/// (`.choice`, `.boolean`), and help/completion use it to describe and offer values.
public enum ArgKind: Equatable, Sendable {
    case integer
    case number
    case boolean
    /// A string literal: a prompt or text.
    case text
    /// One token string or arithmetic on token strings: `" Paris"`, `" Paris" - " Rome"`.
    case tokens
    /// A layer index or sweep: `6`, `-1`, `0..6`, `[0, 3, 7]`, `*`.
    case layers
    /// A position index or sweep (negative counts from the end).
    case positions
    /// A head index or sweep.
    case heads
    /// A hook name: short (`resid_post`, `pattern`, `z`) or full (`blocks.6.hook_resid_post`).
    case hook
    /// An unquoted word: a model alias, repo id, directory, verb or variable name.
    case word
    /// A file path, quoted or not.
    case path
    /// One of a fixed set of names.
    case choice([String])
    /// Any expression: a variable, number, string, tensor arithmetic.
    case value

    /// Placeholder-style description used in help and in "expected ..." messages.
    public var expectation: String {
        switch self {
        case .integer: return "an integer, e.g. 5"
        case .number: return "a number, e.g. 2.0 or 1e-3"
        case .boolean: return "true or false"
        case .text: return "a quoted string, e.g. \"The capital of France is\""
        case .tokens: return "a token string such as \" Paris\", or a difference \" Paris\" - \" Rome\""
        case .layers: return "a layer such as 6 or -1, a range 0..6, a list [0, 3, 7], or * for all"
        case .positions: return "a position such as -1, a range 0..4, a list [1, 3], or * for all"
        case .heads: return "a head such as 7, a range 0..4, a list [1, 5], or * for all"
        case .hook: return "a hook name such as resid_post, pattern, z or \"blocks.6.hook_resid_post\""
        case .word: return "a word, quotes optional"
        case .path: return "a file name, e.g. out.png"
        case .choice(let names): return "one of " + names.joined(separator: ", ")
        case .value: return "a value: a variable, number, string or expression"
        }
    }

    /// Closed set of accepted names, when there is one (for checking and completion).
    public var choices: [String]? {
        switch self {
        case .boolean: return ["true", "false"]
        case .choice(let names): return names
        default: return nil
        }
    }

    /// Arguments of these kinds are read as unquoted words when not quoted.
    var readsBareWord: Bool { self == .word || self == .path }
}

/// A positional argument of a command.
public struct ArgSpec: Equatable, Sendable {
    /// Upper-case placeholder shown in usage lines: `PROMPT`, `HOOK`.
    public var name: String
    public var kind: ArgKind
    public var doc: String
    public var required: Bool
    /// Takes any number of further arguments of the same kind (only the last positional).
    public var repeats: Bool

    public init(_ name: String, _ kind: ArgKind, _ doc: String, required: Bool = true, repeats: Bool = false) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.required = required
        self.repeats = repeats
    }
}

/// The valid range of a numeric option, declared beside it: the session refuses a value outside it
/// before the command runs, help prints it, and the option fuzzer draws its edge cases from it.
/// Number options must always be finite; integer options must always fit an Int.
public struct ValueBounds: Equatable, Sendable, CustomStringConvertible {
    /// An end of the range: a constant, or a size of the current model.
    public enum Limit: Equatable, Sendable {
        case value(Double)
        /// d_vocab of the current model.
        case vocabulary
        /// n_ctx of the current model.
        case context

        var phrase: String {
            switch self {
            case .value(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
            case .vocabulary: return "the vocabulary size"
            case .context: return "the context length (n_ctx)"
            }
        }
    }

    public var lower: Limit?
    public var lowerInclusive = true
    public var upper: Limit?
    public var upperInclusive = true

    /// `value >= minimum`, and `<= maximum` when given.
    public static func atLeast(_ minimum: Double, atMost maximum: Limit? = nil) -> ValueBounds {
        ValueBounds(lower: .value(minimum), upper: maximum)
    }
    /// `value > minimum` and `<= maximum`.
    public static func above(_ minimum: Double, atMost maximum: Double) -> ValueBounds {
        ValueBounds(lower: .value(minimum), lowerInclusive: false, upper: .value(maximum))
    }

    public var description: String {
        var parts: [String] = []
        if let lower { parts.append((lowerInclusive ? "≥ " : "> ") + lower.phrase) }
        if let upper { parts.append((upperInclusive ? "≤ " : "< ") + upper.phrase) }
        return parts.joined(separator: " and ")
    }
}

/// A `key=value` option of a command or keyword argument of a function.
public struct OptionSpec: Equatable, Sendable {
    public var name: String
    public var kind: ArgKind
    public var doc: String
    /// How the default reads in help and docs (`"10"`, `"the last cache"`), nil when there is none.
    /// Commands' options are built from their typed declarations (`Option` in Commands/TLCommand.swift),
    /// which hold the default's value; this is its rendering.
    public var defaultValue: String?
    /// The valid values of an integer or number option (nil: any finite value).
    public var bounds: ValueBounds?

    public init(_ name: String, _ kind: ArgKind, _ doc: String, default defaultValue: String? = nil,
                bounds: ValueBounds? = nil) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.defaultValue = defaultValue
        self.bounds = bounds
    }
}

/// Groups for `help` and the docs, in display order.
public enum CommandCategory: String, CaseIterable, Sendable {
    case model = "Model"
    case running = "Running and reading predictions"
    case attribution = "Patching and attribution"
    case heads = "Attention heads"
    case generation = "Generation and steering"
    case saes = "Sparse autoencoders"
    case session = "Output and session"
}

/// Everything the language knows about one verb.
public struct CommandSpec: Equatable, Sendable {
    public var name: String
    public var category: CommandCategory
    /// One line, imperative, no trailing period.
    public var summary: String
    public var positionals: [ArgSpec]
    public var options: [OptionSpec]
    /// Complete statements, each a valid line of the language (tests parse every one).
    public var examples: [String]
    /// Extra paragraph for `help VERB` (semantics, defaults taken from the session).
    public var details: String?

    public init(_ name: String, _ category: CommandCategory, _ summary: String,
                positionals: [ArgSpec] = [], options: [OptionSpec] = [],
                examples: [String], details: String? = nil) {
        self.name = name
        self.category = category
        self.summary = summary
        self.positionals = positionals
        self.options = options
        self.examples = examples
        self.details = details
    }

    /// `patch HOOK [layer=…] [pos=…]`, built from the specs so it cannot drift from them.
    public var usage: String {
        var parts = [name]
        for arg in positionals {
            var text = arg.name
            if arg.repeats { text += "..." }
            parts.append(arg.required ? text : "[\(text)]")
        }
        for option in options { parts.append("[\(option.name)=\(placeholder(for: option.kind))]") }
        return parts.joined(separator: " ")
    }

    public func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name }
    }

    /// The spec for the positional at `index`, following a repeating last positional.
    public func positional(at index: Int) -> ArgSpec? {
        if index < positionals.count { return positionals[index] }
        if let last = positionals.last, last.repeats { return last }
        return nil
    }

    /// Most positionals a call may have (nil when the last one repeats).
    public var maxPositionals: Int? {
        positionals.last?.repeats == true ? nil : positionals.count
    }
}

/// A built-in function used in expressions: `mean(x, over=pos)`.
public struct FunctionSpec: Equatable, Sendable {
    public var name: String
    public var summary: String
    public var usage: String
    public var options: [OptionSpec]
    public var examples: [String]

    public init(_ name: String, _ summary: String, usage: String, options: [OptionSpec], examples: [String]) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.options = options
        self.examples = examples
    }
}

func placeholder(for kind: ArgKind) -> String {
    switch kind {
    case .integer: return "N"
    case .number: return "X"
    case .boolean: return "true|false"
    case .text: return "TEXT"
    case .tokens: return "TOKENS"
    case .layers: return "LAYERS"
    case .positions: return "POSITIONS"
    case .heads: return "HEADS"
    case .hook: return "HOOK"
    case .word: return "NAME"
    case .path: return "FILE"
    case .choice(let names): return names.joined(separator: "|")
    case .value: return "VALUE"
    }
}

/// The one table of verbs and functions. The parser reads commands with it, `help` prints it,
/// completion offers from it, and docs/LANGUAGE.md embeds `markdownReference()` of it.
public struct CommandTable: Sendable {
    public var commands: [CommandSpec]
    public var functions: [FunctionSpec]
    private var byName: [String: Int]

    public init(commands: [CommandSpec], functions: [FunctionSpec]) {
        self.commands = commands
        self.functions = functions
        var byName: [String: Int] = [:]
        for (i, spec) in commands.enumerated() { byName[spec.name] = i }
        self.byName = byName
    }

    public subscript(verb: String) -> CommandSpec? {
        byName[verb].map { commands[$0] }
    }

    public func function(named name: String) -> FunctionSpec? {
        functions.first { $0.name == name }
    }

    public var verbNames: [String] { commands.map(\.name) }
    public var functionNames: [String] { functions.map(\.name) }

    /// Nearest verb to a mistyped one, e.g. `pach` → `patch`.
    public func suggestVerb(for word: String) -> String? {
        Suggest.nearest(to: word, in: verbNames)
    }
}

/// Axis names accepted by `over=` in reductions, in the order of TransformerLens shapes.
public let axisNames = ["batch", "pos", "layer", "head", "query", "key", "d_model", "d_head", "d_mlp", "vocab"]
