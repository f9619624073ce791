// A safetensors reader over mmap. The header is untrusted input: every length, offset and shape is
// checked against the file before a byte is read, so a corrupt file is an error, never a crash.
import Foundation
import TLCore
import TLTensor
#if canImport(Glibc)
import Glibc
#endif

/// One tensor's entry in a safetensors header.
public struct SafeTensorInfo: Sendable {
    public let dtype: String
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let begin: Int
    public let end: Int
}

/// A memory-mapped safetensors file. Tensors are converted to Float32 on request.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [String: SafeTensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeMutableRawPointer
    private let size: Int
    private let dataStart: Int
    /// How many bytes from `base` are mapped from the file itself; beyond them (a PyTorch
    /// checkpoint's contiguous copies of strided tensors) the memory is anonymous, where dropping
    /// pages would zero them instead of refaulting them from disk.
    private let fileBackedBytes: Int

    static let elementSizes = ["F32": 4, "F16": 2, "BF16": 2]
    /// Headers larger than this are refused before allocation (the real format caps them at 100 MB).
    static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TLModelError.fileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TLModelError.fileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size >= 8 else { throw TLModelError.corruptSafetensors(path: path, reason: "file is \(size) bytes, shorter than the 8-byte header length") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw TLModelError.fileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        self.base = map
        self.size = size
        self.fileBackedBytes = size
        do {
            let headerLength = map.loadUnaligned(as: UInt64.self).littleEndian
            guard headerLength <= UInt64(size - 8), headerLength <= UInt64(Self.maxHeaderBytes) else {
                throw TLModelError.corruptSafetensors(path: path, reason: "header length \(headerLength) exceeds the file size \(size)")
            }
            let headerData = Data(bytes: map + 8, count: Int(headerLength))
            self.dataStart = 8 + Int(headerLength)
            (self.tensors, self.metadata) = try Self.parseHeader(headerData, path: path, dataBytes: size - dataStart)
        } catch {
            munmap(map, size)
            throw error
        }
    }

    /// A file whose tensors were located by another reader (PyTorchCheckpoint.swift): `mapped`
    /// (owned from here on, unmapped at deinit) holds every tensor at SafeTensorInfo's offsets.
    init(path: String, mapped: UnsafeMutableRawPointer, size: Int, fileBackedBytes: Int,
         tensors: [String: SafeTensorInfo], metadata: [String: String]) {
        self.path = path
        self.base = mapped
        self.size = size
        self.fileBackedBytes = fileBackedBytes
        self.dataStart = 0
        self.tensors = tensors
        self.metadata = metadata
    }

    deinit { munmap(base, size) }

    private static func parseHeader(_ data: Data, path: String, dataBytes: Int) throws -> ([String: SafeTensorInfo], [String: String]) {
        let object: JSON
        do { object = try JSON.parse(data) } catch {
            throw TLModelError.corruptSafetensors(path: path, reason: "the header is not valid JSON (\(error))")
        }
        guard let members = object.members else {
            throw TLModelError.corruptSafetensors(path: path, reason: "the header is not a JSON object")
        }
        var tensors: [String: SafeTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in members {
            if key == "__metadata__" {
                for (k, v) in value.members ?? [] { metadata[k] = v.string ?? v.compactText }
                continue
            }
            guard let dtype = value["dtype"]?.string, let shapeList = value["shape"]?.array,
                  let offsetList = value["data_offsets"]?.array, offsetList.count == 2 else {
                throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeList.map { v -> Int in
                guard case .integer(let n) = v, n >= 0, n < 1 << 40 else {
                    throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' has an invalid shape \(shapeList.map(\.compactText))")
                }
                return n
            }
            let offsets = try offsetList.map { v -> Int in
                guard case .integer(let n) = v, n >= 0 else {
                    throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' has invalid data_offsets \(offsetList.map(\.compactText))")
                }
                return n
            }
            guard let elementSize = elementSizes[dtype] else {
                throw TLModelError.unsupportedDType(path: path, key: key, dtype: dtype)
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, p < 1 << 40 else {
                    throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' declares an absurd shape \(shape)")
                }
                elements = p
            }
            guard offsets[0] <= offsets[1], offsets[1] <= dataBytes else {
                throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' points at bytes \(offsets[0])..<\(offsets[1]) past the end of the data (\(dataBytes) bytes)")
            }
            guard offsets[1] - offsets[0] == elements * elementSize else {
                throw TLModelError.corruptSafetensors(path: path, reason: "entry '\(key)' has \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtype) needs \(elements * elementSize)")
            }
            tensors[key] = SafeTensorInfo(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        return (tensors, metadata)
    }

    /// The tensor `key` converted to Float32.
    public func tensor(_ key: String) throws -> (shape: [Int], data: [Float]) {
        guard let info = tensors[key] else { throw TLModelError.missingTensor(key: key, expectedShape: []) }
        guard ["F32", "F16", "BF16"].contains(info.dtype) else {
            throw TLModelError.unsupportedDType(path: path, key: key, dtype: info.dtype)
        }
        let count = info.shape.reduce(1, *)
        let src = UnsafeRawPointer(base + dataStart + info.begin)
        let out = HugePages.array(count: count) { dst in
            switch info.dtype {
            case "F32":
                memcpy(dst.baseAddress!, src, count * 4)
                #if _endian(big)
                for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: dst[i].bitPattern)) }
                #endif
            case "F16":
                for i in 0..<count { dst[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            default:  // BF16 (checked above): the top 16 bits of a Float32
                for i in 0..<count { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            }
        }
        // Drop the file pages just read from this process's mapping: a tensor is read once, and
        // without this a multi-GB checkpoint stays counted in the resident set (and holds page
        // cache) until the file is closed. Unwritten private pages refault from the file if read again
        // (anonymous pages would come back zeroed, so those are kept).
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: src) / page * page, end = Int(bitPattern: src) + (info.end - info.begin)
        if end > start, dataStart + info.end <= fileBackedBytes { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
        return (info.shape, out)
    }
}

/// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1f
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal: value = mantissa · 2^-24.
        let v = Float(mantissa) * Float(bitPattern: 0x3380_0000)
        return sign != 0 ? -v : v
    }
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// A checkpoint that may be split over several safetensors files (model.safetensors.index.json).
public struct Checkpoint {
    public let files: [SafeTensorsFile]
    private let owner: [String: Int]

    /// Opens `model.safetensors`, or the shards named by `model.safetensors.index.json`, in
    /// `directory`; failing both, PyTorch's `pytorch_model.bin` or `pytorch_model.bin.index.json`
    /// and its shards (read without running their pickles: PyTorchCheckpoint.swift).
    public init(directory: URL) throws {
        let formats: [(single: String, index: String, open: (String) throws -> SafeTensorsFile)] = [
            ("model.safetensors", "model.safetensors.index.json", { try SafeTensorsFile(path: $0) }),
            ("pytorch_model.bin", "pytorch_model.bin.index.json", { try SafeTensorsFile(pytorchPath: $0) }),
        ]
        for format in formats {
            let single = directory.appendingPathComponent(format.single)
            let index = directory.appendingPathComponent(format.index)
            if FileManager.default.fileExists(atPath: single.path) {
                try self.init(files: [format.open(single.path)])
                return
            }
            if FileManager.default.fileExists(atPath: index.path) {
                try self.init(files: Self.shardNames(index: index).map { try format.open(directory.appendingPathComponent($0).path) })
                return
            }
        }
        throw TLModelError.fileUnreadable(path: directory.appendingPathComponent("model.safetensors").path,
                                          reason: "no model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json in \(directory.path)")
    }

    /// The distinct shard file names of an index's weight_map (Hugging Face's layout for both formats).
    static func shardNames(index: URL) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: index) } catch {
            throw TLModelError.fileUnreadable(path: index.path, reason: error.localizedDescription)
        }
        guard let map = (try? JSON.parse(data))?["weight_map"]?.members,
              case let files = map.compactMap({ $0.value.string }), files.count == map.count else {
            throw TLModelError.corruptSafetensors(path: index.path, reason: "no \"weight_map\" object of file names")
        }
        let names = Array(Set(files)).sorted()
        for n in names where n.contains("/") || n.hasPrefix(".") {
            throw TLModelError.corruptSafetensors(path: index.path, reason: "shard name \"\(n)\" must be a plain file name")
        }
        return names
    }

    public init(files: [SafeTensorsFile]) throws {
        self.files = files
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for key in f.tensors.keys {
                if owner[key] != nil { throw TLModelError.corruptSafetensors(path: f.path, reason: "tensor '\(key)' appears in two shards") }
                owner[key] = i
            }
        }
        self.owner = owner
    }

    public var keys: [String] { owner.keys.sorted() }
    public func info(_ key: String) -> SafeTensorInfo? { owner[key].flatMap { files[$0].tensors[key] } }
    public func tensor(_ key: String) throws -> (shape: [Int], data: [Float]) {
        guard let i = owner[key] else { throw TLModelError.missingTensor(key: key, expectedShape: []) }
        return try files[i].tensor(key)
    }
}
