// The interactive loop on a terminal: prompt, read a whole statement (continuation prompt while
// brackets or strings are open), run it, show the result, repeat. Ctrl-C at the prompt abandons
// the line; during a statement it interrupts it and every binding stays as it was. Ctrl-D on an
// empty prompt (or a closed terminal) leaves with status 0.
import Foundation
import TLLang

final class InteractiveRepl {
    private let session: Session
    private let output: TerminalOutput
    private let signals: SignalBridge?
    private let editor: LineEditor
    private let history: HistoryFile?

    init?(session: Session, output: TerminalOutput, environment: [String: String]) {
        self.session = session
        self.output = output
        signals = SignalBridge(session: session)
        history = HistoryFile.defaultPath(environment: environment).map { HistoryFile(path: $0) }
        let colors = output.configuration.pictureColors != .none
        guard let editor = LineEditor(interruptPipe: signals?.promptPipe.read ?? -1, colors: colors,
                                      historyLimit: HistoryFile.defaultLimit,
                                      completer: { [session] in session.completions(source: $0, cursor: $1) })
        else { return nil }
        self.editor = editor
        for entry in history?.entries ?? [] { editor.addHistory(entry) }
    }

    func run() -> Int32 {
        output.note("tlsh — type help for commands, Tab to complete, Ctrl-D to leave")
        if let problem = history?.problem { output.note("warning: \(problem)") }
        while signals?.hungUp != true {
            signals?.discardPendingPromptInterrupts()
            switch readStatement() {
            case .endOfInput:
                output.write("\n", toStandardError: false)
                return ScriptRunner.success
            case .interrupted:
                output.write("^C\n", toStandardError: false)
            case .line(let statement):
                remember(statement)
                runStatement(statement)
                // `exit`, `quit`, `exit()`, `\q`, `.quit`: the language reads them all as exit.
                if session.exitRequested { return ScriptRunner.success }
            }
        }
        return ScriptRunner.success
    }

    /// One whole statement, reading continuation lines while it is incomplete.
    private func readStatement() -> LineInput {
        var buffer = StatementBuffer()
        while true {
            editor.pendingSource = buffer.text
            editor.colors = output.pictureColors != .none  // after `set color=`
            // No pre-filled indent on `...>` lines: an empty line there must stay empty so that
            // Ctrl-D can drop the statement (indentation means nothing to the language).
            switch editor.readLine(continuation: !buffer.isEmpty) {
            case .interrupted: return .interrupted
            case .endOfInput:
                if buffer.isEmpty { return .endOfInput }
                // Ctrl-D inside an unfinished statement drops it and returns to the main prompt.
                output.write("\n", toStandardError: false)
                buffer.reset()
            case .line(let line):
                switch buffer.add(line, isComplete: session.isComplete) {
                case .nothing, .needMore: continue
                case .ready(let statement): return .line(statement)
                }
            }
        }
    }

    private func remember(_ statement: String) {
        editor.addHistory(statement)
        if let problem = history?.append(statement) { output.note("warning: \(problem)") }
    }

    private func runStatement(_ statement: String) {
        signals?.phase = .running
        defer { signals?.phase = .prompt }
        do {
            if let shown = try session.execute(statement) { output.display(shown) }
            output.finishProgress()
        } catch {
            output.finishProgress()
            if error.name == "Interrupted" {
                output.note("interrupted; every variable is as it was before this statement")
            } else {
                output.showError(error)
            }
        }
    }
}
