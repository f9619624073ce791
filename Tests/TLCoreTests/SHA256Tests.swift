import XCTest
@testable import TLCore

/// Vectors from FIPS 180-4 examples and RFC 4231 (HMAC-SHA256 test cases 1, 2 and 6).
final class SHA256Tests: XCTestCase {
    private func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }

    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalHMACEqualsLibcrypto() {
        for keyLength in [0, 20, 64, 65, 131] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            let parts = [Array("part one".utf8), [], Array(repeating: 0xAB, count: 200)]
            var mac = HMACSHA256.Incremental(key: key)
            for p in parts { mac.update(p) }
            XCTAssertEqual(mac.finalize(), HMACSHA256.authenticate(key: key, message: parts.flatMap { $0 }), "key of \(keyLength) bytes")
        }
    }

    func testACopiedHasherContinuesIndependently() {
        var a = SHA256()
        a.update(Array("ab".utf8))
        var b = a
        a.update(Array("c".utf8))
        b.update(Array("d".utf8))
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), a.finalize().map { String($0, radix: 16).leftPadded(to: 2) }.joined())
        XCTAssertEqual(SHA256.hash(Array("abd".utf8)), b.finalize())
    }

    func testIncrementalEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var s = SHA256()
        for chunk in stride(from: 0, to: data.count, by: 37) { s.update(data[chunk..<min(chunk + 37, data.count)]) }
        XCTAssertEqual(s.finalize(), SHA256.hash(data))
    }

    func testHMACRFC4231() {
        XCTAssertEqual(hex(HMACSHA256.authenticate(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(hex(HMACSHA256.authenticate(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(HMACSHA256.authenticate(key: [UInt8](repeating: 0xaa, count: 131),
                                                   message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        XCTAssertTrue(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
