import Foundation
import Synchronization

/// The protocol logic shared by the shell and control threads. Shell-only state (execution count,
/// history) is touched only by the shell thread; the flags the control thread reads are atomics.
final class KernelCore: @unchecked Sendable {
    let backend: KernelBackend
    let factory: MessageFactory
    let signer: MessageSigner
    let iopub: IOPubChannel
    /// Messages larger than this (all frames together, bytes) are dropped with a log line.
    let maxMessageBytes: Int
    /// After an execute error with stop_on_error, requests arriving within this window are treated as
    /// "already queued" and execute_requests among them are aborted.
    let abortWindow: TimeInterval = 0.02

    private let stopRequested = Atomic<Bool>(false)
    private let executing = Atomic<Bool>(false)
    /// True once a shutdown_request has been handled; every loop checks it at least every 100 ms.
    var isStopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }
    /// Set when shutdown is requested, so the process can exit even if a backend ignores interrupt().
    var onShutdownRequested: (@Sendable () -> Void)?

    // Shell thread only.
    private var executionCount = 0
    private var history = KernelHistory()

    init(backend: KernelBackend, factory: MessageFactory, signer: MessageSigner, iopub: IOPubChannel,
         maxMessageBytes: Int) {
        self.backend = backend; self.factory = factory; self.signer = signer; self.iopub = iopub
        self.maxMessageBytes = maxMessageBytes
    }

    // MARK: Receiving

    /// Next valid request waiting on `socket`, or nil. Oversized, malformed and badly signed messages are
    /// consumed, logged and skipped — bad input never stops the kernel.
    func receiveRequest(from socket: ZMQSocket) -> WireMessage? {
        guard let received = socket.receive(maxBytes: maxMessageBytes) else { return nil }
        switch received {
        case let .oversized(bytes):
            KernelLog.warning("dropped a message on \(socket.name): "
                + KernelError.messageTooLarge(bytes: bytes, limit: maxMessageBytes).description)
            return nil
        case let .frames(frames):
            do {
                let message = try WireCodec.decode(frames: frames, signer: signer)
                KernelLog.debug("\(socket.name) <- \(message.msgType) \(message.msgID)")
                return message
            } catch KernelError.badSignature {
                KernelLog.warning("dropped a message on \(socket.name) with an invalid signature")
            } catch {
                KernelLog.warning("ignored a message on \(socket.name): \(error)")
            }
            return nil
        }
    }

    func reply(to request: WireMessage, content: JSONValue, on socket: ZMQSocket) {
        let type = request.msgType.hasSuffix("_request")
            ? String(request.msgType.dropLast("_request".count)) + "_reply" : request.msgType + "_reply"
        let message = factory.message(type: type, content: content, parent: request.header,
                                      identities: request.identities)
        socket.send(WireCodec.encode(message, signer: signer))
        KernelLog.debug("\(socket.name) -> \(type)")
    }

    // MARK: Shell

    /// Handles one shell request between busy and idle. Returns requests that were drained from the queue
    /// after an error with stop_on_error; the caller aborts the execute_requests among them.
    func handleShell(_ request: WireMessage, socket: ZMQSocket) -> [WireMessage] {
        iopub.status("busy", parent: request.header)
        var drained: [WireMessage] = []
        let content = request.content
        switch request.msgType {
        case "kernel_info_request":
            reply(to: request, content: kernelInfo(), on: socket)
        case "execute_request":
            drained = execute(request, socket: socket)
        case "complete_request":
            let code = content["code"].stringValue ?? ""
            let cursor = clampedCursor(content["cursor_pos"], in: code)
            let result = backend.complete(code: code, cursor: cursor)
            reply(to: request, content: ["status": "ok", "matches": .array(result.matches.map { .string($0) }),
                                         "cursor_start": .int(result.cursorStart), "cursor_end": .int(result.cursorEnd),
                                         "metadata": .object(result.metadata)], on: socket)
        case "inspect_request":
            let code = content["code"].stringValue ?? ""
            let cursor = clampedCursor(content["cursor_pos"], in: code)
            let bundle = backend.inspect(code: code, cursor: cursor, detailLevel: content["detail_level"].intValue ?? 0)
            reply(to: request, content: ["status": "ok", "found": .bool(bundle != nil),
                                         "data": bundle?.dataJSON ?? [:], "metadata": bundle?.metadataJSON ?? [:]],
                  on: socket)
        case "is_complete_request":
            reply(to: request, content: isCompleteContent(backend.isComplete(code: content["code"].stringValue ?? "")),
                  on: socket)
        case "history_request":
            reply(to: request, content: history.reply(to: content), on: socket)
        case "comm_info_request":
            reply(to: request, content: ["status": "ok", "comms": [:]], on: socket)
        case "comm_open":
            // No comm targets exist; the spec says to answer an unknown target with comm_close.
            iopub.publish(type: "comm_close", content: ["comm_id": content["comm_id"], "data": [:]],
                          parent: request.header)
        case "comm_msg", "comm_close":
            KernelLog.debug("ignored \(request.msgType): this kernel has no comms")
        case "shutdown_request":
            // Deprecated on shell since 5.4, still accepted.
            reply(to: request, content: ["status": "ok", "restart": .bool(content["restart"].boolValue ?? false)],
                  on: socket)
            iopub.status("idle", parent: request.header)
            requestShutdown()
            return []
        default:
            KernelLog.warning("unknown message type \"\(request.msgType)\" on shell; no reply sent")
        }
        iopub.status("idle", parent: request.header)
        return drained
    }

    /// Answers an execute_request queued before an error, without running it.
    func abort(_ request: WireMessage, socket: ZMQSocket) {
        iopub.status("busy", parent: request.header)
        reply(to: request, content: ["status": "aborted"], on: socket)
        iopub.status("idle", parent: request.header)
    }

    private func execute(_ request: WireMessage, socket: ZMQSocket) -> [WireMessage] {
        let content = request.content
        let code = content["code"].stringValue ?? ""
        let silent = content["silent"].boolValue ?? false
        let storeHistory = !silent && (content["store_history"].boolValue ?? true)
        let stopOnError = content["stop_on_error"].boolValue ?? true
        let isBlank = code.allSatisfy(\.isWhitespace)

        if storeHistory && !isBlank { executionCount += 1 }
        let count = executionCount
        if !silent {
            iopub.publish(type: "execute_input", content: ["code": .string(code), "execution_count": .int(count)],
                          parent: request.header)
        }

        let output = ExecutionOutput(iopub: iopub, parent: request.header, silent: silent)
        let result: ExecutionResult
        if isBlank {
            result = .ok(result: nil)
        } else {
            executing.store(true, ordering: .sequentiallyConsistent)
            result = backend.execute(code: code, output: output)
            executing.store(false, ordering: .sequentiallyConsistent)
        }

        var drained: [WireMessage] = []
        switch result {
        case let .ok(bundle):
            if let bundle, !silent {
                iopub.publish(type: "execute_result",
                              content: ["execution_count": .int(count), "data": bundle.dataJSON,
                                        "metadata": bundle.metadataJSON],
                              parent: request.header)
            }
            iopub.flushStreams()
            if storeHistory && !isBlank {
                history.record(line: count, input: code, output: bundle?.data["text/plain"]?.stringValue)
            }
            reply(to: request, content: ["status": "ok", "execution_count": .int(count),
                                         "payload": .array(output.payloads), "user_expressions": [:]], on: socket)
        case let .error(ename, evalue, traceback):
            let errorContent: [String: JSONValue] = ["ename": .string(ename), "evalue": .string(evalue),
                                                     "traceback": .array(traceback.map { .string($0) })]
            if !silent { iopub.publish(type: "error", content: .object(errorContent), parent: request.header) }
            iopub.flushStreams()
            if storeHistory { history.record(line: count, input: code, output: nil) }
            if stopOnError { drained = drainQueued(socket) }
            var replyContent = errorContent
            replyContent["status"] = "error"
            replyContent["execution_count"] = .int(count)
            replyContent["payload"] = .array(output.payloads)
            replyContent["user_expressions"] = [:]
            reply(to: request, content: .object(replyContent), on: socket)
        }
        return drained
    }

    /// Reads every request already waiting on the shell socket (and any arriving within `abortWindow`).
    private func drainQueued(_ socket: ZMQSocket) -> [WireMessage] {
        var drained: [WireMessage] = []
        let deadline = Date().addingTimeInterval(abortWindow)
        while true {
            if let request = receiveRequest(from: socket) { drained.append(request); continue }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { break }
            _ = ZMQSocket.pollReadable([socket], timeoutMilliseconds: max(1, Int(remaining * 1000)))
        }
        return drained
    }

    private func clampedCursor(_ value: JSONValue, in code: String) -> Int {
        let length = code.unicodeScalars.count
        return min(max(value.intValue ?? length, 0), length)
    }

    private func isCompleteContent(_ result: IsCompleteResult) -> JSONValue {
        switch result {
        case .complete: return ["status": "complete"]
        case let .incomplete(indent): return ["status": "incomplete", "indent": .string(indent)]
        case .invalid: return ["status": "invalid"]
        case .unknown: return ["status": "unknown"]
        }
    }

    func kernelInfo() -> JSONValue {
        let info = backend.languageInfo
        return [
            "status": "ok",
            "protocol_version": .string(MessageFactory.protocolVersion),
            "implementation": "tlsh",
            "implementation_version": .string(info.version),
            "language_info": [
                "name": .string(info.name), "version": .string(info.version), "mimetype": .string(info.mimetype),
                "file_extension": .string(info.fileExtension), "pygments_lexer": .string(info.pygmentsLexer),
                "codemirror_mode": .string(info.codemirrorMode), "nbconvert_exporter": "script",
            ],
            "banner": .string(backend.banner),
            "help_links": .array(backend.helpLinks.map { ["text": .string($0.text), "url": .string($0.url)] }),
            "supported_features": [],
            "debugger": false,
        ]
    }

    // MARK: Control

    /// Handles one control request between busy and idle. Runs on the control thread, concurrently with
    /// an execution on the shell thread, so it only touches the backend through `interrupt()`.
    func handleControl(_ request: WireMessage, socket: ZMQSocket) {
        iopub.status("busy", parent: request.header)
        switch request.msgType {
        case "kernel_info_request":
            reply(to: request, content: kernelInfo(), on: socket)
        case "interrupt_request":
            interruptExecution(reason: "interrupt_request")
            reply(to: request, content: ["status": "ok"], on: socket)
        case "shutdown_request":
            reply(to: request, content: ["status": "ok", "restart": .bool(request.content["restart"].boolValue ?? false)],
                  on: socket)
            iopub.status("idle", parent: request.header)
            requestShutdown()
            return
        default:
            KernelLog.warning("unknown message type \"\(request.msgType)\" on control; no reply sent")
        }
        iopub.status("idle", parent: request.header)
    }

    /// Interrupts the running execution, if any; an interrupt while idle is ignored (the kernel survives).
    func interruptExecution(reason: String) {
        if executing.load(ordering: .sequentiallyConsistent) {
            KernelLog.info("interrupting the running execution (\(reason))")
            backend.interrupt()
        } else {
            KernelLog.debug("\(reason) while idle: nothing to interrupt")
        }
    }

    func requestShutdown() {
        KernelLog.info("shutdown requested")
        stopRequested.store(true, ordering: .sequentiallyConsistent)
        if executing.load(ordering: .sequentiallyConsistent) { backend.interrupt() }
        onShutdownRequested?()
    }
}
