import Foundation
import XCTest
@testable import TLJupyter

private func bytes(base64: String) -> [UInt8] { Array(Data(base64Encoded: base64) ?? Data()) }

/// Signing and framing, against values produced by Python's hmac and jupyter_client's Session
/// (tools/kernel_tests/make_wire_fixtures.py).
final class WireTests: XCTestCase {
    func testSignatureMatchesPythonHMACOverSequentialParts() {
        XCTAssertFalse(WireFixtures.hmacVectors.isEmpty)
        for vector in WireFixtures.hmacVectors {
            let signer = MessageSigner(key: bytes(base64: vector.key))
            let hex = signer.signature(vector.parts.map { bytes(base64: $0) })
            XCTAssertEqual(String(decoding: hex, as: UTF8.self), vector.hex)
        }
    }

    func testDecodesAndVerifiesJupyterClientMessages() throws {
        for fixture in WireFixtures.sessionMessages {
            let frames = fixture.frames.map { bytes(base64: $0) }
            let message = try WireCodec.decode(frames: frames, signer: MessageSigner(key: Array(fixture.key.utf8)))
            XCTAssertEqual(message.identities, [Array("client-identity".utf8)])
            XCTAssertEqual(message.msgType, fixture.msgType)
            XCTAssertEqual(message.msgID, fixture.msgID)
            XCTAssertEqual(message.content, try JSONValue.decode(Array(fixture.contentJSON.utf8)))
            XCTAssertEqual(message.header["session"].stringValue, "fixture-session")
        }
    }

    func testTamperedOrWronglyKeyedMessagesAreRejected() throws {
        let fixture = WireFixtures.sessionMessages[0]
        let frames = fixture.frames.map { bytes(base64: $0) }
        let signer = MessageSigner(key: Array(fixture.key.utf8))
        var tampered = frames
        tampered[tampered.count - 1][2] ^= 0x01  // one bit of the content frame
        XCTAssertThrowsError(try WireCodec.decode(frames: tampered, signer: signer)) {
            XCTAssertEqual($0 as? KernelError, .badSignature)
        }
        XCTAssertThrowsError(try WireCodec.decode(frames: frames, signer: MessageSigner(key: Array("other".utf8)))) {
            XCTAssertEqual($0 as? KernelError, .badSignature)
        }
        // Upper-case hex is the same signature.
        var upper = frames
        upper[2] = Array(String(decoding: upper[2], as: UTF8.self).uppercased().utf8)
        XCTAssertNoThrow(try WireCodec.decode(frames: upper, signer: signer))
    }

    func testEmptyKeyMeansUnsigned() throws {
        let signer = MessageSigner(key: [])
        XCTAssertEqual(signer.signature([[1, 2, 3]]), [])
        let fixture = WireFixtures.sessionMessages[1]
        var frames = fixture.frames.map { bytes(base64: $0) }
        frames[2] = Array("anything".utf8)
        XCTAssertNoThrow(try WireCodec.decode(frames: frames, signer: signer))
    }

    func testEncodeThenDecodeRoundTrips() throws {
        let signer = MessageSigner(key: Array("round-trip".utf8))
        let factory = MessageFactory(session: "s1")
        let message = factory.message(type: "stream", content: ["name": "stdout", "text": "héllo 🎉\n", "n": 1, "ok": true],
                                      parent: ["msg_id": "p"], identities: [[0, 1, 2]])
        let frames = WireCodec.encode(message, signer: signer)
        XCTAssertEqual(frames[1], WireMessage.delimiter)
        XCTAssertEqual(frames[2].count, 64)
        let decoded = try WireCodec.decode(frames: frames, signer: signer)
        XCTAssertEqual(decoded.content, message.content)
        XCTAssertEqual(decoded.parentHeader, message.parentHeader)
        XCTAssertEqual(decoded.identities, [[0, 1, 2]])
        XCTAssertEqual(decoded.header["version"].stringValue, "5.5")
        XCTAssertEqual(decoded.header["session"].stringValue, "s1")
    }

