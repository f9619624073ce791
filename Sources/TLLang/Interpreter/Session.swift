// A tlsh session: the current model, variable bindings, the last cache and settings. Both front
// ends (REPL and Jupyter kernel) drive one of these; statements run transactionally, so a failed
// or interrupted statement leaves every binding as it was.
import Foundation
import TLCore
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor

/// Where a session sends output while a statement runs.
public protocol SessionOutput: AnyObject {
    /// Text for standard output (`print`) or standard error (`warn`, warnings).
    func write(_ text: String, toStandardError: Bool)
    /// A value to show (tables, pictures) before the statement's own result.
    func display(_ display: Display)
    /// Progress of long work (`done` of `total` units), for a bar; `done == total` ends it.
    func progress(_ label: String, done: Int, total: Int)
    /// `set color=`: true forces colour, false turns it off, nil goes back to what the output
    /// detected. Outputs without colour ignore it.
    func useColor(_ enabled: Bool?)
    /// `clear`: clear the terminal (or a notebook cell's output). Outputs without a screen ignore it.
    func clearScreen()
}

extension SessionOutput {
    public func useColor(_ enabled: Bool?) {}
    public func clearScreen() {}
}

/// Settings changed with `set`.
public struct SessionSettings: Sendable {
    /// What the engine runs under for this session's statements (threads, matmul precision, memory
    /// budget): a value bound around each statement, never a process-wide switch, so two sessions
    /// in one process keep their own and a failed statement's rollback is a copy.
    public var engine = EngineContext.processDefault
    public var threads: Int {
        get { engine.threads }
        set { engine.threads = max(1, newValue) }
    }
    public var matmul: MatmulPrecision {
        get { engine.matmul }
        set { engine.matmul = newValue }
    }
    public var precision = 4
    public var seed = 0
    /// nil: colour where the output detected a colour terminal.
    public var color: Bool?
}

public final class Session: @unchecked Sendable {
    public internal(set) var variables: [String: Value] = [:]
    public internal(set) var current: LoadedModel?
    var lastCache: CacheValue?
    public var settings = SessionSettings()
    public weak var output: SessionOutput?
    let hub: Hub
    /// The interrupt flag a statement's long work polls: set by `interrupt()` from any thread,
    /// cleared when the next statement starts.
    let cancelFlag: AtomicFlag
    /// Statements executed so far (Jupyter's execution_count is the front end's business).
    public private(set) var history: [String] = []
    /// The last `execute` ran `exit` (or `quit`, `\q`, …): the statements after it did not run, and
    /// the front end should leave (the REPL and scripts do; a notebook kernel says how to stop it).
    public internal(set) var exitRequested = false
    /// Where model work runs (`backend`): the Swift engine, or an nnsight worker (Commands/Support/EngineBackend.swift).
    let backend: EngineBackend

    /// The environment variables this session was given (the front end reads the process's once
    /// and passes them in; library code never reads the process environment itself).
    public let environment: [String: String]

    public init(environment: [String: String], downloadProgress: (@Sendable (DownloadProgress) -> Void)? = nil) {
        self.environment = environment
        // Downloads poll the same flag, so Ctrl-C or a kernel interrupt stops `model NAME` mid-file.
        let flag = AtomicFlag()
        self.cancelFlag = flag
        self.backend = EngineBackend(environment: environment)
        self.hub = Hub(environment: environment, progress: downloadProgress, isCancelled: { flag.isSet })
    }

    // MARK: Cancellation

    /// Asks the running statement to stop at its next check (thread-safe; Ctrl-C, interrupt_request).
    public func interrupt() { cancelFlag.set(true) }
    var isCancelled: Bool { cancelFlag.isSet }
    var monitorCancel: () -> Bool { { [weak self] in self?.isCancelled ?? false } }

    func checkCancelled() throws { if isCancelled { throw TLLangError.cancelled } }

    // MARK: Running source

    /// Runs every statement of `source` in order, stopping at the first error. Returns the value
    /// of the last statement when it is a bare expression or command (the cell's result).
    @discardableResult
    public func execute(_ source: String) throws(ExecutionError) -> Display? {
        cancelFlag.set(false)
        exitRequested = false
        history.append(source)
        let statements: [Statement]
        do { statements = try Parser.parse(source) } catch {
            throw ExecutionError(name: "ParseError", message: error.message, rendered: error.render(source: source),
                                 line: error.range.start.line, column: error.range.start.column)
        }
        var result: Display?
        for (i, statement) in statements.enumerated() {
            // Transaction: keep what the statement may change, restore it on failure.
            let saved = (variables, current, lastCache, settings)
            do {
                // An interrupt that arrived between statements, or during one whose work does not
                // poll the flag (drawing a picture), stops the cell here: it is never lost.
                try checkCancelled()
                let shown = try settings.engine.run { try run(statement, source: source) }
                try checkCancelled()
                if let shown {
                    if i == statements.count - 1 { result = shown } else { output?.display(shown) }
                }
                if exitRequested { break }
            } catch {
                (variables, current, lastCache, settings) = saved
                output?.useColor(settings.color)
                throw render(error, statement: statement, source: source)
            }
        }
        return result
    }

    func render(_ error: Error, statement: Statement, source: String) -> ExecutionError {
        var range = statement.range
        var message = "\(error)"
        var hint: String?
        var name = "RuntimeError"
        switch error {
        case TLLangError.runtime(let m, let r, let h):
            message = m; hint = h
            if let r { range = r }
        case TLLangError.parse(let d):
            return ExecutionError(name: "ParseError", message: d.message, rendered: d.render(source: source),
                                  line: d.range.start.line, column: d.range.start.column)
        case TLLangError.cancelled, TLModelError.cancelled, TLInterpError.cancelled, TLHubError.cancelled:
            name = "Interrupted"
            message = "interrupted; every variable is as it was before this statement"
        default: break
        }
        let d = Diagnostic(range: range, message: message, suggestion: hint)
        return ExecutionError(name: name, message: message, rendered: d.render(source: source),
                              line: range.start.line, column: range.start.column)
    }

    /// Runs one statement; returns what it shows (nil for assignments and silent commands).
    func run(_ statement: Statement, source: String) throws -> Display? {
        switch statement.kind {
        case .assignment(let target, _, let body):
            let value: Value
            switch body {
            case .command(let c): value = try runCommand(c, source: source, assigning: true)
            case .expression(let e): value = try evaluate(e)
            }
            variables[target] = value
            if case .cache(let c) = value { lastCache = c }
            return nil
        case .command(let c):
            return try display(of: try runCommand(c, source: source, assigning: false))
        case .expression(let e):
            return try display(of: try evaluate(e))
        }
    }

    // MARK: Model access

    func requireModel() throws -> LoadedModel {
        if let current { return current }
        // The embedded default loads on first use, so every tutorial works with no `model` line.
        let m = try LoadedModel.load(name: nil, process: true, hub: hub)
        current = m
        // Said once: from here on the model is loaded. Without it a user never learns which model
        // answered (`model NAME` picks another).
        note("note: loaded the \(m.name), as no model was loaded; `model NAME` loads another")
        return m
    }

    func note(_ text: String) { output?.write(text + "\n", toStandardError: true) }

    func monitor(_ label: String) -> WorkMonitor {
        WorkMonitor(progress: { [weak self] done, total in self?.output?.progress(label, done: done, total: total) },
                    isCancelled: monitorCancel)
    }
}


