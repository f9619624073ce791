// Dispatch from a parsed command to its command type, and the handlers of the small session verbs.
// The parser has already checked the verb, option names and argument counts against the table.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// Runs a parsed command through its command type (Commands/CommandRegistry.swift).
    func runCommand(_ c: Command, source: String, assigning: Bool) throws -> Value {
        guard let type = CommandRegistry.command(for: c.verb) else {
            throw TLLangError.at(c.verbRange, "the verb '\(c.verb)' is not implemented yet")
        }
        try requireWeightsIfRunHere(c)
        if !backend.isLocal && Session.swiftEngineVerbs.contains(c.verb) {
            note("note: \(c.verb) has no nnsight plan yet; it runs on the Swift engine's copy of the model")
        }
        return try type.run(Invocation(command: c, session: self, spec: type.spec, assigning: assigning), in: self)
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
        presentation.format(n)
    }
}
