// A child process on a pseudo-terminal, driven like a person at a keyboard: type text, wait for
// output, press Ctrl-C, resize the window, hang up.
import Foundation
import Glibc
import XCTest

final class PseudoTerminal {
    let pid: pid_t
    private var master: Int32
    private var bytes: [UInt8] = []
    /// Start of the output not yet matched by `expect`.
    private var mark = 0
    private var exitStatus: Int32?

    /// Everything the child wrote, decoded as UTF-8.
    var transcript: String { String(decoding: bytes, as: UTF8.self) }

    init(executable: String, arguments: [String] = [], environment: [String: String],
         columns: UInt16 = 100, rows: UInt16 = 30) throws {
        // posix_openpt/ptsname are not visible from Swift's Glibc; these are the Linux calls
        // under them (grantpt has nothing to do on devpts).
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430  // _IOW('T', 0x31, int), _IOR('T', 0x30, uint)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard master >= 0, ioctl(master, TIOCSPTLCK, &unlock) == 0, ioctl(master, TIOCGPTN, &number) == 0 else {
            throw PTYError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = "/dev/pts/\(number)"
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, master)
        // Opened after setsid, so the terminal becomes the child's controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc 2.26+), not exported to Swift
        posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGHUP, SIGWINCH, SIGPIPE, SIGTERM, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            Glibc.close(master)
            throw PTYError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    deinit { close(hangUp: true) }

    // MARK: Keyboard

    func type(_ text: String) {
        let data = Array(text.utf8)
        var offset = 0
        while offset < data.count, master >= 0 {
            let n = data.withUnsafeBytes { write(master, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Ctrl-C as a keystroke: the terminal turns it into SIGINT for the foreground job.
    func pressControlC() { type("\u{3}") }
    func pressControlD() { type("\u{4}") }
    func pressUpArrow() { type("\u{1B}[A") }

    /// A new window size, announced with SIGWINCH as a terminal emulator does.
    func resize(columns: UInt16, rows: UInt16) {
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        kill(pid, SIGWINCH)
    }

    // MARK: Screen

    /// Waits until the output since the last match contains `needle`; returns that output.
    @discardableResult
    func expect(_ needle: String, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let pending = String(decoding: bytes[mark...], as: UTF8.self)
            if let range = pending.range(of: needle) {
                mark += pending[..<range.upperBound].utf8.count
                return String(pending[..<range.upperBound])
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 || !pump(timeout: left) {
                let shown = pending.count > 2000 ? "…" + pending.suffix(2000) : pending
                XCTFail("waiting for \(needle.debugDescription) in vain; output since the last match: \(shown.debugDescription); \(threadStates())",
                        file: file, line: line)
                throw PTYError("no \(needle.debugDescription) in the output")
            }
        }
    }

    /// Waits until the latest output ends with `suffix` (the program is idle at a prompt);
    /// false after `timeout`.
    @discardableResult
    func waitUntilOutputEnds(with suffix: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !transcript.hasSuffix(suffix) {
            if deadline.timeIntervalSinceNow <= 0 || !pump(timeout: deadline.timeIntervalSinceNow) { return false }
        }
        mark = bytes.count
        return true
    }

    /// Reads whatever arrives for `seconds` and returns it (to check that something did not appear).
    func drain(for seconds: Double) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while deadline.timeIntervalSinceNow > 0, pump(timeout: deadline.timeIntervalSinceNow) {}
        let pending = String(decoding: bytes[mark...], as: UTF8.self)
        mark = bytes.count
        return pending
    }

    /// The exit status once the child ends (128 + signal when killed), or nil after `timeout`.
    func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while exitStatus == nil {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let signal = status & 0x7F
                exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
                break
            }
            if r < 0 || deadline.timeIntervalSinceNow <= 0 { break }
            if !pump(timeout: 0.05) { usleep(20_000) }
        }
        return exitStatus
    }

    /// Closes our side; with `hangUp` the child sees its terminal go away (SIGHUP).
    func close(hangUp: Bool) {
        if master >= 0 { Glibc.close(master); master = -1 }
        if exitStatus == nil, waitForExit(timeout: hangUp ? 10 : 0) == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    /// What each of the child's threads is doing (state, kernel wait channel, system call), to
    /// tell a hang from a lost keystroke when a test fails.
    func threadStates() -> String {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return "threads: " + tasks.sorted().map { task in
            let base = "/proc/\(pid)/task/\(task)/"
            func read(_ name: String) -> String {
                ((try? String(contentsOfFile: base + name, encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let state = read("stat").split(separator: " ").dropFirst(2).first.map(String.init) ?? "?"
            let syscall = read("syscall").split(separator: " ").first.map(String.init) ?? "?"
            return "\(task) \(state) \(read("wchan")) syscall \(syscall)"
        }.joined(separator: "; ")
    }

    /// Reads available output within `timeout`; false when nothing more can come.
    private func pump(timeout: Double) -> Bool {
        guard master >= 0 else { return false }
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(1, min(timeout, 0.2) * 1000)))
        if ready < 0 { return errno == EINTR }
        if ready == 0 { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        guard n > 0 else { return false }  // EIO: every copy of the terminal's other side is closed
        bytes += buffer[0..<n]
        return true
    }
}

struct PTYError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
