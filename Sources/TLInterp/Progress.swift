// How long-running analyses report progress and learn that the user wants them to stop.

/// Progress reporting and cancellation for one analysis; the front ends draw the bar.
public struct WorkMonitor: @unchecked Sendable {
    /// Called with (done, total) after each unit of work.
    public var progress: ((Int, Int) -> Void)?
    /// Polled between forward passes (and between layers inside them).
    public var isCancelled: (() -> Bool)?

    public init(progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) {
        self.progress = progress
        self.isCancelled = isCancelled
    }

    public static let none = WorkMonitor()

    func checkCancelled() throws {
        if let c = isCancelled, c() { throw TLInterpError.cancelled }
    }
}

public enum TLInterpError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    case cancelled

    public var description: String {
        switch self {
        case .invalidArgument(let m): return m
        case .cancelled: return "interrupted"
        }
    }
}
