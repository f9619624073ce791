// A small DEFLATE (RFC 1951) and zlib (RFC 1950) decoder written for the tests, so that PNGs
// are checked by code that shares nothing with the encoder (which uses the system zlib).
// Canonical Huffman decoding bit by bit: slow, simple, and easy to check against the RFC.

struct InflateError: Error, CustomStringConvertible {
    let description: String
}

private struct BitReader {
    let bytes: [UInt8]
    var position = 0
    var bitBuffer: UInt32 = 0
    var bitCount = 0

    init(_ bytes: [UInt8], start: Int) { self.bytes = bytes; position = start }

    /// `count` bits, least significant first (RFC 1951 §3.1.1).
    mutating func bits(_ count: Int) throws -> Int {
        while bitCount < count {
            guard position < bytes.count else { throw InflateError(description: "deflate stream ends early") }
            bitBuffer |= UInt32(bytes[position]) << UInt32(bitCount)
            position += 1; bitCount += 8
        }
        let value = Int(bitBuffer & ((1 << UInt32(count)) - 1))
        bitBuffer >>= UInt32(count); bitCount -= count
        return value
    }

    mutating func alignToByte() { bitBuffer = 0; bitCount = 0 }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw InflateError(description: "stored block ends early") }
        defer { position += 1 }
        return bytes[position]
    }
}

/// Canonical Huffman code from code lengths: counts per length and symbols sorted by code.
private struct Huffman {
    var counts = [Int](repeating: 0, count: 16)
    var symbols: [Int] = []

    init(lengths: [Int]) throws {
        for l in lengths { counts[l] += 1 }
        counts[0] = 0
        var offsets = [Int](repeating: 0, count: 16)
        for l in 1..<16 { offsets[l] = offsets[l - 1] + counts[l - 1] }
        symbols = [Int](repeating: 0, count: lengths.count)
        for (symbol, l) in lengths.enumerated() where l != 0 {
            symbols[offsets[l]] = symbol; offsets[l] += 1
        }
    }

    func decode(_ reader: inout BitReader) throws -> Int {
        var code = 0, first = 0, index = 0
        for length in 1..<16 {
            code |= try reader.bits(1)
            let count = counts[length]
            if code - first < count { return symbols[index + code - first] }
            index += count; first += count
            first <<= 1; code <<= 1
        }
        throw InflateError(description: "invalid Huffman code")
    }
}

enum Inflate {
    // Length codes 257...285 and distance codes 0...29: extra bits follow a regular pattern.
    private static let lengthExtra: [Int] = (0..<28).map { $0 < 8 ? 0 : ($0 - 4) / 4 } + [0]
    private static let lengthBase: [Int] = {
        var base = [3]
        for i in 0..<27 { base.append(base[i] + (1 << lengthExtra[i])) }
        return base + [258]
    }()
    private static let distanceExtra: [Int] = (0..<30).map { $0 < 4 ? 0 : ($0 - 2) / 2 }
    private static let distanceBase: [Int] = {
        var base = [1]
        for i in 0..<29 { base.append(base[i] + (1 << distanceExtra[i])) }
        return base
    }()
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Decode a zlib stream: header check, raw deflate, Adler-32 check.
    static func zlib(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6 else { throw InflateError(description: "zlib stream too short") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0f == 8, (cmf * 256 + flg) % 31 == 0, flg & 0x20 == 0 else {
            throw InflateError(description: "bad zlib header \(cmf) \(flg)")
        }
        var reader = BitReader(data, start: 2)
        let out = try deflate(&reader)
        reader.alignToByte()
        var stored: UInt32 = 0
        for _ in 0..<4 { stored = stored << 8 | UInt32(try reader.byte()) }
        guard stored == adler32(out) else { throw InflateError(description: "Adler-32 mismatch") }
        return out
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    private static func deflate(_ reader: inout BitReader) throws -> [UInt8] {
        var out: [UInt8] = []
        var final = 0
        repeat {
            final = try reader.bits(1)
            switch try reader.bits(2) {
            case 0:
                reader.alignToByte()
                let len = Int(try reader.byte()) | Int(try reader.byte()) << 8
                let nlen = Int(try reader.byte()) | Int(try reader.byte()) << 8
                guard len == (~nlen & 0xffff) else { throw InflateError(description: "stored block length check failed") }
                for _ in 0..<len { out.append(try reader.byte()) }
            case 1:
                let lit = try Huffman(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
                let dist = try Huffman(lengths: [Int](repeating: 5, count: 30))
                try codes(&reader, lit, dist, &out)
            case 2:
                let hlit = try reader.bits(5) + 257, hdist = try reader.bits(5) + 1, hclen = try reader.bits(4) + 4
                var clLengths = [Int](repeating: 0, count: 19)
                for i in 0..<hclen { clLengths[codeLengthOrder[i]] = try reader.bits(3) }
                let cl = try Huffman(lengths: clLengths)
                var lengths: [Int] = []
                while lengths.count < hlit + hdist {
                    let symbol = try cl.decode(&reader)
                    switch symbol {
                    case 0..<16: lengths.append(symbol)
                    case 16:
                        guard let previous = lengths.last else { throw InflateError(description: "repeat with no previous length") }
                        lengths += [Int](repeating: previous, count: 3 + (try reader.bits(2)))
                    case 17: lengths += [Int](repeating: 0, count: 3 + (try reader.bits(3)))
                    default: lengths += [Int](repeating: 0, count: 11 + (try reader.bits(7)))
                    }
                }
                guard lengths.count == hlit + hdist else { throw InflateError(description: "code lengths overrun") }
                try codes(&reader, try Huffman(lengths: Array(lengths[0..<hlit])), try Huffman(lengths: Array(lengths[hlit...])), &out)
            default:
                throw InflateError(description: "reserved block type")
            }
        } while final == 0
        return out
    }

    private static func codes(_ reader: inout BitReader, _ lit: Huffman, _ dist: Huffman, _ out: inout [UInt8]) throws {
        while true {
            let symbol = try lit.decode(&reader)
            if symbol < 256 { out.append(UInt8(symbol)); continue }
            if symbol == 256 { return }
            let li = symbol - 257
            guard li < 29 else { throw InflateError(description: "bad length code") }
            let length = lengthBase[li] + (try reader.bits(lengthExtra[li]))
            let di = try dist.decode(&reader)
            guard di < 30 else { throw InflateError(description: "bad distance code") }
            let distance = distanceBase[di] + (try reader.bits(distanceExtra[di]))
            guard distance <= out.count else { throw InflateError(description: "distance too far back") }
            let start = out.count - distance
            for k in 0..<length { out.append(out[start + k]) }
        }
    }
}
