// What the kernel's environment asks of it, read once by the executable (`tlsh kernel`) and passed
// in; nothing in this module reads the environment itself.

/// The kernel's settings: `TLSH_KERNEL_MAX_MESSAGE_BYTES` and `TLSH_KERNEL_LOG` (docs/ENVIRONMENT.md).
public struct KernelSettings: Sendable, Equatable {
    /// Largest message accepted on a socket; larger ones are dropped with a log line.
    public var maxMessageBytes = 64 << 20
    /// One log line per message (`TLSH_KERNEL_LOG=debug`).
    public var debugLog = false

    public init() {}

    public init(environment: [String: String]) {
        if let text = environment["TLSH_KERNEL_MAX_MESSAGE_BYTES"], let value = Int(text), value > 0 {
            maxMessageBytes = value
        }
        debugLog = environment["TLSH_KERNEL_LOG"]?.lowercased() == "debug"
    }
}
