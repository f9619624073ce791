// A parsed command bound to its session: the handler reads typed values through it, by the
// command's own declarations (`a[Top.k]` is an Int), never by option name and never restating a
// default.

/// One run of a command: the parsed syntax and the session it runs in.
struct Invocation {
    let command: Command
    let session: Session
    /// The command's declaration, for error hints.
    let spec: CommandSpec
    /// The result is bound to a variable (`x = features …`) rather than shown.
    let assigning: Bool

    var range: SourceRange { command.range }

    /// The value of an option: the given one, read as `T` and checked (a number finite and within
    /// the declared bounds), else the declared default.
    subscript<T>(_ option: Option<T>) -> T {
        get throws {
            guard let e = command.option(option.name) else {
                switch option.defaultValue {
                case .constant(let value): return value
                case .computed(_, let compute): return try compute(session)
                case .absent:
                    if let none = (T.self as? any NilDefault.Type)?.nilValue as? T { return none }
                    throw TLLangError.at(range, "internal error: option \(option.name) of \(command.verb) has no default; please report this")
                }
            }
            let value = try read(T.self, e, kind: option.kind)
            if let n = value.boundedNumber { try check(n, of: option, at: e) }
            return value
        }
    }

    /// The value of a positional argument (nil for an optional one left out).
    subscript<T>(_ argument: Argument<T>) -> T {
        get throws {
            guard let e = expression(of: argument) else {
                if let none = (T.self as? any NilDefault.Type)?.nilValue as? T { return none }
                throw TLLangError.at(range, "\(command.verb) needs \(argument.name): \(argument.doc)")
            }
            return try read(T.self, e, kind: argument.kind)
        }
    }

    /// Every value of a repeating last argument, as written.
    func all<T>(_ argument: Argument<T>) -> [Expr] {
        guard let i = index(of: argument) else { return [] }
        return Array(command.positionals.dropFirst(i))
    }

    /// The expression written for an option, nil when left out: for error ranges, and for options
    /// whose presence matters (`error=` without `saes=`).
    func expression<T>(of option: Option<T>) -> Expr? { command.option(option.name) }
    /// The first of `options` that was given, with its expression: for refusing options that do
    /// not apply to this form of the command.
    func firstGiven(_ options: any OptionDeclaration...) -> (name: String, expression: Expr)? {
        for option in options { if let e = command.option(option.name) { return (option.name, e) } }
        return nil
    }
    func isGiven<T>(_ option: Option<T>) -> Bool { command.option(option.name) != nil }
    /// Where to point an error about an option: its value when given, else the whole command.
    func range<T>(of option: Option<T>) -> SourceRange { command.option(option.name)?.range ?? range }

    /// Where to point an error about a positional argument: the argument when given, else the command.
    func range<T>(of argument: Argument<T>) -> SourceRange { expression(of: argument)?.range ?? range }

    func expression<T>(of argument: Argument<T>) -> Expr? {
        guard let i = index(of: argument), i < command.positionals.count else { return nil }
        return command.positionals[i]
    }

    private func index<T>(of argument: Argument<T>) -> Int? {
        spec.positionals.firstIndex { $0.name == argument.name }
    }

    /// A choice given as a bare word (`colors=viridis`) is read as that word.
    private func read<T: OptionValue>(_ type: T.Type, _ e: Expr, kind: ArgKind) throws -> T {
        if T.self == String.self || T.self == String?.self, kind.choices != nil || kind.readsBareWord,
           let name = e.dottedName, let value = name as? T ?? (Optional(name) as? T) {
            return value
        }
        return try T.read(e, in: session)
    }

    /// Refuses a non-finite value, or one outside the option's declared bounds, at the value's range.
    private func check<T>(_ value: Double, of option: Option<T>, at e: Expr) throws {
        let name = option.name
        let shown = session.formatNumber(value)
        let hint = "\(name): \(option.doc)" + (option.defaultValue.description.map { " (default \($0))" } ?? "")
        guard value.isFinite else {
            throw TLLangError.at(e.range, "\(name)=\(shown) is not a finite number", hint: hint)
        }
        guard let bounds = option.bounds else { return }
        func resolve(_ limit: ValueBounds.Limit) -> Double? {
            switch limit {
            case .value(let v): return v
            case .vocabulary: return session.current.map { Double($0.model.config.dVocab) }
            case .context: return session.current.map { Double($0.model.config.nCtx) }
            }
        }
        var inRange = true
        if let lower = bounds.lower.flatMap(resolve) { inRange = inRange && (bounds.lowerInclusive ? value >= lower : value > lower) }
        if let upper = bounds.upper.flatMap(resolve) { inRange = inRange && (bounds.upperInclusive ? value <= upper : value < upper) }
        guard !inRange else { return }
        var sizes = ""
        if bounds.upper == .vocabulary || bounds.upper == .context, let v = bounds.upper.flatMap(resolve) { sizes = " (\(Int(v)) for this model)" }
        throw TLLangError.at(e.range, "\(name)=\(shown) is out of range: \(name) must be \(bounds)\(sizes)", hint: hint)
    }
}

/// Optional types, whose value when left out is nil.
protocol NilDefault { static var nilValue: Self { get } }
extension Optional: NilDefault { static var nilValue: Self { nil } }
