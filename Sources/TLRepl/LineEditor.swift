// libedit (histedit.h) behind a small Swift face: prompts, history, Tab completion and a
// character reader that also watches the Ctrl-C pipe. libedit calls back through C function
// pointers that cannot capture, so the one live editor is reached through `activeEditor`.
import Foundation
import Glibc
internal import CEdit
import TLLang

/// What one prompt produced.
enum LineInput: Equatable {
    case line(String)
    /// Ctrl-C: the line (and any pending continuation lines) is abandoned.
    case interrupted
    /// Ctrl-D on an empty line, or the terminal went away.
    case endOfInput
}

nonisolated(unsafe) private var activeEditor: LineEditor?

final class LineEditor {
    private let editLine: OpaquePointer
    private let history: OpaquePointer
    private let interruptPipe: Int32
    /// Finds completions: (source, cursor in scalars) → result in scalars.
    private let completer: (String, Int) -> CompletionResult
    /// Lines already entered for the statement being typed (for completion context).
    var pendingSource = ""
    private var interrupted = false
    /// The prompts, plain and in colour; `colors` picks (`set color=` may change it between lines).
    private let plainPrompts: (primary: UnsafeMutablePointer<CChar>, continuation: UnsafeMutablePointer<CChar>)
    private let colorPrompts: (primary: UnsafeMutablePointer<CChar>, continuation: UnsafeMutablePointer<CChar>)
    /// Whether the prompt is drawn in colour.
    var colors: Bool
    private var showContinuation = false
    /// Keys to hand libedit before reading the terminal again (the redisplay sequence).
    private var queuedKeys: [Unicode.Scalar] = []
    /// A key sequence no terminal sends, bound to ed-redisplay.
    static let redisplayKey = "\u{1B}[9999~"

    /// - Parameters:
    ///   - interruptPipe: read end of the pipe the SIGINT handler writes to at the prompt.
    ///   - colors: whether the prompt may be coloured.
    init?(interruptPipe: Int32, colors: Bool, historyLimit: Int, completer: @escaping (String, Int) -> CompletionResult) {
        guard let el = tlsh_el_init("tlsh") else { return nil }
        guard let h = history_init() else { el_end(el); return nil }
        editLine = el
        history = h
        self.interruptPipe = interruptPipe
        self.completer = completer
        // \u{1} brackets the escape sequences so libedit does not count them as columns.
        func prompt(_ text: String, colored: Bool) -> UnsafeMutablePointer<CChar> {
            strdup(colored ? "\u{1}\u{1B}[1;32m\u{1}\(text)\u{1}\u{1B}[0m\u{1} " : "\(text) ")!
        }
        plainPrompts = (prompt("tlsh>", colored: false), prompt("...>", colored: false))
        colorPrompts = (prompt("tlsh>", colored: true), prompt("...>", colored: true))
        self.colors = colors

        tlsh_history_set_size(h, Int32(historyLimit))
        tlsh_history_set_unique(h, 1)
        tlsh_el_set_history(el, h)
        tlsh_el_set_editor(el, "emacs")
        // libedit's own signal handlers stay off: they call into the editor from the handler
        // (a crash when a hang-up's SIGCONT lands after el_end) and re-raise to the whole
        // process group. SignalBridge asks for resizes and redraws through the pipe instead.
        tlsh_el_set_signal(el, 0)
        tlsh_el_set_prompt(el, { _ in activeEditor?.currentPrompt }, 1)
        tlsh_el_set_getc(el, { _, out in activeEditor?.readCharacter(into: out) ?? 0 })
        tlsh_el_add_function(el, "tlsh-complete", "complete verbs, options, variables and hook names",
                             { _, _ in activeEditor?.completeAtCursor() ?? UInt8(CC_ERROR) })
        tlsh_el_bind(el, "^I", "tlsh-complete")
        tlsh_el_bind(el, "^R", "em-inc-search-prev")
        tlsh_el_bind(el, Self.redisplayKey, "ed-redisplay")
        el_source(el, nil)  // the user's ~/.editrc, if any, may rebind keys
        activeEditor = self
    }

    deinit {
        if activeEditor === self { activeEditor = nil }
        el_end(editLine)
        history_end(history)
        for p in [plainPrompts.primary, plainPrompts.continuation, colorPrompts.primary, colorPrompts.continuation] { free(p) }
    }

    /// Adds an entry to the in-memory history (up arrow, Ctrl-R).
    func addHistory(_ entry: String) { tlsh_history_enter(history, entry) }

