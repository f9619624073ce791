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

private func replSignalHandler(_ signal: Int32) {
    let savedErrno = errno
    if signal == SIGHUP { hangupReceived.store(true, ordering: .relaxed) }
    let fd = currentPhase.load(ordering: .relaxed) == ReplPhase.running.rawValue ? runPipeWriteEnd : promptPipeWriteEnd
    var byte = UInt8(truncatingIfNeeded: signal)
    if fd >= 0 { _ = write(fd, &byte, 1) }
    errno = savedErrno
}

final class SignalBridge: @unchecked Sendable {
    /// Read by the line editor at the prompt.
    let promptPipe: (read: Int32, write: Int32)
    private let runPipe: (read: Int32, write: Int32)

    /// Creates the pipes, starts the watcher for `session` and installs handlers for SIGINT and
    /// SIGHUP. Nil when the pipes cannot be made (Ctrl-C then keeps its default meaning).
    init?(session: Session) {
        guard let prompt = Self.makePipe(), let run = Self.makePipe() else { return nil }
        promptPipe = prompt
        runPipe = run
        promptPipeWriteEnd = prompt.write
        runPipeWriteEnd = run.write
        _ = currentPhase.load(ordering: .relaxed)  // initialise the globals before any signal
        _ = hangupReceived.load(ordering: .relaxed)
        let watched = run.read
        let thread = Thread { [session] in Self.watch(fd: watched, session: session) }
        thread.name = "tlsh-interrupt"
        thread.start()
        for signal in [SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = replSignalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: a blocked poll() returns EINTR at once
            sigaction(signal, &action, nil)
        }
    }

    var phase: ReplPhase {
        get { ReplPhase(rawValue: currentPhase.load(ordering: .relaxed)) ?? .prompt }
        set { currentPhase.store(newValue.rawValue, ordering: .relaxed) }
    }

    /// The terminal hung up (SIGHUP): finish the statement and leave.
    var hungUp: Bool { hangupReceived.load(ordering: .relaxed) }

    /// Forgets Ctrl-C presses that landed in the prompt pipe (pressed while a statement was
    /// starting); called before each prompt so one stale press does not eat the next line.
    func discardPendingPromptInterrupts() { Self.drain(promptPipe.read) }

    /// Drains `fd`; true when anything was there.
    @discardableResult
    static func drain(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        var any = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { any = true; continue }
            if n < 0 && errno == EINTR { continue }
            return any
        }
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
            if ready > 0, drain(fd) { session.interrupt() }
        }
    }
}
