// PNG (ISO/IEC 15948) writer: IHDR, pHYs, one IDAT compressed with zlib, IEND.
// Each scanline gets the filter that minimises the sum of absolute filtered bytes (the
// heuristic the PNG specification suggests), which suits flat heatmap cells and text alike.
import Foundation
internal import CZlib

/// A PNG file in memory.
public struct PNGImage: Sendable {
    /// The complete file, starting with the 8-byte PNG signature.
    public let bytes: [UInt8]
    public let width: Int
    public let height: Int
}

/// Encodes raw pixels as PNG; the picture types use it, and it is public for any other image.
public enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Largest picture we agree to encode (about 24 MP); bigger means the caller forgot to slice.
    static let maxPixels = 24_000_000

    /// Encode 8-bit RGB (`channels` = 3) or RGBA (4) pixels, row-major, no padding.
    /// `pixels`: row-major, `channels` bytes per pixel (3 = RGB, 4 = RGBA with straight alpha),
    /// no row padding. `pixelsPerMetre` goes into a pHYs chunk (3780 ≈ 96 dpi); nil omits it.
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int = 3,
                              pixelsPerMetre: Int? = 3780) throws -> PNGImage {
        guard channels == 3 || channels == 4 else {
            throw TLRenderError.shapeMismatch(what: "PNG pixels (channels must be 3 for RGB or 4 for RGBA, got \(channels))", expected: 3, got: channels)
        }
        guard width > 0, height > 0, width * height <= maxPixels else {
            throw TLRenderError.tooLarge(width: width, height: height)
        }
        guard pixels.count == width * height * channels else {
            throw TLRenderError.shapeMismatch(what: "PNG pixels (\(width)×\(height)×\(channels) bytes)", expected: width * height * channels, got: pixels.count)
        }
        var out = signature
        var header: [UInt8] = []
        header += bigEndian(UInt32(width)); header += bigEndian(UInt32(height))
        header += [8, channels == 4 ? 6 : 2, 0, 0, 0]  // depth 8, colour type RGB(A), deflate, adaptive filters, no interlace
        appendChunk(&out, "IHDR", header)
        if let ppm = pixelsPerMetre {
            appendChunk(&out, "pHYs", bigEndian(UInt32(ppm)) + bigEndian(UInt32(ppm)) + [1])  // unit: metre
        }
        appendChunk(&out, "IDAT", try deflate(filtered(pixels, width: width, height: height, channels: channels)))
        appendChunk(&out, "IEND", [])
        return PNGImage(bytes: out, width: width, height: height)
    }

    /// Scanlines prefixed with their filter type byte (0 none, 1 sub, 2 up, 3 average, 4 Paeth).
    /// One pass scores all five filters for a row, a second writes the winner.
    static func filtered(_ pixels: [UInt8], width: Int, height: Int, channels: Int) -> [UInt8] {
        let stride = width * channels
        var out = [UInt8](repeating: 0, count: height * (stride + 1))
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let row = y * stride, prior = row - stride
                    @inline(__always) func neighbours(_ i: Int) -> (x: UInt8, a: UInt8, b: UInt8, c: UInt8) {
                        let a = i >= channels ? src[row + i - channels] : 0
                        let b = y > 0 ? src[prior + i] : 0
                        let c = (i >= channels && y > 0) ? src[prior + i - channels] : 0
                        return (src[row + i], a, b, c)
                    }
                    @inline(__always) func cost(_ v: UInt8) -> Int { v < 128 ? Int(v) : 256 - Int(v) }
                    var scores = (0, 0, 0, 0, 0)
                    for i in 0..<stride {
                        let (x, a, b, c) = neighbours(i)
                        scores.0 += cost(x)
                        scores.1 += cost(x &- a)
                        scores.2 += cost(x &- b)
                        scores.3 += cost(x &- UInt8((Int(a) + Int(b)) >> 1))
                        scores.4 += cost(x &- paeth(a, b, c))
                    }
                    let all = [scores.0, scores.1, scores.2, scores.3, scores.4]
                    let best = all.indices.min { all[$0] < all[$1] } ?? 0
                    let start = y * (stride + 1)
                    dst[start] = UInt8(best)
                    for i in 0..<stride {
                        let (x, a, b, c) = neighbours(i)
                        let value: UInt8
                        switch best {
                        case 0: value = x
                        case 1: value = x &- a
                        case 2: value = x &- b
                        case 3: value = x &- UInt8((Int(a) + Int(b)) >> 1)
                        default: value = x &- paeth(a, b, c)
                        }
                        dst[start + 1 + i] = value
                    }
                }
            }
        }
        return out
    }

    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// A zlib stream (RFC 1950) of `data`, as IDAT requires.
    static func deflate(_ data: [UInt8]) throws -> [UInt8] {
        var bound = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(bound))
        let status = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { d in
                compress2(o.baseAddress, &bound, d.baseAddress, uLong(data.count), 6)
            }
        }
        guard status == Z_OK else { throw TLRenderError.compression(status: status) }
        out.removeSubrange(Int(bound)...)
        return out
    }

    /// Length, type, data, CRC-32 over type and data.
    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        var crc = crc32(0, nil, 0)
        crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        if !data.isEmpty { crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) } }
        out += bigEndian(UInt32(truncatingIfNeeded: crc))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
