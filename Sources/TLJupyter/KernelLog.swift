#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Log lines go to stderr, which Jupyter copies into the server's log. `TLSH_KERNEL_LOG=debug` adds one
/// line per message; the default level reports only problems (dropped messages, failures).
enum KernelLog {
    private static let debugFlag = Atomic<Bool>(false)
    static var debugEnabled: Bool { debugFlag.load(ordering: .relaxed) }
    /// Set from `KernelSettings.debugLog` when the kernel starts.
    static func configure(debug: Bool) { debugFlag.store(debug, ordering: .relaxed) }

    static func warning(_ text: @autoclosure () -> String) { write("warning", text()) }
    /// A fatal problem, printed plainly (no prefix) because a person is reading it.
    static func error(_ text: String) {
        let line = text + "\n"
        line.utf8CString.withUnsafeBufferPointer { buffer in _ = Glibc.write(2, buffer.baseAddress, buffer.count - 1) }
    }
    static func info(_ text: @autoclosure () -> String) { write("info", text()) }
    static func debug(_ text: @autoclosure () -> String) {
        if debugEnabled { write("debug", text()) }
    }

    private static func write(_ level: String, _ text: String) {
        // One write(2) per line so lines from different threads never interleave mid-line.
        let line = "[tlsh kernel \(level)] \(text)\n"
        line.utf8CString.withUnsafeBufferPointer { buffer in
            _ = Glibc.write(2, buffer.baseAddress, buffer.count - 1)
        }
    }
}
