// Ctrl-C (SIGINT) for scripts, `-c` and piped input: the first one interrupts the running
// statement like the REPL's (the session stops at its next check, between statements at the
// latest, and tlsh exits 130); a second one ends tlsh at once (the handler resets itself).
// The handler is installed even when SIGINT was inherited as ignored: a non-interactive shell
// ignores it for `tlsh script.tl &`, and `kill -INT` must still stop a long script.
import Foundation
import Glibc
import TLLang

nonisolated(unsafe) private var scriptInterruptPipeWriteEnd: Int32 = -1

private func scriptSignalHandler(_ signal: Int32) {
    let savedErrno = errno
    defer { errno = savedErrno }
    var byte = UInt8(truncatingIfNeeded: signal)
    if scriptInterruptPipeWriteEnd >= 0 { _ = write(scriptInterruptPipeWriteEnd, &byte, 1) }
}

enum ScriptInterrupt {
    /// Sessions already watched (one watcher thread each; installing twice is harmless).
    nonisolated(unsafe) private static var watched: [ObjectIdentifier] = []
    private static let lock = NSLock()

    /// Routes SIGINT to `session.interrupt()` until tlsh exits.
    static func install(session: Session) {
        lock.lock()
        defer { lock.unlock() }
        let id = ObjectIdentifier(session)
        guard !watched.contains(id) else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }  // no pipe: SIGINT keeps its inherited meaning
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        watched.append(id)
        scriptInterruptPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        let thread = Thread { [weak session] in
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                session?.interrupt()
            }
        }
        thread.name = "tlsh-script-interrupt"
        thread.start()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = scriptSignalHandler
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART | Int32(bitPattern: 0x8000_0000)  // SA_RESETHAND: a second Ctrl-C ends tlsh
        sigaction(SIGINT, &action, nil)
    }
}
