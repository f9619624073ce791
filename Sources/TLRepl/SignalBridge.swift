// Ctrl-C, hang-ups and the REPL. A signal handler may only do async-signal-safe things, so it
// writes one byte to a pipe and returns; ordinary code reads the pipe:
// - while a statement runs, a watcher thread reads the "run" pipe and calls session.interrupt()
//   (which takes a lock, so it must never run inside the handler);
// - at the prompt, libedit's character reader polls the "prompt" pipe beside standard input and
//   abandons the line.
// Which pipe gets the byte depends on the phase, an atomic the REPL sets around each statement.
import Foundation
import Glibc
import Synchronization
import TLLang

enum ReplPhase: Int {
    case prompt = 0
    case running = 1
}

/// Read and written by the signal handler: plain integers and atomics only.
nonisolated(unsafe) private var promptPipeWriteEnd: Int32 = -1
nonisolated(unsafe) private var runPipeWriteEnd: Int32 = -1
private let currentPhase = Atomic<Int>(ReplPhase.prompt.rawValue)
private let hangupReceived = Atomic<Bool>(false)
private let redrawRequested = Atomic<Bool>(false)

private func replSignalHandler(_ signal: Int32) {
    let savedErrno = errno
    defer { errno = savedErrno }
    let running = currentPhase.load(ordering: .relaxed) == ReplPhase.running.rawValue
    var byte = UInt8(truncatingIfNeeded: signal)
    switch signal {
    case SIGWINCH, SIGCONT:
        // A new window size, or back from Ctrl-Z: redraw the line being edited. While a
        // statement runs there is no line; the next prompt measures the window anyway.
        redrawRequested.store(true, ordering: .relaxed)
        if !running, promptPipeWriteEnd >= 0 { _ = write(promptPipeWriteEnd, &byte, 1) }
    default:
        if signal == SIGHUP { hangupReceived.store(true, ordering: .relaxed) }
        let fd = running ? runPipeWriteEnd : promptPipeWriteEnd
        if fd >= 0 { _ = write(fd, &byte, 1) }
    }
}

final class SignalBridge: @unchecked Sendable {
    /// Read by the line editor at the prompt.
    let promptPipe: (read: Int32, write: Int32)
    private let runPipe: (read: Int32, write: Int32)

    /// Creates the pipes, starts the watcher for `session` and installs handlers for SIGINT,
    /// SIGHUP, SIGWINCH and SIGCONT (libedit's own handlers are off: they run editor code inside
    /// the handler and re-raise to the whole process group). Nil when the pipes cannot be made (Ctrl-C then keeps its default meaning).
    init?(session: Session) {
        guard let prompt = Self.makePipe(), let run = Self.makePipe() else { return nil }
        promptPipe = prompt
        runPipe = run
        promptPipeWriteEnd = prompt.write
        runPipeWriteEnd = run.write
        _ = currentPhase.load(ordering: .relaxed)  // initialise the globals before any signal
        _ = hangupReceived.load(ordering: .relaxed)
        _ = redrawRequested.load(ordering: .relaxed)
        let watched = run.read
        let thread = Thread { [session] in Self.watch(fd: watched, session: session) }
        thread.name = "tlsh-interrupt"
        thread.start()
        for signal in [SIGINT, SIGHUP, SIGWINCH, SIGCONT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = replSignalHandler
            sigemptyset(&action.sa_mask)
            // Restart interrupted reads and writes inside statements; poll() at the prompt
            // returns EINTR regardless, and the pipe wakes it anyway.
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    var phase: ReplPhase {
        get { ReplPhase(rawValue: currentPhase.load(ordering: .relaxed)) ?? .prompt }
        set { currentPhase.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The terminal hung up (SIGHUP): finish the statement and leave.
    var hungUp: Bool { hangupReceived.load(ordering: .relaxed) }

    /// True once after a resize or a return from Ctrl-Z.
    static func takeRedrawRequest() -> Bool { redrawRequested.exchange(false, ordering: .relaxed) }

    /// Whether bytes drained from the prompt pipe include a Ctrl-C or hang-up (not just redraws).
    static func containsInterrupt(_ bytes: [UInt8]) -> Bool {
        bytes.contains { $0 != UInt8(SIGWINCH) && $0 != UInt8(SIGCONT) }
    }

    /// Forgets Ctrl-C presses that landed in the prompt pipe (pressed while a statement was
    /// starting); called before each prompt so one stale press does not eat the next line.
    func discardPendingPromptInterrupts() { _ = Self.drain(promptPipe.read) }

    /// Everything waiting in the non-blocking `fd` (one byte per signal, the signal's number).
    static func drain(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64)
        var bytes: [UInt8] = []
        while fd >= 0 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        return bytes
    }

    private static func makePipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (fds[0], fds[1])
    }

    private static func watch(fd: Int32, session: Session) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, -1)
            if ready < 0 && errno != EINTR { return }
            if ready > 0, !drain(fd).isEmpty { session.interrupt() }
        }
    }
}
