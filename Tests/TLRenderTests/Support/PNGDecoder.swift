// An independent PNG reader for the tests: chunk walk with a bitwise (table-free) CRC-32,
// the hand-written inflate above, and the five scanline filters undone per the specification.

struct DecodedPNG {
    let width: Int
    let height: Int
    let channels: Int
    let pixels: [UInt8]
    let chunkTypes: [String]

    func pixel(_ x: Int, _ y: Int) -> (r: Int, g: Int, b: Int) {
        let i = (y * width + x) * channels
        return (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
    }
}

struct PNGDecodeError: Error, CustomStringConvertible { let description: String }

enum TestPNG {
    /// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) one bit at a time.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    private static func be32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    static func decode(_ png: [UInt8]) throws -> DecodedPNG {
        guard png.count > 8, Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw PNGDecodeError(description: "missing PNG signature")
        }
        var i = 8, types: [String] = [], idat: [UInt8] = []
        var width = 0, height = 0, channels = 0
        while i + 12 <= png.count {
            let length = be32(png, i)
            guard i + 12 + length <= png.count else { throw PNGDecodeError(description: "chunk overruns file") }
            let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            let data = Array(png[(i + 8)..<(i + 8 + length)])
            let stored = UInt32(be32(png, i + 8 + length))
            guard crc32(png[(i + 4)..<(i + 8 + length)]) == stored else {
                throw PNGDecodeError(description: "CRC mismatch in \(type)")
            }
            types.append(type)
            switch type {
            case "IHDR":
                width = be32(data, 0); height = be32(data, 4)
                guard data[8] == 8, data[10] == 0, data[11] == 0, data[12] == 0 else {
                    throw PNGDecodeError(description: "unsupported IHDR \(data)")
                }
                switch data[9] {
                case 2: channels = 3
                case 6: channels = 4
                default: throw PNGDecodeError(description: "unsupported colour type \(data[9])")
                }
            case "IDAT": idat += data
            default: break
            }
            i += 12 + length
        }
        guard types.first == "IHDR", types.last == "IEND", i == png.count else {
            throw PNGDecodeError(description: "chunk order or trailing bytes wrong: \(types)")
        }
        let raw = try Inflate.zlib(idat)
        let stride = width * channels
        guard raw.count == height * (stride + 1) else {
            throw PNGDecodeError(description: "image data has \(raw.count) bytes, expected \(height * (stride + 1))")
        }
        var pixels = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            for x in 0..<stride {
                let value = Int(raw[y * (stride + 1) + 1 + x])
                let a = x >= channels ? Int(pixels[y * stride + x - channels]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
                let c = (x >= channels && y > 0) ? Int(pixels[(y - 1) * stride + x - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw PNGDecodeError(description: "bad filter type \(filter)")
                }
                pixels[y * stride + x] = UInt8((value + predictor) & 0xff)
            }
        }
        return DecodedPNG(width: width, height: height, channels: channels, pixels: pixels, chunkTypes: types)
    }
}
