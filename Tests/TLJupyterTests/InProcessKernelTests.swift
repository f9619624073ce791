import Foundation
import XCTest
@testable import TLJupyter

/// Runs the whole kernel in this process over ipc and talks to it with Swift DEALER sockets: the sockets,
/// threads, control concurrency and shutdown path, without Python.
final class InProcessKernelTests: XCTestCase {
    private struct Client {
        let shell: ZMQSocket
        let control: ZMQSocket
        let signer: MessageSigner
        let factory = MessageFactory(session: "swift-test-client", username: "test")

        func send(_ type: String, _ content: JSONValue, on socket: ZMQSocket) -> String {
            let message = factory.message(type: type, content: content, parent: [:])
            socket.send(WireCodec.encode(message, signer: signer))
            return message.msgID
        }

        func receive(on socket: ZMQSocket, timeout: TimeInterval = 10) throws -> WireMessage {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if ZMQSocket.pollReadable([socket], timeoutMilliseconds: 50)[0],
                   case let .frames(frames)? = socket.receive(maxBytes: 1 << 24) {
                    return try WireCodec.decode(frames: frames, signer: signer)  // verifies the kernel's signature
                }
            }
            throw KernelError.malformedMessage("no reply within \(timeout) s")
        }
    }

    func testKernelInfoExecuteControlConcurrencyAndShutdown() throws {
        let directory = NSTemporaryDirectory() + "tlsh-kernel-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = "in-process-key"
        let info = try ConnectionInfo.parse(Array("""
            {"transport":"ipc","ip":"\(directory)/k","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,
             "hb_port":5,"key":"\(key)","signature_scheme":"hmac-sha256"}
            """.utf8))

        let exitCode = ExitCodeBox()
        let kernelThread = Thread {
            exitCode.set((try? KernelMain.run(connection: info, backend: EchoBackend())) ?? -1)
        }
        kernelThread.start()

        let context = try ZMQContext()
        let client = Client(shell: try ZMQSocket(context: context, kind: .dealer, name: "test-shell"),
                            control: try ZMQSocket(context: context, kind: .dealer, name: "test-control"),
                            signer: MessageSigner(key: Array(key.utf8)))
        defer {
            client.shell.close(); client.control.close(); context.terminate()
        }
        try client.shell.setLinger(milliseconds: 0)
        try client.control.setLinger(milliseconds: 0)
        try client.shell.connect(info.endpoint(port: info.shellPort))
        try client.control.connect(info.endpoint(port: info.controlPort))

        let infoID = client.send("kernel_info_request", [:], on: client.shell)
        let infoReply = try client.receive(on: client.shell)
        XCTAssertEqual(infoReply.msgType, "kernel_info_reply")
        XCTAssertEqual(infoReply.parentHeader["msg_id"].stringValue, infoID)
        XCTAssertEqual(infoReply.content["language_info"]["file_extension"], ".tl")
        XCTAssertEqual(infoReply.content["language_info"]["mimetype"], "text/x-tlsh")

        // A bad signature is dropped; the next good request is still answered.
        let forged = MessageSigner(key: Array("wrong".utf8))
        client.shell.send(WireCodec.encode(client.factory.message(type: "kernel_info_request", content: [:], parent: [:]),
                                           signer: forged))

        // kernel_info on control is answered while shell runs a long command.
        let sleepID = client.send("execute_request", ["code": "sleep 3", "silent": false], on: client.shell)
        Thread.sleep(forTimeInterval: 0.2)
        let started = Date()
        _ = client.send("kernel_info_request", [:], on: client.control)
        XCTAssertEqual(try client.receive(on: client.control).msgType, "kernel_info_reply")
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.5)

        // interrupt_request on control stops it: the execute reply is an error, quickly.
        _ = client.send("interrupt_request", [:], on: client.control)
        XCTAssertEqual(try client.receive(on: client.control).msgType, "interrupt_reply")
        let executeReply = try client.receive(on: client.shell, timeout: 2)
        XCTAssertEqual(executeReply.parentHeader["msg_id"].stringValue, sleepID)
        XCTAssertEqual(executeReply.content["status"], "error")
        XCTAssertEqual(executeReply.content["ename"], "Interrupted")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.0)

        _ = client.send("shutdown_request", ["restart": false], on: client.control)
        XCTAssertEqual(try client.receive(on: client.control).content["status"], "ok")
        let deadline = Date().addingTimeInterval(3)
        while exitCode.value == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(exitCode.value, 0)
    }
}

private final class ExitCodeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var code: Int32?
    var value: Int32? { lock.lock(); defer { lock.unlock() }; return code }
    func set(_ value: Int32) { lock.lock(); code = value; lock.unlock() }
}
