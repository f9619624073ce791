// `tlsh` with no script: the interactive REPL on a terminal, or statements read from standard
// input when it is a pipe or file (no prompt, no banner, stop at the first error).
import Foundation
import Glibc
import TLLang

public enum ReplMain {
    /// Runs until Ctrl-D / end of input and returns the process exit status: 0 normally, 1 when
    /// piped input hit an error. Sets `session.output` to a `TerminalOutput` unless it already
    /// is one.
    public static func run(session: Session, environment: [String: String]) -> Int32 {
        setlocale(LC_ALL, "")  // libedit decodes and draws UTF-8 only under a UTF-8 locale
        let output = (session.output as? TerminalOutput) ?? TerminalOutput(environment: environment)
        session.output = output
        return withExtendedLifetime(output) {
            if TerminalIO.isTerminal(0), let repl = InteractiveRepl(session: session, output: output, environment: environment) {
                return repl.run()
            }
            return PipedInput.run(session: session, output: output)
        }
    }
}
