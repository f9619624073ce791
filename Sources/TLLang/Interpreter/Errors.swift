// The interpreter's errors. Every one ends up rendered with a line and column by Session.

public enum TLLangError: Error, CustomStringConvertible {
    /// A problem found while evaluating; `range` points at the offending part when known.
    case runtime(String, range: SourceRange? = nil, hint: String? = nil)
    case parse(Diagnostic)
    case cancelled

    public var description: String {
        switch self {
        case .runtime(let m, _, let hint): return hint.map { "\(m)\nhint: \($0)" } ?? m
        case .parse(let d): return d.description
        case .cancelled: return "interrupted"
        }
    }

    static func runtime(_ message: String) -> TLLangError { .runtime(message, range: nil, hint: nil) }
    static func at(_ range: SourceRange, _ message: String, hint: String? = nil) -> TLLangError {
        .runtime(message, range: range, hint: hint)
    }
}

/// A failed statement as the front ends show it.
public struct ExecutionError: Error, Sendable, CustomStringConvertible {
    /// Short class name for Jupyter's ename: ParseError, RuntimeError, Interrupted.
    public var name: String
    /// One-line message.
    public var message: String
    /// The full rendering: `error: line L, column C: …`, the source line, a caret, hints.
    public var rendered: String
    public var line: Int?
    public var column: Int?
    public var description: String { rendered }
}
