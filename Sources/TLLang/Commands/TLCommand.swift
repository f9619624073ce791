// A command is a type: its arguments and options are typed declarations with real defaults, in one
// place. From those declarations come the command table (`CommandSpec`, which the parser, help,
// completion and docs/LANGUAGE.md read), the checks on values (kinds, closed sets, bounds) and the
// typed values the handler reads through `Invocation` (Interpreter/Invocation.swift).
//
// Adding a command: one type conforming to `TLCommand` in the file of its group under Commands/,
// listed in `CommandRegistry.commands` (docs/ARCHITECTURE.md has the recipe).

/// One verb of the language.
protocol TLCommand: Sendable {
    /// The verb, its help group, one-line summary, examples and extra help paragraph.
    static var about: CommandAbout { get }
    /// Positional arguments in order.
    static var arguments: [any ArgumentDeclaration] { get }
    /// `key=value` options in the order help lists them.
    static var options: [any OptionDeclaration] { get }
    /// Runs the command on typed arguments. `assigning`: the result is bound to a variable
    /// (`x = features …`) rather than shown.
    static func run(_ a: Invocation, in session: Session) throws -> Value
}

extension TLCommand {
    static var arguments: [any ArgumentDeclaration] { [] }
    static var options: [any OptionDeclaration] { [] }

    /// The table's view of this command, derived from the declarations so it cannot drift from them.
    static var spec: CommandSpec {
        CommandSpec(about.verb, about.category, about.summary, positionals: arguments.map(\.spec),
                    options: options.map(\.spec), examples: about.examples, details: about.details)
    }
}

/// What help and the docs say about a command besides its arguments.
struct CommandAbout: Sendable {
    var verb: String
    var category: CommandCategory
    var summary: String
    var examples: [String]
    var details: String?

    init(_ verb: String, _ category: CommandCategory, _ summary: String, examples: [String], details: String? = nil) {
        self.verb = verb
        self.category = category
        self.summary = summary
        self.examples = examples
        self.details = details
    }
}

// MARK: Values an option or argument can hold

/// A Swift type an option or argument can be read as. The parser has already read the syntax; this
/// turns the expression into the value, through the session (variables, arithmetic).
protocol OptionValue: Sendable {
    /// The kind the parser, help and completion use when the declaration names none.
    static var kind: ArgKind { get }
    static func read(_ e: Expr, in session: Session) throws -> Self
    /// How a default of this type reads in help and docs (`10`, `0.3`, `false`, `f32`).
    static func shown(_ value: Self) -> String
    /// The number to check against declared bounds (nil: not numeric, or absent).
    var boundedNumber: Double? { get }
}

extension OptionValue {
    var boundedNumber: Double? { nil }
}

extension Int: OptionValue {
    static var kind: ArgKind { .integer }
    static func read(_ e: Expr, in session: Session) throws -> Int { try session.intValue(e) }
    static func shown(_ value: Int) -> String { String(value) }
    var boundedNumber: Double? { Double(self) }
}

extension Double: OptionValue {
    static var kind: ArgKind { .number }
    static func read(_ e: Expr, in session: Session) throws -> Double { try session.numberValue(e) }
    static func shown(_ value: Double) -> String { ValueBounds.Limit.value(value).phrase }
    var boundedNumber: Double? { self }
}

extension Bool: OptionValue {
    static var kind: ArgKind { .boolean }
    static func read(_ e: Expr, in session: Session) throws -> Bool { try session.boolValue(e) }
    static func shown(_ value: Bool) -> String { String(value) }
}

extension String: OptionValue {
    static var kind: ArgKind { .text }
    static func read(_ e: Expr, in session: Session) throws -> String { try session.stringValue(e) }
    static func shown(_ value: String) -> String { value }
}

/// The expression itself, for arguments whose meaning depends on context the handler has (a layer
/// sweep checked against the model's layers, a cache or prompt, a token difference): the handler
/// evaluates it where that context is known.
extension Expr: OptionValue {
    static var kind: ArgKind { .value }
    static func read(_ e: Expr, in session: Session) throws -> Expr { e }
    static func shown(_ value: Expr) -> String { value.dottedName ?? "" }
}