    func testMalformedMessagesThrowMalformed() {
        let signer = MessageSigner(key: [])
        let d = WireMessage.delimiter
        let ok = Array("{\"msg_type\":\"x\"}".utf8), empty = Array("{}".utf8)
        let cases: [[[UInt8]]] = [
            [Array("no delimiter".utf8)],
            [d, []],
            [d, [], ok, empty, empty],
            [d, [], Array("{not json".utf8), empty, empty, empty],
            [d, [], Array("[1]".utf8), empty, empty, empty],
            [d, [], empty, empty, empty, empty],  // no msg_type
            [d, [], ok, empty, empty, Array("{\"a\":".utf8)],  // truncated JSON
        ]
        for frames in cases {
            XCTAssertThrowsError(try WireCodec.decode(frames: frames, signer: signer)) { error in
                guard case .malformedMessage = error as? KernelError else {
                    return XCTFail("expected malformedMessage, got \(error)")
                }
            }
        }
    }

    func testInvalidUTF8IsReplacedNotFatal() throws {
        let d = WireMessage.delimiter
        let header = Array("{\"msg_type\":\"execute_request\"}".utf8), empty = Array("{}".utf8)
        let content: [UInt8] = Array("{\"code\":\"a".utf8) + [0xff, 0xfe] + Array("b\"}".utf8)
        let message = try WireCodec.decode(frames: [d, [], header, empty, empty, content], signer: MessageSigner(key: []))
        XCTAssertEqual(message.content["code"], "a\u{FFFD}\u{FFFD}b")
    }

    func testHeaderDateIsISO8601WithMicroseconds() {
        let date = MessageFactory.isoDate(Date(timeIntervalSince1970: 1_700_000_000.25))
        XCTAssertEqual(date, "2023-11-14T22:13:20.250000Z")
    }

    func testJSONKeepsBooleansAndNumbersApart() throws {
        let value = try JSONValue.decode(Array("{\"a\":true,\"b\":1,\"c\":1.5,\"d\":null,\"e\":[false]}".utf8))
        XCTAssertEqual(value["a"], .bool(true))
        XCTAssertEqual(value["b"], .int(1))
        XCTAssertEqual(value["c"], .double(1.5))
        XCTAssertEqual(value["d"], .null)
        XCTAssertEqual(value["e"], [.bool(false)])
        XCTAssertEqual(try JSONValue.decode(value.encoded()), value)
    }
}

final class ConnectionInfoTests: XCTestCase {
    func testParsesAFileWrittenByJupyterClient() throws {
        let info = try ConnectionInfo.parse(bytes(base64: WireFixtures.connectionFile))
        XCTAssertEqual(info.transport, .tcp)
        XCTAssertEqual(info.ip, "127.0.0.1")
        XCTAssertEqual(info.shellPort, WireFixtures.connectionPorts["shell_port"])
        XCTAssertEqual(info.iopubPort, WireFixtures.connectionPorts["iopub_port"])
        XCTAssertEqual(info.stdinPort, WireFixtures.connectionPorts["stdin_port"])
        XCTAssertEqual(info.controlPort, WireFixtures.connectionPorts["control_port"])
        XCTAssertEqual(info.hbPort, WireFixtures.connectionPorts["hb_port"])
        XCTAssertEqual(info.key, Array(WireFixtures.connectionKey.utf8))
        XCTAssertEqual(info.kernelName, "tlsh")
        XCTAssertEqual(info.endpoint(port: 5555), "tcp://127.0.0.1:5555")
    }

    func testIPCEndpointsFollowJupyterClientNaming() throws {
        let text = """
            {"transport":"ipc","ip":"/tmp/k","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,
             "hb_port":5,"key":"","signature_scheme":"hmac-sha256"}
            """
        let info = try ConnectionInfo.parse(Array(text.utf8))
        XCTAssertEqual(info.endpoint(port: info.controlPort), "ipc:///tmp/k-4")
        XCTAssertTrue(info.key.isEmpty)
    }

    func testBadConnectionFilesNameTheProblem() {
        let base = #""ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4"#
        let cases: [(String, String)] = [
            ("not json", "not valid JSON"),
            ("[]", "expected a JSON object"),
            ("{\(base)}", "hb_port"),
            ("{\(base),\"hb_port\":5,\"transport\":\"udp\"}", "udp"),
            ("{\(base),\"hb_port\":70000}", "hb_port"),
            ("{\(base),\"hb_port\":5,\"key\":\"k\",\"signature_scheme\":\"hmac-md5\"}", "hmac-md5"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try ConnectionInfo.parse(Array(text.utf8), path: "c.json")) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected) && message.contains("c.json"), message)
            }
        }
        XCTAssertThrowsError(try ConnectionInfo.load(path: "/nonexistent/kernel.json"))
    }
}
