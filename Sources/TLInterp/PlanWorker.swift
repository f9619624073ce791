// A long-lived worker process that executes plans (the nnsight worker): requests go to its stdin
// as JSON lines, replies and status lines come from its stdout; its stderr goes to a log file
// whose tail explains a failed start or a crash. A worker that dies, answers garbage or is
// interrupted is terminated and reported; the caller starts a fresh one when it needs one.
import Foundation
import TLCore
#if canImport(Glibc)
import Glibc
#endif

public enum PlanWorkerError: Error, CustomStringConvertible, Equatable {
    /// The process could not start or died before answering hello (missing python, missing package).
    case failedToStart(String)
    /// The process exited or closed its output mid-conversation.
    case lost(String)
    /// A line that is not the protocol.
    case protocolError(String)
    /// The worker's own error reply: its kind (unknown_hook, missing_key, remote_error, ...) and message.
    case worker(kind: String, message: String)
    case cancelled

    public var description: String {
        switch self {
        case .failedToStart(let m): return "the nnsight worker did not start: \(m)"
        case .lost(let m): return "the nnsight worker stopped: \(m)"
        case .protocolError(let m): return "the nnsight worker sent something that is not its protocol: \(m)"
        case .worker(_, let m): return m
        case .cancelled: return "interrupted"
        }
    }
}

public final class PlanWorker: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()
    private var nextID = 1
    public let logFile: URL
    /// What hello answered (versions).
    public private(set) var hello: JSON = .object([])
    public var isRunning: Bool { process.isRunning }

    /// Starts `executable arguments` and waits (up to `startupTimeout` seconds) for its hello.
    public init(executable: URL, arguments: [String], environment: [String: String]? = nil, startupTimeout: Double = 300) throws {
        // A write to a worker that has died must be an error, not a SIGPIPE that ends tlsh.
        signal(SIGPIPE, SIG_IGN)
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-worker-\(getpid())-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logFile)
        do { try process.run() } catch {
            throw PlanWorkerError.failedToStart("cannot run \(executable.path): \(error.localizedDescription)")
        }
        do {
            hello = try call("hello", timeout: startupTimeout) ?? .object([])
        } catch let e as PlanWorkerError {
            terminate()
            switch e {
            case .lost(let m), .protocolError(let m): throw PlanWorkerError.failedToStart(m)
            default: throw e
            }
        }
    }

    deinit { terminate() }

    /// The last lines the worker wrote to stderr (a traceback, an import error).
    public func logTail(lines: Int = 6) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Sends one request and waits for its reply; `status` receives (status, message) lines that
    /// arrive first. Returns the reply's result; throws the worker's error reply as `.worker`.
    @discardableResult
    public func call(_ op: String, _ fields: KeyValuePairs<String, JSON> = [:], timeout: Double? = nil,
                     status: ((String, String) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) throws -> JSON? {
        let id = nextID
        nextID += 1
        let request = JSON.object([("op", .string(op)), ("id", .integer(id))] + fields.map { (key: $0.key, value: $0.value) })
        try send(try PlanWire.line(request))
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            let line = try readLine(deadline: deadline, isCancelled: isCancelled)
            guard let obj = try? JSON.parse(line), obj.members != nil else {
                terminate()
                throw PlanWorkerError.protocolError(String(decoding: line.prefix(200), as: UTF8.self))
            }
            if let s = obj["status"]?.string {
                status?(s, obj["message"]?.string ?? "")
                continue
            }
            guard obj["id"]?.wholeNumber == id else {
                terminate()
                throw PlanWorkerError.protocolError("a reply to request \(obj["id"]?.compactText ?? "null") while waiting for \(id)")
            }
            if obj["ok"]?.bool == true { return obj["result"] }
            throw PlanWorkerError.worker(kind: obj["kind"]?.string ?? "internal", message: obj["error"]?.string ?? "the worker failed without a message")
        }
    }

    /// Asks the worker to leave, then makes sure it has.
    public func shutdown() {
        if process.isRunning { _ = try? call("shutdown", timeout: 5) }
        terminate()
    }

    public func terminate() {
        if process.isRunning {
            process.terminate()
            // SIGTERM first (Python exits at once); a process that ignores it gets SIGKILL.
            if !waitForExit(seconds: 2) { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? input.fileHandleForWriting.close()
    }

    /// Waits up to `seconds` for the process to be gone; whether it is.
    @discardableResult
    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return !process.isRunning
    }

    private func send(_ data: Data) throws {
        guard process.isRunning else { throw PlanWorkerError.lost(exitSummary()) }
        let fd = input.fileHandleForWriting.fileDescriptor
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PlanWorkerError.lost(exitSummary())
                }
                offset += n
            }
        }
    }

    /// One line of stdout, polling every 100 ms so an interrupt or a deadline can end the wait.
    private func readLine(deadline: Date?, isCancelled: (() -> Bool)?) throws -> Data {
        let fd = output.fileHandleForReading.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<nl]
                buffer.removeSubrange(buffer.startIndex...nl)
                if line.isEmpty { continue }
                return Data(line)
            }
            if isCancelled?() == true {
                terminate()  // the only way to stop a running trace; a remote job's client goes with it
                throw PlanWorkerError.cancelled
            }
            if let deadline, Date() > deadline {
                terminate()
                throw PlanWorkerError.lost("no reply within the time allowed; the worker was stopped")
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)
            if ready < 0 && errno != EINTR { throw PlanWorkerError.lost("cannot read its output (errno \(errno))") }
            guard ready > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            // End of output: the process is gone (or going).
            throw PlanWorkerError.lost(exitSummary())
        }
    }

    private func exitSummary() -> String {
        waitForExit(seconds: 2)  // its output closed or a write failed: it is exiting
        let how = process.isRunning ? "it closed its output" : "it exited with status \(process.terminationStatus)"
        let tail = logTail()
        return tail.isEmpty ? how : how + "; its last words:\n" + tail
    }
}
