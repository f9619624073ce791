import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT handling for `interrupt_mode: "signal"`. Jupyter sends SIGINT to the kernel's process group to
/// interrupt, and also right before a shutdown, so SIGINT must never kill the kernel. The handler only
/// writes a byte to a pipe (async-signal-safe); a watcher thread reads it and calls the callback.
/// A handler (rather than blocking SIGINT in every thread and sigwait) works no matter which threads
/// the runtime started before us.
enum InterruptSignal {
    nonisolated(unsafe) private static var writeDescriptor: Int32 = -1
    private static let callback = Mutex<(@Sendable () -> Void)?>(nil)
    private static let installed = Atomic<Bool>(false)

    /// Routes SIGINT to `onInterrupt` (called on the watcher thread). Safe to call more than once; the
    /// latest callback wins.
    static func install(onInterrupt: @escaping @Sendable () -> Void) {
        callback.withLock { $0 = onInterrupt }
        guard !installed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            KernelLog.warning("cannot create the SIGINT pipe; SIGINT will be ignored")
            signal(SIGINT, SIG_IGN)
            return
        }
        let readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
        // Never block the signal handler, even if the watcher is slow.
        _ = fcntl(writeDescriptor, F_SETFL, fcntl(writeDescriptor, F_GETFL) | O_NONBLOCK)
        signal(SIGINT) { _ in
            var byte: UInt8 = 1
            _ = write(InterruptSignal.writeDescriptor, &byte, 1)
        }
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let count = read(readDescriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                if let handler = callback.withLock({ $0 }) { handler() }
            }
        }
        thread.name = "tlsh-kernel-sigint"
        thread.start()
    }
}
