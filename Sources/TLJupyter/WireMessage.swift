import Foundation
import TLCore

/// One Jupyter message as it travels on a socket:
/// `[routing ids…] "<IDS|MSG>" signature header parent_header metadata content [buffers…]`.
struct WireMessage: Sendable {
    static let delimiter: [UInt8] = Array("<IDS|MSG>".utf8)

    var identities: [[UInt8]]
    var header: JSONValue
    var parentHeader: JSONValue
    var metadata: JSONValue
    var content: JSONValue
    var buffers: [[UInt8]] = []

    var msgType: String { header["msg_type"].stringValue ?? "" }
    var msgID: String { header["msg_id"].stringValue ?? "" }
}

/// Signs and verifies with HMAC-SHA256 over the four dict frames, as hex (the Jupyter `hmac-sha256` scheme).
struct MessageSigner: Sendable {
    let key: [UInt8]

    /// Lower-case hex digest, or "" when the key is empty (unsigned sessions).
    func signature<C: Collection>(_ parts: C) -> [UInt8] where C.Element == [UInt8] {
        guard !key.isEmpty else { return [] }
        var mac = HMACSHA256.Incremental(key: key)
        for part in parts { mac.update(part) }
        let hexDigits = Array("0123456789abcdef".utf8)
        return mac.finalize().flatMap { [hexDigits[Int($0 >> 4)], hexDigits[Int($0 & 0x0f)]] }
    }

    /// Checks a received signature against the raw received frames, in constant time.
    func verify<C: Collection>(signature received: [UInt8], parts: C) -> Bool where C.Element == [UInt8] {
        guard !key.isEmpty else { return true }
        // Accept upper-case hex too; lowering is done on every byte so timing does not depend on content.
        let lowered = received.map { ($0 >= 65 && $0 <= 70) ? $0 + 32 : $0 }
        return HMACSHA256.constantTimeEqual(lowered, signature(parts))
    }
}

enum WireCodec {
    /// Splits and checks a received multipart message. The signature is verified over the frames exactly
    /// as received, before any JSON parsing.
    static func decode(frames: [[UInt8]], signer: MessageSigner) throws -> WireMessage {
        guard let split = frames.firstIndex(of: WireMessage.delimiter) else {
            throw KernelError.malformedMessage("no <IDS|MSG> delimiter among \(frames.count) frames")
        }
        let body = frames[(split + 1)...]
        guard body.count >= 5 else {
            throw KernelError.malformedMessage("expected signature and 4 dict frames after <IDS|MSG>, got \(body.count)")
        }
        let signature = body[body.startIndex]
        let dicts = Array(body[(body.startIndex + 1)..<(body.startIndex + 5)])
        guard signer.verify(signature: signature, parts: dicts) else { throw KernelError.badSignature }

        let names = ["header", "parent_header", "metadata", "content"]
        var parsed: [JSONValue] = []
        for (name, frame) in zip(names, dicts) {
            guard let value = (try? JSONValue.decode(frame)) ?? decodeRepairingUTF8(frame, name: name) else {
                throw KernelError.malformedMessage("\(name) frame is not valid JSON")
            }
            guard value.objectValue != nil else {
                throw KernelError.malformedMessage("\(name) frame is not a JSON object")
            }
            parsed.append(value)
        }
        guard parsed[0]["msg_type"].stringValue?.isEmpty == false else {
            throw KernelError.malformedMessage("header has no msg_type")
        }
        return WireMessage(identities: Array(frames[..<split]), header: parsed[0], parentHeader: parsed[1],
                           metadata: parsed[2], content: parsed[3], buffers: Array(body.dropFirst(5)))
    }

    /// Invalid UTF-8 inside an otherwise valid (and correctly signed) message is replaced with U+FFFD rather
    /// than failing the request, so the client still gets a reply.
    private static func decodeRepairingUTF8(_ frame: [UInt8], name: String) -> JSONValue? {
        let repaired = Array(String(decoding: frame, as: UTF8.self).utf8)
        guard repaired != frame, let value = try? JSONValue.decode(repaired) else { return nil }
        KernelLog.warning("replaced invalid UTF-8 in the \(name) frame with U+FFFD")
        return value
    }

    /// Serializes and signs a message for sending; `identities` are routing ids (or the iopub topic).
    static func encode(_ message: WireMessage, signer: MessageSigner) -> [[UInt8]] {
        let dicts = [message.header.encoded(), message.parentHeader.encoded(),
                     message.metadata.encoded(), message.content.encoded()]
        return message.identities + [WireMessage.delimiter, signer.signature(dicts)] + dicts + message.buffers
    }
}

/// Builds headers for outgoing messages: a fresh msg_id, this process's session id, the date.
struct MessageFactory: Sendable {
    /// Protocol version in every header; ≥5.2 so cursor positions are code points, 5.5 for kernel_info on
    /// control and iopub_welcome.
    static let protocolVersion = "5.5"

    let session: String
    let username: String

    init(session: String = UUID().uuidString.lowercased(), username: String = "tlsh") {
        self.session = session; self.username = username
    }

    func header(type: String) -> JSONValue {
        ["msg_id": .string(UUID().uuidString.lowercased()), "session": .string(session),
         "username": .string(username), "date": .string(Self.isoDate()), "msg_type": .string(type),
         "version": .string(Self.protocolVersion)]
    }

    func message(type: String, content: JSONValue, parent: JSONValue, identities: [[UInt8]] = [],
                 metadata: JSONValue = [:]) -> WireMessage {
        WireMessage(identities: identities, header: header(type: type), parentHeader: parent,
                    metadata: metadata, content: content)
    }

    /// ISO-8601 UTC with microseconds, e.g. 2026-01-02T03:04:05.123456Z.
    static func isoDate(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let micros = Int(((seconds - Double(whole)) * 1_000_000).rounded(.down))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String { String(value).leftPadded(to: width) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(String(micros).leftPadded(to: 6))Z"
    }
}
