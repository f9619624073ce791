// NumPy's .npz (a zip of .npy files, as np.savez and np.savez_compressed write it) and .npy
// arrays, read into Float32: what Gemma Scope's params.npz needs. The zip reader follows the
// central directory (zip64 sizes and offsets included, as NumPy writes them), inflates deflated
// members with zlib and checks each member's CRC, so a truncated or corrupt archive is an error.
import CZlib
import Foundation

public enum NumpyError: Error, CustomStringConvertible, Equatable {
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let reason): return "\(path) is not a readable NumPy archive: \(reason)"
        case .unsupported(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// One array: its shape (C order) and values widened to Float32.
public struct NumpyArray: Sendable {
    public let shape: [Int]
    public let data: [Float]
}

public enum NumpyArchive {
    /// Every array in an .npz, by name (without ".npy").
    public static func read(npz path: String) throws -> [String: NumpyArray] {
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw NumpyError.corrupt(path: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        var out: [String: NumpyArray] = [:]
        for (name, member) in try ZipMembers.read(bytes, path: path) where name.hasSuffix(".npy") {
            out[String(name.dropLast(4))] = try parse(npy: member, path: "\(path)/\(name)")
        }
        return out
    }

    /// One .npy file's bytes: versions 1–3, little-endian float16/32/64 and integer arrays.
    public static func parse(npy b: [UInt8], path: String) throws -> NumpyArray {
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else {
            throw NumpyError.corrupt(path: path, reason: "no .npy magic")
        }
        let major = b[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(b[8]) | Int(b[9]) << 8; headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw NumpyError.corrupt(path: path, reason: "truncated header") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; headerStart = 12
        default: throw NumpyError.unsupported(path: path, reason: ".npy version \(major) is not supported")
        }
        guard headerStart + headerLength <= b.count else { throw NumpyError.corrupt(path: path, reason: "truncated header") }
        let header = String(decoding: b[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let q1 = descrField.firstIndex(of: "'"),
              let q2 = descrField[descrField.index(after: q1)...].firstIndex(of: "'") else {
            throw NumpyError.corrupt(path: path, reason: "the header has no descr")
        }
        let descr = String(descrField[descrField.index(after: q1)..<q2])
        if let f = field("fortran_order"), f.hasPrefix("True") {
            throw NumpyError.unsupported(path: path, reason: "Fortran-ordered arrays are not supported; save with C order")
        }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw NumpyError.corrupt(path: path, reason: "the header has no shape")
        }
        let shape = try shapeField[shapeField.index(after: open)..<close].split(separator: ",").map { s -> Int in
            guard let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw NumpyError.corrupt(path: path, reason: "bad shape \(shapeField)") }
            return n
        }
        let count = shape.reduce(1, *)
        let body = headerStart + headerLength
        let little = descr.first == "<" || descr.first == "|"
        let kind = String(descr.dropFirst())
        let width: Int
        switch kind {
        case "f2", "i2", "u2": width = 2
        case "f4", "i4", "u4": width = 4
        case "f8", "i8", "u8": width = 8
        case "i1", "u1", "b1": width = 1
        default: throw NumpyError.unsupported(path: path, reason: "dtype '\(descr)' is not supported (float16/32/64 or integers)")
        }
        guard little || width == 1 else { throw NumpyError.unsupported(path: path, reason: "big-endian arrays ('\(descr)') are not supported") }
        guard b.count - body >= count * width else {
            throw NumpyError.corrupt(path: path, reason: "the data holds \(b.count - body) bytes; shape \(shape) of \(descr) needs \(count * width)")
        }
        var data = [Float](repeating: 0, count: count)
        b.withUnsafeBytes { raw in
            let p = raw.baseAddress!.advanced(by: body)
            for i in 0..<count {
                let q = p.advanced(by: i * width)
                switch kind {
                case "f4": data[i] = Float(bitPattern: q.loadUnaligned(as: UInt32.self).littleEndian)
                case "f2": data[i] = halfToFloat(q.loadUnaligned(as: UInt16.self).littleEndian)
                case "f8": data[i] = Float(Double(bitPattern: q.loadUnaligned(as: UInt64.self).littleEndian))
                case "i1": data[i] = Float(q.load(as: Int8.self))
                case "u1", "b1": data[i] = Float(q.load(as: UInt8.self))
                case "i2": data[i] = Float(Int16(littleEndian: q.loadUnaligned(as: Int16.self)))
                case "u2": data[i] = Float(UInt16(littleEndian: q.loadUnaligned(as: UInt16.self)))
                case "i4": data[i] = Float(Int32(littleEndian: q.loadUnaligned(as: Int32.self)))
                case "u4": data[i] = Float(UInt32(littleEndian: q.loadUnaligned(as: UInt32.self)))
                case "i8": data[i] = Float(Int64(littleEndian: q.loadUnaligned(as: Int64.self)))
                default: data[i] = Float(UInt64(littleEndian: q.loadUnaligned(as: UInt64.self)))
                }
            }
        }
        return NumpyArray(shape: shape, data: data)
    }
}

/// The members of a zip archive (stored or deflated), by name, from its central directory.
enum ZipMembers {
    static func read(_ b: [UInt8], path: String) throws -> [(String, [UInt8])] {
        func corrupt(_ r: String) -> NumpyError { .corrupt(path: path, reason: r) }
        func u16(_ o: Int) throws -> Int { guard o >= 0, o + 2 <= b.count else { throw corrupt("truncated") }; return Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) throws -> Int { try u16(o) | (try u16(o + 2)) << 16 }
        func u64(_ o: Int) throws -> Int {
            let v = UInt64(try u32(o)) | UInt64(try u32(o + 4)) << 32
            guard v < UInt64(Int.max) else { throw corrupt("a size does not fit") }
            return Int(v)
        }
        // End of central directory: the last PK\5\6 within the final 64 KiB + 22 bytes.
        guard b.count >= 22 else { throw corrupt("too short for a zip archive") }
        var eocd = -1
        var i = b.count - 22
        while i >= max(0, b.count - 22 - 65_535) {
            if b[i] == 0x50, b[i + 1] == 0x4b, b[i + 2] == 5, b[i + 3] == 6 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw corrupt("no end-of-central-directory record (not a zip file, or truncated)") }
        var entries = try u16(eocd + 10), cdOffset = try u32(eocd + 16)
        // Zip64: the locator sits just before the EOCD and points at the zip64 EOCD record.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4b50 {
            let z = try u64(eocd - 20 + 8)
            guard try u32(z) == 0x0606_4b50 else { throw corrupt("bad zip64 end record") }
            entries = try u64(z + 32); cdOffset = try u64(z + 48)
        }
        var out: [(String, [UInt8])] = []
        var p = cdOffset
        for _ in 0..<entries {
            guard try u32(p) == 0x0201_4b50 else { throw corrupt("bad central directory entry") }
            let method = try u16(p + 10), crc = UInt32(try u32(p + 16))
            var compressed = try u32(p + 20), size = try u32(p + 24)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLength <= b.count else { throw corrupt("truncated central directory") }
            let name = String(decoding: b[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // Zip64 extra field: the 0xFFFFFFFF fields, in order size, compressed, offset.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), len = try u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(q) }
                }
                e += 4 + len
            }
            p = extraEnd + commentLength
            guard try u32(local) == 0x0403_4b50 else { throw corrupt("bad local header for \(name)") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard start + compressed <= b.count else { throw corrupt("\(name) runs past the end of the file") }
            let raw = Array(b[start..<(start + compressed)])
            let data: [UInt8]
            switch method {
            case 0: data = raw
            case 8: data = try inflate(raw, size: size, name: name, path: path)
            default: throw NumpyError.unsupported(path: path, reason: "\(name) uses zip compression method \(method); NumPy writes stored or deflated members")
            }
            guard data.count == size else { throw corrupt("\(name) has \(data.count) bytes, its header says \(size)") }
            let actual = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            guard actual == crc else { throw corrupt("\(name) fails its CRC check") }
            out.append((name, data))
        }
        return out
    }

    /// Raw deflate (no zlib header), as zip stores it.
    private static func inflate(_ input: [UInt8], size: Int, name: String, path: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: max(size, 1))
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NumpyError.corrupt(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { outp in
                stream.next_in = inp.baseAddress; stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress; stream.avail_out = uInt(outp.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw NumpyError.corrupt(path: path, reason: "\(name) does not inflate (zlib status \(status))") }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
