// Raw writes to file descriptors and questions about terminals. Writes go straight to the
// descriptor (no stdio buffering) so output, errors, progress bars and libedit's own drawing
// appear in the order they were made.
import Glibc
internal import CEdit

enum TerminalIO {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Columns of the terminal on `fd`; `fallback` when it is not a terminal or reports 0.
    static func columns(_ fd: Int32, fallback: Int = 80) -> Int {
        let c = Int(tlsh_terminal_columns(fd))
        return c > 0 ? c : fallback
    }

    /// Writes all of `text`, retrying after signals and short writes; gives up silently on
    /// other errors (a closed terminal or pipe is not worth crashing for).
    static func writeAll(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
        bytes.removeAll()
    }
}
