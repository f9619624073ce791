// The REPL's own errors: things about files and terminals, never about statements (those are
// ExecutionError from the session).

public enum TLReplError: Error, CustomStringConvertible {
    /// A script file that cannot be read.
    case unreadableScript(path: String, reason: String)
    /// A history file that is not ours or is damaged; the session goes on without saving history.
    case corruptHistory(path: String, reason: String)
    /// A history file or folder we may not write to.
    case unwritableHistory(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableScript(let path, let reason):
            return "cannot read script \(path): \(reason); check the path and its permissions"
        case .corruptHistory(let path, let reason):
            return "history file \(path) \(reason); history will not be saved this session (move the file away or set TLSH_HISTORY to another path)"
        case .unwritableHistory(let path, let reason):
            return "cannot write history file \(path): \(reason); history will not be saved this session (fix its permissions or set TLSH_HISTORY)"
        }
    }
}
