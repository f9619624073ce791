// `tlsh FILE.tl` and `tlsh -c 'statements'`: run a whole script, stop at the first error with its
// location (`FILE:LINE:COL: error: …` plus the source line and a caret) and exit status 1.
import Foundation
import TLLang

public enum ScriptRunner {
    /// Exit statuses shared by scripts and the REPL.
    public static let success: Int32 = 0
    /// A statement failed (parse or runtime error) or the script could not be read.
    public static let failure: Int32 = 1
    /// Ctrl-C (SIGINT) stopped it: the shell's 128 + SIGINT.
    public static let interrupted: Int32 = 130

    /// Runs the script at `file` (`-` reads standard input). Output goes to `session.output`,
    /// or to a fresh `TerminalOutput` when the session has none.
    public static func run(file: String, session: Session) -> Int32 {
        let output = attachOutput(to: session)
        let source: String
        do {
            source = try readScript(file)
        } catch {
            output.write("tlsh: \(error)\n", toStandardError: true)
            return failure
        }
        defer { withExtendedLifetime(output) {} }
        return run(source: source, origin: file, session: session)
    }

    /// Runs `source` as one script; `origin` names it in error locations (a path, or `-c`).
    /// Statements are separated by newlines or `;`.
    public static func run(source: String, origin: String, session: Session) -> Int32 {
        let output = attachOutput(to: session)
        defer { withExtendedLifetime(output) {} }
        ScriptInterrupt.install(session: session)
        return execute(source, origin: origin, session: session, output: output)
    }

    /// Executes `source`, displays what it shows, and on failure shows the error located at
    /// `origin:LINE:COL` (LINE `line` when the error has none); returns the exit status:
    /// success, failure, or interrupted (Ctrl-C stopped it; the statements after it did not run).
    static func execute(_ source: String, origin: String, line: Int = 1, session: Session, output: TerminalOutput) -> Int32 {
        do {
            if let shown = try session.execute(source) { output.display(shown) }
            output.finishProgress()
            return success
        } catch {
            output.finishProgress()
            if error.name == "Interrupted" {
                output.note("\(origin):\(error.line ?? line): interrupted")
                return interrupted
            }
            output.showError(error, location: "\(origin):\(error.line ?? line):\(error.column ?? 1)")
            return failure
        }
    }

    /// The session's output if it is a TerminalOutput, else a new one attached to the session.
    /// The caller keeps the returned object alive (the session holds its output weakly).
    static func attachOutput(to session: Session) -> TerminalOutput {
        if let existing = session.output as? TerminalOutput { return existing }
        let output = TerminalOutput(environment: session.environment)
        if session.output == nil { session.output = output }
        return output
    }

    static func readScript(_ path: String) throws -> String {
        let data: Data
        do {
            data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile()
                : try Data(contentsOf: URL(fileURLWithPath: (path as NSString).expandingTildeInPath))
        } catch {
            throw TLReplError.unreadableScript(path: path, reason: reason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TLReplError.unreadableScript(path: path, reason: "it is not UTF-8 text")
        }
        return text
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch ns.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return ns.localizedDescription
    }
}