/// Left out, an optional option is nil: the handler (or the engine) decides, as its declared
/// default's description says.
extension Optional: OptionValue where Wrapped: OptionValue {
    static var kind: ArgKind { Wrapped.kind }
    static func read(_ e: Expr, in session: Session) throws -> Wrapped? { try Wrapped.read(e, in: session) }
    static func shown(_ value: Wrapped?) -> String { value.map(Wrapped.shown) ?? "" }
    var boundedNumber: Double? { self?.boundedNumber }
}

/// A closed set of names as a Swift enum: its cases, in order, are the accepted values.
protocol ChoiceValue: OptionValue, RawRepresentable, CaseIterable where RawValue == String {}

extension ChoiceValue {
    static var kind: ArgKind { .choice(allCases.map(\.rawValue)) }
    static func read(_ e: Expr, in session: Session) throws -> Self {
        let text = try e.dottedName ?? session.stringValue(e)
        guard let value = Self(rawValue: text) else {
            throw TLLangError.at(e.range, "\(text) is not one of " + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
    static func shown(_ value: Self) -> String { value.rawValue }
}

// MARK: Defaults

/// An option's value when it is left out.
enum OptionDefault<T: OptionValue>: Sendable {
    /// No default: the option's type is optional and the value is nil.
    case absent
    /// A constant, shown in help as the value itself (`10`, `false`).
    case constant(T)
    /// Taken from the session when the command runs (the session's seed, the model's context),
    /// shown in help as `description`.
    case computed(String, @Sendable (Session) throws -> T)

    var description: String? {
        switch self {
        case .absent: return nil
        case .constant(let v): return T.shown(v)
        case .computed(let text, _): return text
        }
    }
}

extension OptionDefault where T: ExpressibleByNilLiteral {
    /// Left out, the value is nil and the handler or engine decides as `text` says ("the model's
    /// default", "the last cache", "all layers").
    static func described(_ text: String) -> OptionDefault { .computed(text) { _ in nil } }
}

// MARK: Declarations

/// The type-erased view of an option declaration, for the command table.
protocol OptionDeclaration: Sendable {
    var name: String { get }
    var spec: OptionSpec { get }
}

/// A typed `key=value` option: `Option<Int>("k", "how many tokens", default: 10, bounds: .atLeast(1))`.
struct Option<T: OptionValue>: OptionDeclaration {
    let name: String
    let kind: ArgKind
    let doc: String
    let defaultValue: OptionDefault<T>
    let bounds: ValueBounds?

    init(_ name: String, _ kind: ArgKind, _ doc: String, default defaultValue: OptionDefault<T> = .absent,
         bounds: ValueBounds? = nil) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.defaultValue = defaultValue
        self.bounds = bounds
    }

    /// The kind is the type's own (`Int` → integer, a `ChoiceValue` enum → its cases).
    init(_ name: String, _ doc: String, default defaultValue: OptionDefault<T> = .absent, bounds: ValueBounds? = nil) {
        self.init(name, T.kind, doc, default: defaultValue, bounds: bounds)
    }

    /// A constant default, written as the value: `default: 10`.
    init(_ name: String, _ kind: ArgKind, _ doc: String, default value: T, bounds: ValueBounds? = nil) {
        self.init(name, kind, doc, default: .constant(value), bounds: bounds)
    }

    init(_ name: String, _ doc: String, default value: T, bounds: ValueBounds? = nil) {
        self.init(name, T.kind, doc, default: .constant(value), bounds: bounds)
    }

    var spec: OptionSpec { OptionSpec(name, kind, doc, default: defaultValue.description, bounds: bounds) }
}

/// The type-erased view of a positional argument declaration.
protocol ArgumentDeclaration: Sendable {
    var spec: ArgSpec { get }
}

/// A typed positional argument. An optional `T` makes the argument optional; `repeats` takes any
/// number of further arguments (read with `Invocation.all`).
struct Argument<T: OptionValue>: ArgumentDeclaration {
    let name: String
    let kind: ArgKind
    let doc: String
    let repeats: Bool

    init(_ name: String, _ kind: ArgKind, _ doc: String, repeats: Bool = false) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.repeats = repeats
    }

    init(_ name: String, _ doc: String, repeats: Bool = false) {
        self.init(name, T.kind, doc, repeats: repeats)
    }

    var spec: ArgSpec {
        ArgSpec(name, kind, doc, required: !(T.self is any NilDefault.Type), repeats: repeats)
    }
}
