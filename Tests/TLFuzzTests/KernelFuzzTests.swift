// Fuzzes what the Jupyter kernel reads from its sockets: multipart wire frames (delimiter, HMAC signature,
// four JSON dicts, buffers), the JSON inside them, the connection file, and the request handlers that act
// on message content (completion and inspection cursors, history requests).
import Foundation
@testable import TLJupyter
import TLLang
import XCTest

final class KernelFuzzTests: XCTestCase {
    static let frameSeparator = Array("\u{0}@@FRAME@@\u{0}".utf8)
    static let key = Array("fuzz-key".utf8)

    static func requests() -> [(type: String, content: JSONValue)] {
        [("execute_request", ["code": "x = 1 + 2", "silent": false, "store_history": true, "stop_on_error": true]),
         ("complete_request", ["code": "patch resid_post la", "cursor_pos": 19]),
         ("inspect_request", ["code": "mean(x, over=pos)", "cursor_pos": 2, "detail_level": 1]),
         ("is_complete_request", ["code": "x = mean(\n"]),
         ("history_request", ["hist_access_type": "tail", "n": 5, "output": true]),
         ("history_request", ["hist_access_type": "range", "session": 0, "start": 1, "stop": 3]),
         ("history_request", ["hist_access_type": "search", "pattern": "x*", "unique": true, "n": 2]),
         ("kernel_info_request", [:]), ("comm_open", ["comm_id": "c1", "target_name": "t", "data": [:]]),
         ("shutdown_request", ["restart": false])]
    }

    /// A serialized input: flag byte ("S" = re-sign after mutation, so mutants get past the HMAC check
    /// and reach the JSON; anything else = check the signature as received), then frames joined by a separator.
    static let seeds: [[UInt8]] = {
        let signer = MessageSigner(key: key)
        let factory = MessageFactory(session: "fuzz-session", username: "fuzz")
        var seeds: [[UInt8]] = []
        for (index, request) in requests().enumerated() {
            let message = factory.message(type: request.type, content: request.content, parent: [:],
                                          identities: [Array("client-\(index)".utf8)])
            let frames = WireCodec.encode(message, signer: signer)
            let joined = frames.enumerated().flatMap { $0.offset == 0 ? $0.element : frameSeparator + $0.element }
            seeds.append(Array("S".utf8) + joined)
            if index < 3 { seeds.append(Array("V".utf8) + joined) }
        }
        return seeds
    }()

    static func frames(of input: [UInt8]) -> (resign: Bool, frames: [[UInt8]]) {
        guard let flag = input.first else { return (false, []) }
        var frames: [[UInt8]] = []
        var rest = input.dropFirst()
        while let range = rest.firstRange(of: frameSeparator) {
            frames.append(Array(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        frames.append(Array(rest))
        return (flag == UInt8(ascii: "S"), frames)
    }

    /// Re-signs frames in place when they have a delimiter and enough frames after it.
    static func resign(_ frames: inout [[UInt8]], signer: MessageSigner) {
        guard let split = frames.firstIndex(of: WireMessage.delimiter), frames.count >= split + 6 else { return }
        frames[split + 1] = signer.signature(frames[(split + 2)..<(split + 6)])
    }

    func testWireDecodeAndHandlersOnMutatedFrames() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 5000, defaultSeconds: 12)
        let signer = MessageSigner(key: Self.key)
        let backend = SessionBackend(session: Session(environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent"]))
        var history = KernelHistory(capacity: 50)
        for line in 1...20 { history.record(line: line, input: "x\(line) = \(line)", output: line % 3 == 0 ? nil : "\(line)") }
        let report = fuzz("wire", corpus: Self.seeds, dictionary: ["<IDS|MSG>", "\"msg_type\"", "\"cursor_pos\"", "\"code\"", "\"n\"",
                                                                   "\"hist_access_type\"", "\"range\"", "\"search\"", "\"start\"", "\"stop\"",
                                                                   String(decoding: Self.frameSeparator, as: UTF8.self)],
                          budget: budget) { input in
            var (resign, frames) = Self.frames(of: input)
            if resign { Self.resign(&frames, signer: signer) }
            let message = try WireCodec.decode(frames: frames, signer: signer)
            // What KernelCore's shell handler does with the content, minus the sockets.
            let content = message.content
            let code = content["code"].stringValue ?? ""
            let length = code.unicodeScalars.count
            let cursor = min(max(content["cursor_pos"].intValue ?? length, 0), length)
            let completion = backend.complete(code: code, cursor: cursor)
            XCTAssert(0 <= completion.cursorStart && completion.cursorStart <= completion.cursorEnd && completion.cursorEnd <= length)
            _ = backend.inspect(code: code, cursor: cursor, detailLevel: content["detail_level"].intValue ?? 0)
            // The raw, unclamped cursor must not trap either: completion is called from the REPL too.
            _ = backend.complete(code: code, cursor: content["cursor_pos"].intValue ?? 0)
            _ = backend.isComplete(code: code)
            let reply = history.reply(to: content)
            XCTAssertEqual(try JSONValue.decode(reply.encoded()), reply)
            // A decoded message re-encodes and decodes to itself (what the kernel echoes as parent_header).
            let again = try WireCodec.decode(frames: WireCodec.encode(message, signer: signer), signer: signer)
            XCTAssertEqual(Self.finite(again.header), Self.finite(message.header))
            XCTAssertEqual(Self.finite(again.content), Self.finite(message.content))
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }

    /// JSONValue with non-finite doubles replaced by 0, as `encoded()` writes them, and every number as a
    /// Double: JSON has one number type, so an integral double may come back as an int (same value).
    static func finite(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let d) where !d.isFinite: return .double(0)
        case .int(let i): return .double(Double(i))
        case .array(let items): return .array(items.map(finite))
        case .object(let members): return .object(members.mapValues(finite))
        default: return value
        }
    }

    func testJSONValueAndConnectionFileOnMutatedJSON() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 4000, defaultSeconds: 10)
        var seeds = [Array(#"{"shell_port": 39735, "iopub_port": 53445, "stdin_port": 37025, "control_port": 50251, "hb_port": 44551, "ip": "127.0.0.1", "key": "0f1e2d3c-fixture", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "tlsh"}"#.utf8)]
        for (_, request) in Self.requests().enumerated() { seeds.append(request.content.encoded()) }
        seeds += [#"{"a":[1,2.5,-3e10,true,false,null,"\u00e9\ud83c\udf89"],"b":{"c":{}}}"#, "[]", "0", "\"s\"",
                  #"{"n": 9007199254740993, "f": 1.7976931348623157e308, "small": 5e-324}"#].map { Array($0.utf8) }
        let report = fuzz("json", corpus: seeds, dictionary: ["{", "}", "[", "]", ":", ",", "\"", "\\u", "\\ud800", "true", "null",
                                                              "\"ip\"", "\"key\"", "\"transport\"", "\"shell_port\""],
                          budget: budget) { input in
            _ = try? ConnectionInfo.parse(input)
            let value = try JSONValue.decode(input)
            // Decoding is faithful: what we encode decodes to the same value (non-finite doubles become 0).
            XCTAssertEqual(Self.finite(try JSONValue.decode(value.encoded())), Self.finite(value))
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }
}
