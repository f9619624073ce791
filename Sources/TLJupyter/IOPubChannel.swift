import Foundation

/// The iopub XPUB socket, shared by the shell thread (outputs, status), the control thread (status) and a
/// ticker thread (subscriptions, stream flushing). Every use of the socket happens under `lock`.
///
/// Subscriptions are applied manually (ZMQ_XPUB_MANUAL): when a client subscribes, the kernel applies the
/// subscription and immediately publishes `iopub_welcome`, so the welcome is the first message that client
/// can see — nothing is delivered to it before the subscription is applied.
final class IOPubChannel: @unchecked Sendable {
    /// Stream text waiting to be published; batched so a chatty loop sends a few messages, not thousands.
    private struct PendingStream {
        var name: StreamName
        var text: String
        var parent: JSONValue
        var since: Date
    }

    private let socket: ZMQSocket
    private let factory: MessageFactory
    private let signer: MessageSigner
    private let lock = NSLock()
    private var pending: PendingStream?
    /// Streams older than this are published by the ticker even if the command is still running.
    let streamFlushInterval: TimeInterval = 0.05
    /// A pending stream larger than this is published at once.
    let streamFlushBytes = 64 * 1024

    init(socket: ZMQSocket, factory: MessageFactory, signer: MessageSigner) {
        self.socket = socket; self.factory = factory; self.signer = signer
    }

    /// Publishes one message (after any pending stream text, to keep output in order).
    func publish(type: String, content: JSONValue, parent: JSONValue) {
        lock.lock(); defer { lock.unlock() }
        flushPendingLocked()
        sendLocked(type: type, content: content, parent: parent)
    }

    func status(_ state: String, parent: JSONValue) {
        publish(type: "status", content: ["execution_state": .string(state)], parent: parent)
    }

    /// Queues stream text; published within `streamFlushInterval`, or before the next other message.
    func stream(_ name: StreamName, _ text: String, parent: JSONValue) {
        guard !text.isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        if let current = pending, current.name != name || current.parent != parent { flushPendingLocked() }
        if pending == nil {
            pending = PendingStream(name: name, text: text, parent: parent, since: Date())
        } else {
            pending?.text += text
        }
        if let text = pending?.text, text.utf8.count >= streamFlushBytes { flushPendingLocked() }
    }

    /// Publishes pending stream text now (before a reply, so all output precedes it).
    func flushStreams() {
        lock.lock(); defer { lock.unlock() }
        flushPendingLocked()
    }

    /// Periodic work from the ticker thread: welcome new subscribers and flush old stream text.
    func tick() {
        lock.lock(); defer { lock.unlock() }
        while case let .frames(frames)? = socket.receive(maxBytes: 64 * 1024) {
            guard let event = frames.first, let kind = event.first else { continue }
            let topic = Array(event.dropFirst())
            if kind == 1 {
                do { try socket.subscribe(topic) } catch { KernelLog.warning("\(error)"); continue }
                let subscription = String(decoding: topic, as: UTF8.self)
                KernelLog.debug("iopub subscription \"\(subscription)\"")
                sendLocked(type: "iopub_welcome", content: ["subscription": .string(subscription)], parent: [:],
                           topic: topic.isEmpty ? nil : topic)
            } else if kind == 0 {
                try? socket.unsubscribe(topic)
            }
        }
        if let current = pending, Date().timeIntervalSince(current.since) >= streamFlushInterval {
            flushPendingLocked()
        }
    }

    private func flushPendingLocked() {
        guard let current = pending else { return }
        pending = nil
        sendLocked(type: "stream", content: ["name": .string(current.name.rawValue), "text": .string(current.text)],
                   parent: current.parent)
    }

    private func sendLocked(type: String, content: JSONValue, parent: JSONValue, topic: [UInt8]? = nil) {
        let topicFrame = topic ?? Array("kernel.\(factory.session).\(type)".utf8)
        let message = factory.message(type: type, content: content, parent: parent, identities: [topicFrame])
        socket.send(WireCodec.encode(message, signer: signer))
    }
}
