// Dispatch from a parsed command to its implementation. The parser has already checked the verb,
// option names and argument counts against the command table.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

/// A command's arguments with typed accessors that report errors at the argument's range.
///
/// Option values are read through the command's declaration in the command table: a value outside
/// the option's declared bounds (or a NaN or infinity for a number) is refused here, naming the
/// option and its valid range, so a handler never sees an invalid value; an option left out takes
/// its declared literal default (`k` "10"), so the default is written once, in the table.
struct Arguments {
    let command: Command
    let session: Session

    func positional(_ i: Int) -> Expr? { i < command.positionals.count ? command.positionals[i] : nil }
    func option(_ name: String) -> Expr? { command.option(name) }
    var range: SourceRange { command.range }

    func string(_ i: Int) throws -> String? { try positional(i).map(session.stringValue) }

    /// The declaration of option `name` of this verb (the parser has already refused unknown names).
    func spec(_ name: String) -> OptionSpec? { CommandTable.standard[command.verb]?.option(named: name) }

    /// The integer given for `name`, checked; nil when it was left out.
    func intIfGiven(_ name: String) throws -> Int? {
        guard let e = option(name) else { return nil }
        let value = try session.intValue(e)
        try check(Double(value), of: name, at: e)
        return value
    }

    /// The integer given for `name`, else its declared default.
    func int(_ name: String) throws -> Int {
        if let given = try intIfGiven(name) { return given }
        guard let text = spec(name)?.defaultValue, let value = Int(text) else { throw missingDefault(name) }
        return value
    }

    /// The integer given for `name`, else `fallback` (for defaults that come from the session, such
    /// as `seed`, which the table describes in words).
    func int(_ name: String, default fallback: Int) throws -> Int { try intIfGiven(name) ?? fallback }

    /// The number given for `name`, checked (finite, within bounds); nil when it was left out.
    func numberIfGiven(_ name: String) throws -> Double? {
        guard let e = option(name) else { return nil }
        let value = try session.numberValue(e)
        try check(value, of: name, at: e)
        return value
    }

    /// The number given for `name`, else its declared default.
    func number(_ name: String) throws -> Double {
        if let given = try numberIfGiven(name) { return given }
        guard let text = spec(name)?.defaultValue, let value = Double(text) else { throw missingDefault(name) }
        return value
    }

    /// The boolean given for `name`, else its declared default.
    func bool(_ name: String) throws -> Bool {
        if let e = option(name) { return try session.boolValue(e) }
        guard let text = spec(name)?.defaultValue, let value = Bool(text) else { throw missingDefault(name) }
        return value
    }

