internal import CZMQ
#if canImport(Glibc)
import Glibc
#endif

/// A ZeroMQ context. Terminating it waits for every socket to be closed.
final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    init() throws {
        guard let handle = zmq_ctx_new() else { throw ZMQSocket.lastError("zmq_ctx_new") }
        self.handle = handle
    }

    func terminate() { _ = zmq_ctx_term(handle) }
}

/// One ZeroMQ socket. Not thread-safe (ZeroMQ sockets never are): each is owned by one thread, or, for
/// iopub, used only under a lock. That ownership is why this class is `@unchecked Sendable`.
final class ZMQSocket: @unchecked Sendable {
    enum Kind: Int32 {
        case pair = 0, pub = 1, sub = 2, req = 3, rep = 4, dealer = 5, router = 6, xpub = 9
    }

    /// A received multipart message, or a note that it was too large and was discarded.
    enum Received {
        case frames([[UInt8]])
        case oversized(bytes: Int)
    }

    let handle: UnsafeMutableRawPointer
    let name: String
    private var closed = false

    init(context: ZMQContext, kind: Kind, name: String) throws {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else {
            throw Self.lastError("zmq_socket(\(name))")
        }
        self.handle = handle
        self.name = name
    }

    deinit { close() }

    static func lastError(_ operation: String) -> KernelError {
        let reason = zmq_strerror(zmq_errno()).map { String(cString: $0) } ?? "error \(zmq_errno())"
        return .zmq(operation: operation, reason: reason)
    }

    func setOption(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw Self.lastError("setsockopt(\(name), \(option))")
        }
    }

    func setOption(_ option: Int32, int64 value: Int64) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw Self.lastError("setsockopt(\(name), \(option))")
        }
    }

    func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let status = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, bytes.count) }
        guard status == 0 else { throw Self.lastError("setsockopt(\(name), \(option))") }
    }

    /// Milliseconds to keep unsent messages after close (replies and the last idle must get out).
    func setLinger(milliseconds: Int32) throws { try setOption(ZMQ_LINGER, milliseconds) }
    func subscribe(_ topic: [UInt8]) throws { try setOption(ZMQ_SUBSCRIBE, bytes: topic) }
    func unsubscribe(_ topic: [UInt8]) throws { try setOption(ZMQ_UNSUBSCRIBE, bytes: topic) }
    /// XPUB: pass every (un)subscription up to the application and apply none until it says so.
    func enableManualSubscriptions() throws {
        try setOption(ZMQ_XPUB_VERBOSE, 1)
        try setOption(ZMQ_XPUB_MANUAL, 1)
    }
    func setIdentity(_ identity: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, bytes: identity) }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else {
            guard case let .zmq(operation, reason) = Self.lastError("bind(\(name) to \(endpoint))") else { return }
            throw KernelError.zmq(operation: operation, reason: reason
                + " (check that the connection file's ip is an address of this machine and the port is free)")
        }
    }

    func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw Self.lastError("connect(\(name) to \(endpoint))") }
    }

    /// Sends all frames as one multipart message. Returns false if ZeroMQ refused (e.g. context closing).
    @discardableResult
    func send(_ frames: [[UInt8]]) -> Bool {
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            var status: Int32
            repeat {
                status = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
            } while status < 0 && zmq_errno() == EINTR
            if status < 0 {
                KernelLog.warning("send on \(name) failed: \(Self.lastError("send").description)")
                return false
            }
        }
        return true
    }

    /// Receives one multipart message without blocking; nil when none is waiting. Messages whose frames add
    /// up to more than `maxBytes` are drained without being copied and reported as `.oversized`.
    func receive(maxBytes: Int) -> Received? {
        var frames: [[UInt8]] = []
        var total = 0
        var oversized = false
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            // Only the first frame may be "not there yet"; later frames of a multipart arrive atomically.
            let status = zmq_msg_recv(&message, handle, frames.isEmpty && total == 0 ? ZMQ_DONTWAIT : 0)
            if status < 0 {
                let error = zmq_errno()
                if error == EINTR && !(frames.isEmpty && total == 0) { continue }
                return nil
            }
            let size = zmq_msg_size(&message)
            total += size
            if total > maxBytes { oversized = true }
            if !oversized, let data = zmq_msg_data(&message) {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else if !oversized {
                frames.append([])
            }
            if zmq_msg_more(&message) == 0 { break }
        }
        return oversized ? .oversized(bytes: total) : .frames(frames)
    }

    /// Waits up to `timeoutMilliseconds` for any of `sockets` to be readable; returns which are.
    static func pollReadable(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let count = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
        // EINTR (a signal) or ETERM simply read as "nothing yet"; callers loop and check their stop flag.
        guard count > 0 else { return Array(repeating: false, count: sockets.count) }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }

    func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }
}
