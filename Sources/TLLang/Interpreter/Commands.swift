// Dispatch from a parsed command to its implementation. The parser has already checked the verb,
// option names and argument counts against the command table.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

/// A command's arguments with typed accessors that report errors at the argument's range.
struct Arguments {
    let command: Command
    let session: Session

    func positional(_ i: Int) -> Expr? { i < command.positionals.count ? command.positionals[i] : nil }
    func option(_ name: String) -> Expr? { command.option(name) }

    func string(_ i: Int) throws -> String? { try positional(i).map(session.stringValue) }
    func int(_ name: String, default d: Int) throws -> Int { try option(name).map(session.intValue) ?? d }
    func number(_ name: String) throws -> Double? { try option(name).map(session.numberValue) }
    func bool(_ name: String, default d: Bool) throws -> Bool { try option(name).map(session.boolValue) ?? d }
    var range: SourceRange { command.range }
}

extension Session {
    func runCommand(_ c: Command, source: String, assigning: Bool) throws -> Value {
        let a = Arguments(command: c, session: self)
        switch c.verb {
        case "model": return try cmdModel(a)
        case "info": return try cmdInfo()
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
        case "dla": return try cmdDLA(a)
        case "induction": return try cmdInduction(a)
        case "detect": return try cmdDetect(a)
        case "generate": return try cmdGenerate(a)
        case "show": return try cmdShow(a)
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
