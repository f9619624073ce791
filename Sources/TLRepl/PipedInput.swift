// `echo 'x = 1; print x' | tlsh`: statements from a non-terminal standard input, read line by
// line with the same completeness rule as the prompt; no prompt, no banner, and the first error
// ends the run with status 1 and its `<stdin>:LINE:COL` location.
import TLLang

enum PipedInput {
    static func run(session: Session, output: TerminalOutput,
                    readLine: () -> String? = { Swift.readLine(strippingNewline: true) }) -> Int32 {
        session.output = output  // held weakly; the caller keeps `output` alive
        var buffer = StatementBuffer()
        var firstLine = 1       // input line where the buffered statement starts
        var lineNumber = 0
        ScriptInterrupt.install(session: session)
        func execute(_ statement: String) -> Int32 {
            // Leading newlines make the session's line numbers those of the input, so the
            // error's excerpt and location agree.
            let placed = String(repeating: "\n", count: firstLine - 1) + statement
            return ScriptRunner.execute(placed, origin: "<stdin>", line: firstLine, session: session, output: output)
        }
        while let line = readLine() {
            lineNumber += 1
            if buffer.isEmpty { firstLine = lineNumber }
            switch buffer.add(line, isComplete: session.isComplete) {
            case .needMore, .nothing: continue
            case .ready(let statement):
                let status = execute(statement)
                if status != ScriptRunner.success { return status }
                if session.exitRequested { return ScriptRunner.success }
            }
        }
        // Input ended inside an open bracket or string: run it so its error is shown.
        if !buffer.isEmpty { return execute(buffer.text) }
        return ScriptRunner.success
    }
}
