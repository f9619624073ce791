/// The language side of the kernel. The kernel owns the protocol; a backend only runs code and answers
/// questions about it, so the same kernel serves the echo test language and the real tlsh interpreter.
///
/// Threading: `execute`, `complete`, `inspect` and `isComplete` are called from the shell thread, one at a
/// time. `interrupt` is called from another thread (the control thread or the SIGINT watcher) while
/// `execute` runs; it should only set a flag that `execute` polls between operations.
public protocol KernelBackend: AnyObject, Sendable {
    var languageInfo: LanguageInfo { get }
    /// Shown by consoles at start-up (kernel_info_reply `banner`).
    var banner: String { get }
    /// Links for the notebook's Help menu (kernel_info_reply `help_links`).
    var helpLinks: [HelpLink] { get }
    /// Runs one cell. Output produced while running goes to `output`; the value of the cell, if any, is
    /// returned as the `.ok` bundle and published as execute_result.
    func execute(code: String, output: KernelOutput) -> ExecutionResult
    /// Completions at `cursor`, a position in Unicode code points (scalars) of `code`.
    func complete(code: String, cursor: Int) -> CompletionResult
    /// Documentation for the name at `cursor` (code points); `detailLevel` is 0 or 1. nil = not found.
    func inspect(code: String, cursor: Int, detailLevel: Int) -> MimeBundle?
    /// Whether `code` is ready to run (consoles use this to decide between running and a new line).
    func isComplete(code: String) -> IsCompleteResult
    /// Asks a running `execute` to stop soon. Called from another thread; must not block.
    func interrupt()
}

extension KernelBackend {
    public var helpLinks: [HelpLink] { [] }
}

/// Where the kernel sends output while code runs. Calls are made from the thread running `execute`.
public protocol KernelOutput: AnyObject {
    /// Text for stdout or stderr; batched and published as `stream` messages.
    func stream(_ name: StreamName, _ text: String)
    /// A rich output (display_data). With a `displayID` it can later be replaced by `updateDisplay`.
    func display(_ bundle: MimeBundle, displayID: String?)
    /// Replaces the output shown under `displayID` (update_display_data), e.g. a progress bar.
    func updateDisplay(_ bundle: MimeBundle, displayID: String)
    /// Clears the cell's output; with `wait`, the clear happens when the next output arrives.
    func clearOutput(wait: Bool)
    /// Text for the pager (help); sent as a `page` payload in the execute_reply.
    func page(_ bundle: MimeBundle)
}

public enum StreamName: String, Sendable { case stdout, stderr }

/// `language_info` of kernel_info_reply.
public struct LanguageInfo: Sendable, Equatable {
    public var name: String
    public var version: String
    public var mimetype: String
    /// With the leading dot, e.g. ".tl".
    public var fileExtension: String
    public var pygmentsLexer: String
    public var codemirrorMode: String

    public init(name: String, version: String, mimetype: String, fileExtension: String,
                pygmentsLexer: String, codemirrorMode: String) {
        self.name = name; self.version = version; self.mimetype = mimetype
        self.fileExtension = fileExtension; self.pygmentsLexer = pygmentsLexer; self.codemirrorMode = codemirrorMode
    }
}

public struct HelpLink: Sendable, Equatable {
    public var text: String
    public var url: String
    public init(text: String, url: String) { self.text = text; self.url = url }
}

/// Outcome of one `execute`.
public enum ExecutionResult: Sendable, Equatable {
    /// Success; `result` is the cell's value (published as execute_result), nil for statements.
    case ok(result: MimeBundle?)
    /// Failure; published as an iopub `error` and returned in the execute_reply.
    case error(ename: String, evalue: String, traceback: [String])
}

/// complete_reply: `matches` replace the code points `cursorStart..<cursorEnd` of the request's code.
public struct CompletionResult: Sendable, Equatable {
    public var matches: [String]
    public var cursorStart: Int
    public var cursorEnd: Int
    /// Optional extras, e.g. `_jupyter_types_experimental`.
    public var metadata: [String: JSONValue]

    public init(matches: [String], cursorStart: Int, cursorEnd: Int, metadata: [String: JSONValue] = [:]) {
        self.matches = matches; self.cursorStart = cursorStart; self.cursorEnd = cursorEnd; self.metadata = metadata
    }
}

/// is_complete_reply status; `indent` is what a console should put on the next line.
public enum IsCompleteResult: Sendable, Equatable {
    case complete
    case incomplete(indent: String)
    case invalid
    case unknown
}
