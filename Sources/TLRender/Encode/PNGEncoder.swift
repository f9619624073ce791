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
    /// One pass scores all five filters for a row, a second writes the winner. Rows equal to
    /// the row above (common inside heatmap cells) take Up, which makes them all zeros.
    static func filtered(_ pixels: [UInt8], width: Int, height: Int, channels: Int) -> [UInt8] {
        let stride = width * channels
        var out = [UInt8](repeating: 0, count: height * (stride + 1))
        let zeros = [UInt8](repeating: 0, count: stride)  // the row "above" the first row
        pixels.withUnsafeBufferPointer { src in
            zeros.withUnsafeBufferPointer { zeroRow in
                out.withUnsafeMutableBufferPointer { dst in
                    guard let base = src.baseAddress, let zero = zeroRow.baseAddress, let outBase = dst.baseAddress else { return }
                    for y in 0..<height {
                        let cur = base + y * stride
                        let up = y > 0 ? base + (y - 1) * stride : zero
                        let line = outBase + y * (stride + 1)
                        if y > 0, memcmp(cur, up, stride) == 0 {
                            line[0] = 2  // Up: the rest of the line is already zero
                            continue
                        }
                        let best = bestFilter(cur, up, stride, channels)
                        line[0] = UInt8(best)
                        apply(best, cur, up, line + 1, stride, channels)
                    }
                }
            }
        }
        return out
    }

    /// Sum of |filtered byte as signed| for each filter; the index of the smallest.
    private static func bestFilter(_ cur: UnsafePointer<UInt8>, _ up: UnsafePointer<UInt8>, _ stride: Int, _ channels: Int) -> Int {
        @inline(__always) func cost(_ v: UInt8) -> Int { Int(Int8(bitPattern: v).magnitude) }
        var none = 0, sub = 0, upScore = 0, average = 0, paethScore = 0
        // The first pixel has no left neighbour (a = c = 0); the loop below needs no branch.
        for i in 0..<min(channels, stride) {
            let x = cur[i], b = up[i]
            none += cost(x); sub += cost(x); upScore += cost(x &- b)
            average += cost(x &- (b >> 1)); paethScore += cost(x &- b)
        }
        for i in min(channels, stride)..<stride {
            let x = cur[i], b = up[i], a = cur[i - channels], c = up[i - channels]
            none += cost(x)
            sub += cost(x &- a)
            upScore += cost(x &- b)
            average += cost(x &- UInt8((UInt16(a) + UInt16(b)) >> 1))
            paethScore += cost(x &- paeth(a, b, c))
        }
        let scores = [none, sub, upScore, average, paethScore]
        var best = 0
        for f in 1..<5 where scores[f] < scores[best] { best = f }
        return best
    }

    private static func apply(_ filter: Int, _ cur: UnsafePointer<UInt8>, _ up: UnsafePointer<UInt8>,
                              _ out: UnsafeMutablePointer<UInt8>, _ stride: Int, _ channels: Int) {
        for i in 0..<stride {
            let x = cur[i], b = up[i]
            let a: UInt8 = i >= channels ? cur[i - channels] : 0
            let c: UInt8 = i >= channels ? up[i - channels] : 0
            switch filter {
            case 0: out[i] = x
            case 1: out[i] = x &- a
            case 2: out[i] = x &- b
            case 3: out[i] = x &- UInt8((UInt16(a) + UInt16(b)) >> 1)
            default: out[i] = x &- paeth(a, b, c)
            }
        }
    }

    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        // p = a + b - c; |p - a| = |b - c|, |p - b| = |a - c|, |p - c| = |a + b - 2c|.
        let ia = Int16(a), ib = Int16(b), ic = Int16(c)
        let pa = abs(ib - ic), pb = abs(ia - ic), pc = abs(ia + ib - 2 * ic)
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