    /// Shows the prompt (`...>` when `continuation`) and reads one line.
    func readLine(continuation: Bool) -> LineInput {
        showContinuation = continuation
        interrupted = false
        // libedit draws the prompt before it switches the terminal to character mode, and a
        // key pressed in between (Ctrl-D especially, which line mode turns into a bare
        // end-of-file) would be lost. Leaving line mode first closes that gap; libedit keeps
        // the real settings it saved at start-up and restores them when the line is done.
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var characterMode = saved
            characterMode.c_lflag &= ~tcflag_t(ICANON | ECHO)
            tcsetattr(0, TCSANOW, &characterMode)
        }
        defer { if haveTerminal { tcsetattr(0, TCSANOW, &saved) } }
        var count: Int32 = 0
        guard let raw = el_gets(editLine, &count) else {
            if interrupted { return .interrupted }
            return .endOfInput
        }
        var line = String(cString: raw)
        if line.hasSuffix("\n") { line.removeLast() }
        return .line(line)
    }

    // MARK: Callbacks

    fileprivate var currentPrompt: UnsafeMutablePointer<CChar> {
        let prompts = colors ? colorPrompts : plainPrompts
        return showContinuation ? prompts.continuation : prompts.primary
    }

    /// libedit's character reader: one Unicode scalar from standard input, or -1 when Ctrl-C
    /// arrived (the pipe became readable), or 0 at end of input. Resizes are handled here too,
    /// outside any signal handler.
    fileprivate func readCharacter(into out: UnsafeMutablePointer<wchar_t>?) -> Int32 {
        while true {
            if !queuedKeys.isEmpty {
                out?.pointee = wchar_t(bitPattern: queuedKeys.removeFirst().value)
                return 1
            }
            var fds = [pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: interruptPipe, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return 0
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                if SignalBridge.containsInterrupt(SignalBridge.drain(interruptPipe)) {
                    interrupted = true
                    return -1
                }
            }
            if SignalBridge.takeRedrawRequest() {
                // Measure the window again, then feed libedit the key bound to ed-redisplay so
                // it clears and redraws the line itself (a refresh from here would draw a second
                // copy after the first).
                el_resize(editLine)
                queuedKeys = Array(Self.redisplayKey.unicodeScalars)
            }
            guard fds[0].revents != 0 else { continue }
            switch UTF8Reader.readScalar(fd: 0) {
            case .scalar(let scalar):
                out?.pointee = wchar_t(bitPattern: scalar.value)
                return 1
            case .retry: continue
            case .end: return 0
            }
        }
    }

    /// Tab: replaces the word before the cursor with the single match or the matches' common
    /// prefix; when that adds nothing, lists the matches under the line.
    fileprivate func completeAtCursor() -> UInt8 {
        guard let info = el_line(editLine)?.pointee else { return UInt8(CC_ERROR) }
        let before = Self.text(from: info.buffer, to: info.cursor)
        let after = Self.text(from: info.cursor, to: info.lastchar)
        let prefix = pendingSource.isEmpty ? "" : pendingSource + "\n"
        let offset = prefix.unicodeScalars.count
        let cursor = offset + before.unicodeScalars.count
        let result = completer(prefix + before + after, cursor)
        guard !result.matches.isEmpty, result.start >= offset, result.end == cursor else { return UInt8(CC_REFRESH_BEEP) }
        let typedScalars = Array((prefix + before).unicodeScalars)[result.start..<cursor]
        let typed = String(String.UnicodeScalarView(typedScalars))
        // A unique match comes with what follows it (a space after a verb, `"]` after a hook
        // name in `cache["…`), so `pa` Tab then `resid_post` reads `patch resid_post`.
        let replacement = result.completedText(after: after) ?? CompletionList.commonPrefix(result.matches)
        if replacement != typed && replacement.unicodeScalars.count >= typedScalars.count {
            if !typedScalars.isEmpty { el_deletestr(editLine, Int32(typedScalars.count)) }
            el_insertstr(editLine, replacement)
            return UInt8(CC_REFRESH)
        }
        if result.matches.count == 1 { return UInt8(CC_REFRESH) }
        tlsh_flush_stdout()
        TerminalIO.writeAll("\n" + CompletionList.format(result.matches, width: TerminalIO.columns(1)), to: 1)
        return UInt8(CC_REDISPLAY)
    }

    private static func text(from start: UnsafePointer<CChar>?, to end: UnsafePointer<CChar>?) -> String {
        guard let start, let end, end > start else { return "" }
        let bytes = UnsafeRawBufferPointer(start: start, count: end - start)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Reads one UTF-8 encoded scalar from a descriptor, a byte at a time (libedit asks for one
/// character per call). Malformed input becomes U+FFFD rather than an error.
enum UTF8Reader {
    enum Outcome { case scalar(Unicode.Scalar), retry, end }

    static func readScalar(fd: Int32) -> Outcome {
        guard let first = readByte(fd) else { return errno == EAGAIN ? .retry : .end }
        let length: Int
        switch first {
        case 0x00...0x7F: return .scalar(Unicode.Scalar(first))
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return .scalar("\u{FFFD}")
        }
        var bytes = [first]
        while bytes.count < length {
            guard let next = readByte(fd), next & 0xC0 == 0x80 else { return .scalar("\u{FFFD}") }
            bytes.append(next)
        }
        return .scalar(String(decoding: bytes, as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}")
    }

    /// One byte; nil at end of input or on an error (errno says which).
    private static func readByte(_ fd: Int32) -> UInt8? {
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n == 1 { return byte }
            if n < 0 && errno == EINTR { continue }  // poll said a byte is there; a signal only delayed it
            if n == 0 { errno = 0 }
            return nil
        }
    }
}
