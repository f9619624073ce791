import Foundation
import Synchronization
internal import CZMQ
#if canImport(Glibc)
import Glibc
#endif

/// Runs a Jupyter kernel until a shutdown_request arrives.
public enum KernelMain {
    /// Binds the five sockets named in the connection file and serves them: shell on the calling thread,
    /// control, heartbeat and iopub housekeeping each on their own thread. Returns the process exit code
    /// (0 after a clean shutdown). Throws `KernelError` if the file is invalid or a socket cannot bind.
    public static func run(connectionFile: String, backend: KernelBackend,
                           settings: KernelSettings = KernelSettings()) throws -> Int32 {
        let info = try ConnectionInfo.load(path: connectionFile)
        return try run(connection: info, backend: backend, settings: settings)
    }

    /// Same as `run(connectionFile:backend:)` with an already parsed connection.
    public static func run(connection info: ConnectionInfo, backend: KernelBackend,
                           settings: KernelSettings = KernelSettings()) throws -> Int32 {
        let context = try ZMQContext()
        let shell = try ZMQSocket(context: context, kind: .router, name: "shell")
        let control = try ZMQSocket(context: context, kind: .router, name: "control")
        let stdin = try ZMQSocket(context: context, kind: .router, name: "stdin")
        let iopubSocket = try ZMQSocket(context: context, kind: .xpub, name: "iopub")
        let heartbeat = try ZMQSocket(context: context, kind: .rep, name: "heartbeat")
        let sockets = [shell, control, stdin, iopubSocket, heartbeat]
        let maxMessageBytes = settings.maxMessageBytes
        do {
            for socket in [shell, control, stdin] {
                try socket.setOption(ZMQ_ROUTER_HANDOVER, 1)
                // Hard cap per frame (ZeroMQ disconnects the sender); the soft limit is checked per message.
                try socket.setOption(ZMQ_MAXMSGSIZE, int64: Int64(maxMessageBytes) * 2)
            }
            for socket in [shell, control, stdin, iopubSocket] { try socket.setLinger(milliseconds: 1000) }
            try heartbeat.setLinger(milliseconds: 0)
            try iopubSocket.enableManualSubscriptions()
            try shell.bind(info.endpoint(port: info.shellPort))
            try control.bind(info.endpoint(port: info.controlPort))
            try stdin.bind(info.endpoint(port: info.stdinPort))
            try iopubSocket.bind(info.endpoint(port: info.iopubPort))
            try heartbeat.bind(info.endpoint(port: info.hbPort))
        } catch {
            for socket in sockets { socket.close() }
            context.terminate()
            throw error
        }

        let factory = MessageFactory()
        let signer = MessageSigner(key: info.key)
        let iopub = IOPubChannel(socket: iopubSocket, factory: factory, signer: signer)
        let core = KernelCore(backend: backend, factory: factory, signer: signer, iopub: iopub,
                              maxMessageBytes: maxMessageBytes)
        let finished = AtomicFlag()
        // If the backend ignores interrupt() during a shutdown, exit anyway rather than hang the client.
        let exitWatchdog: @Sendable () -> Void = {
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 3)
                guard !finished.isSet else { return }
                KernelLog.warning("the running command did not stop within 3 s of shutdown; exiting")
                _exit(0)
            }
        }
        core.onShutdownRequested = exitWatchdog

        KernelLog.info("tlsh kernel listening on \(info.endpoint(port: info.shellPort)) (session \(factory.session), "
            + (info.key.isEmpty ? "unsigned)" : "signed)"))
        iopub.status("starting", parent: [:])
        InterruptSignal.install { [weak core] in core?.interruptExecution(reason: "SIGINT") }

        let controlDone = startThread("tlsh-kernel-control") {
            while !core.isStopping {
                guard ZMQSocket.pollReadable([control], timeoutMilliseconds: 100)[0] else { continue }
                while let request = core.receiveRequest(from: control) {
                    core.handleControl(request, socket: control)
                }
            }
        }
        let heartbeatDone = startThread("tlsh-kernel-heartbeat") {
            while !core.isStopping {
                guard ZMQSocket.pollReadable([heartbeat], timeoutMilliseconds: 100)[0] else { continue }
                switch heartbeat.receive(maxBytes: 1 << 20) {
                case let .frames(frames)?: heartbeat.send(frames)
                case .oversized?: heartbeat.send([[]])  // a REP socket must answer before it can receive again
                case nil: break
                }
            }
        }
        let tickerDone = startThread("tlsh-kernel-iopub") {
            while !core.isStopping {
                iopub.tick()
                usleep(10_000)
            }
        }

        runShellLoop(core: core, shell: shell, stdin: stdin)

        var allStopped = true
        for done in [controlDone, heartbeatDone, tickerDone] where done.wait(timeout: .now() + 2) == .timedOut {
            allStopped = false
        }
        iopub.flushStreams()
        if allStopped {
            for socket in sockets { socket.close() }
            context.terminate()  // waits (up to each socket's linger) for the last replies to leave
        }
        finished.set()
        KernelLog.info("tlsh kernel stopped")
        return 0
    }

    private static func runShellLoop(core: KernelCore, shell: ZMQSocket, stdin: ZMQSocket) {
        // Requests drained after an error with stop_on_error; `abort` marks those whose executes are skipped.
        var queue: [(request: WireMessage, abort: Bool)] = []
        while !core.isStopping {
            if queue.isEmpty {
                let ready = ZMQSocket.pollReadable([shell, stdin], timeoutMilliseconds: 100)
                if ready[1] {
                    while let message = core.receiveRequest(from: stdin) {
                        KernelLog.warning("ignored \(message.msgType) on stdin: no input_request is pending")
                    }
                }
                guard ready[0], let request = core.receiveRequest(from: shell) else { continue }
                queue.append((request, false))
            }
            let (request, abort) = queue.removeFirst()
            if abort && request.msgType == "execute_request" {
                core.abort(request, socket: shell)
            } else {
                let drained = core.handleShell(request, socket: shell)
                queue.append(contentsOf: drained.map { ($0, true) })
            }
        }
    }

    private static func startThread(_ name: String, _ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
        return done
    }

    /// A boolean shared between threads (Atomic itself cannot be captured by escaping closures).
    final class AtomicFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
    }
}
