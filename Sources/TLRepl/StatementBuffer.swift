// Gathers input lines into whole statements with the language's one completeness rule, so the
// interactive prompt, piped input and the Jupyter kernel agree on when to run.
import TLLang

struct StatementBuffer {
    enum Step: Equatable {
        /// Ask for another line; `indent` is what the language suggests (Jupyter pre-fills it).
        case needMore(indent: String)
        /// Run this (possibly invalid, to show the error; never just whitespace).
        case ready(String)
        /// Nothing to run (a blank line at the start).
        case nothing
    }

    private(set) var text = ""
    /// Lines held so far (for turning statement-relative error lines into input lines).
    private(set) var lineCount = 0
    var isEmpty: Bool { lineCount == 0 }

    mutating func add(_ line: String, isComplete: (String) -> Completeness) -> Step {
        if isEmpty && line.allSatisfy(\.isWhitespace) { return .nothing }
        text = isEmpty ? line : text + "\n" + line
        lineCount += 1
        switch isComplete(text) {
        case .incomplete(let indent): return .needMore(indent: indent)
        case .complete, .invalid:
            let statement = text
            reset()
            return statement.allSatisfy(\.isWhitespace) ? .nothing : .ready(statement)
        }
    }

    mutating func reset() {
        text = ""
        lineCount = 0
    }
}