    /// A `.choice` option's value, given or else its declared default, as `T`. The parser has already
    /// refused a value outside the declared choices; this refuses one that `T` does not name.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = option(name).flatMap { $0.dottedName ?? (try? session.stringValue($0)) } ?? spec(name)?.defaultValue ?? ""
        guard let value = T(rawValue: text) else {
            throw TLLangError.at(option(name)?.range ?? range,
                                 "\(name)=\(text) is not one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    func bool(_ name: String, default fallback: Bool) throws -> Bool { try option(name).map(session.boolValue) ?? fallback }
    /// A boolean option, nil when not given (the caller then uses a model-dependent default).
    func optionalBool(_ name: String) throws -> Bool? { try option(name).map(session.boolValue) }

    /// Refuses a non-finite value, or one outside the option's declared bounds, at the value's range.
    private func check(_ value: Double, of name: String, at e: Expr) throws {
        let shown = session.formatNumber(value)
        guard value.isFinite else {
            throw TLLangError.at(e.range, "\(name)=\(shown) is not a finite number", hint: spec(name).map(example))
        }
        guard let bounds = spec(name)?.bounds else { return }
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
        if bounds.upper == .vocabulary, let v = bounds.upper.flatMap(resolve) { sizes = " (\(Int(v)) for this model)" }
        if bounds.upper == .context, let v = bounds.upper.flatMap(resolve) { sizes = " (\(Int(v)) for this model)" }
        throw TLLangError.at(e.range, "\(name)=\(shown) is out of range: \(name) must be \(bounds)\(sizes)",
                             hint: spec(name).map(example))
    }

    private func example(_ spec: OptionSpec) -> String {
        "\(spec.name): \(spec.doc)" + (spec.defaultValue.map { " (default \($0))" } ?? "")
    }

    private func missingDefault(_ name: String) -> TLLangError {
        TLLangError.at(range, "internal error: option \(name) of \(command.verb) has no declared default; please report this")
    }
}

extension Session {
    func runCommand(_ c: Command, source: String, assigning: Bool) throws -> Value {
        let a = Arguments(command: c, session: self)
        try requireWeightsIfRunHere(c)
        if !backend.isLocal && Session.swiftEngineVerbs.contains(c.verb) {
            note("note: \(c.verb) has no nnsight plan yet; it runs on the Swift engine's copy of the model")
        }
        switch c.verb {
        case "model": return try cmdModel(a)
        case "info": return try cmdInfo()
        case "backend": return try cmdBackend(a)
        case "tokens": return try cmdTokens(a)
        case "hooks": return try cmdHooks(a)
        case "run": return try cmdRun(a)
        case "top": return try cmdTop(a)
        case "loss": return try cmdLoss(a)
        case "test": return try cmdTest(a)
        case "norms": return try cmdNorms(a)
        case "lens": return try cmdLens(a)
        case "logit_diff": return try cmdLogitDiff(a)
        case "patch": return try cmdPatch(a)
        case "grad": return try cmdGrad(a)
        case "attrib": return try cmdAttrib(a)
        case "eap": return try cmdEAP(a)
        case "dla": return try cmdDLA(a)
        case "induction": return try cmdInduction(a)
        case "detect": return try cmdDetect(a)
        case "generate": return try cmdGenerate(a)
        case "show": return try cmdShow(a, assigning: assigning)
        case "sae": return try cmdSAE(a)
        case "features": return try cmdFeatures(a, assigning: assigning)
        case "feature": return try cmdFeature(a)
        case "sae_stats": return try cmdSAEStats(a)
        case "print", "warn":
            let text = try c.positionals.map { try plainString(evaluate($0)) }.joined(separator: " ")
            output?.write(text + "\n", toStandardError: c.verb == "warn")
            return .none
        case "save": return try cmdSave(a)
        case "vars": return cmdVars()
        case "clear":
            // Alone it clears the screen, as psql's and IPython's clear do: forgetting every
            // variable takes `clear *`.
            if c.positionals.isEmpty { output?.clearScreen(); return .none }
            if c.positionals.contains(where: { $0.kind == .bareWord("*") || $0.kind == .wildcard }) {
                variables.removeAll(); lastCache = nil
            } else {
                for p in c.positionals {
                    guard let name = p.dottedName ?? (try? stringValue(p)) else { continue }
                    guard variables.removeValue(forKey: name) != nil else { throw TLLangError.at(p.range, "no variable '\(name)' to clear") }
                }
            }
            return .none
        case "set": return try cmdSet(a)
        case "exit":
            exitRequested = true
            return .none
        case "help":
            let topic = c.positionals.first.map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
            if let topic, !topic.isEmpty {
                guard let text = CommandTable.standard.help(for: topic) else {
                    let hint = CommandTable.standard.suggestTopic(for: topic).map { "did you mean '\($0)'?" }
                    throw TLLangError.at(c.range, "no help for '\(topic)'", hint: hint ?? "type help for the list of verbs")
                }
                return .result(Display(text: text), data: nil)
            }
            return .result(Display(text: CommandTable.standard.helpOverview()), data: nil)
        default:
            throw TLLangError.at(c.verbRange, "the verb '\(c.verb)' is not implemented yet")
        }
    }

    /// Text of a value for `print`.
    func plainString(_ v: Value) -> String {
        switch v {
        case .string(let s): return s
        case .number(let n): return formatNumber(n)
        case .none: return ""
        default: return (try? display(of: v))??.plainText ?? v.typeName
        }
    }

    func formatNumber(_ n: Double) -> String {
        if n == n.rounded() && abs(n) < 1e15 { return String(Int(n)) }
        return String(format: "%.\(settings.precision)g", n)
    }
}
