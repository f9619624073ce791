// PyTorch `pytorch_model.bin` checkpoints (torch.save's zip format, PyTorch >= 1.6): a zip whose
// entries are stored uncompressed — `<prefix>/data.pkl` (the state dict's pickle, read by
// RestrictedUnpickler, which runs no code), `<prefix>/data/<key>` (one raw storage each) and
// `<prefix>/byteorder`. The file is memory-mapped like a safetensors file; each tensor becomes a
// SafeTensorInfo pointing at its bytes inside its storage entry, so the rest of loading cannot
// tell the formats apart. Tensors that are not contiguous views (a transpose, a column slice) are
// copied once into contiguous memory at open.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One entry of a zip archive: where its bytes are inside the file.
struct ZipEntry {
    let name: String
    let method: UInt16
    let size: Int
    let dataOffset: Int
}

/// The central directory of a zip mapped in memory. Every offset is checked against the file.
struct ZipDirectory {
    struct Corrupt: Error { let reason: String }
    let entries: [String: ZipEntry]

    init(base: UnsafeRawPointer, size: Int) throws {
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= size else { throw Corrupt(reason: "a zip record runs past the end of the file") }
            return Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        }
        func u32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= size else { throw Corrupt(reason: "a zip record runs past the end of the file") }
            return Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        func u64(_ at: Int) throws -> Int {
            guard at >= 0, at + 8 <= size else { throw Corrupt(reason: "a zip record runs past the end of the file") }
            let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            guard v < UInt64(Int.max / 2) else { throw Corrupt(reason: "a zip field of \(v) is out of range") }
            return Int(v)
        }
        // End of central directory: the last 22 bytes, or earlier when the archive has a comment.
        var eocd = -1
        var at = size - 22
        while at >= max(0, size - 22 - 65_535) {
            if try u32(at) == 0x0605_4b50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw Corrupt(reason: "no zip end-of-directory record") }
        var count = try u16(eocd + 10)
        var directorySize = try u32(eocd + 12)
        var directoryOffset = try u32(eocd + 16)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64 (checkpoints over 4 GB): a locator just before the record points at the real one.
            let locator = eocd - 20
            guard try u32(locator) == 0x0706_4b50 else { throw Corrupt(reason: "a zip64 archive without its locator") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4b50 else { throw Corrupt(reason: "the zip64 end-of-directory record is missing") }
            count = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryOffset = try u64(record + 48)
        }
        guard directoryOffset + directorySize <= size, count <= directorySize / 46 + 1 else {
            throw Corrupt(reason: "the zip directory lies outside the file")
        }
        var entries: [String: ZipEntry] = [:]
        var p = directoryOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else { throw Corrupt(reason: "a damaged zip directory entry at byte \(p)") }
            let method = UInt16(try u16(p + 10))
            var compressed = try u32(p + 20)
            var uncompressed = try u32(p + 24)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var localOffset = try u32(p + 42)
            guard p + 46 + nameLength <= size else { throw Corrupt(reason: "a zip entry name runs past the end of the file") }
            let name = String(decoding: UnsafeRawBufferPointer(start: base + p + 46, count: nameLength), as: UTF8.self)
            // Zip64 extended information: the 64-bit forms of the fields saturated above, in order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), length = try u16(e + 2)
                if id == 0x0001 {
                    var f = e + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try u64(f); f += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(f); f += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try u64(f) }
                }
                e += 4 + length
            }
            // The data starts after the local header, whose name and extra field may differ in length.
            guard try u32(localOffset) == 0x0403_4b50 else { throw Corrupt(reason: "entry \(name) has no local header") }
            let dataOffset = localOffset + 30 + (try u16(localOffset + 26)) + (try u16(localOffset + 28))
            // A stored entry's bytes are its uncompressed size; both must lie inside the file.
            guard dataOffset + max(compressed, method == 0 ? uncompressed : 0) <= size else {
                throw Corrupt(reason: "entry \(name) runs past the end of the file")
            }
            entries[name] = ZipEntry(name: name, method: method, size: method == 0 ? uncompressed : compressed, dataOffset: dataOffset)
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
    }
}

extension SafeTensorsFile {
    static let pytorchElementSizes = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    /// Opens a torch.save zip checkpoint. Legacy (pre-1.6, non-zip) files and TorchScript archives
    /// are refused with a message that says how to convert them.
    public convenience init(pytorchPath path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TLModelError.fileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TLModelError.fileUnreadable(path: path, reason: String(cString: strerror(errno))) }
        let fileSize = Int(st.st_size)
        func refuse(_ reason: String) -> TLModelError { .invalidPyTorchCheckpoint(path: path, reason: reason) }
        guard fileSize >= 4 else { throw refuse("the file is \(fileSize) bytes long") }
        guard let fileMap = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, fd, 0), fileMap != MAP_FAILED else {
            throw TLModelError.fileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let plan: PyTorchLayout
        do {
            plan = try PyTorchLayout(base: UnsafeRawPointer(fileMap), size: fileSize)
        } catch let r as PyTorchLayout.Refusal {
            munmap(fileMap, fileSize)
            throw refuse(r.reason)
        } catch {
            munmap(fileMap, fileSize)
            throw error
        }
        guard plan.copies.isEmpty else {
            // Non-contiguous tensors: map the file at the start of a larger anonymous region and
            // write their contiguous copies after it, so every tensor is one byte range from `base`.
            munmap(fileMap, fileSize)
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let fileSpan = (fileSize + page - 1) / page * page
            let total = fileSpan + plan.copyBytes
            guard let region = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), region != MAP_FAILED,
                  mmap(region, fileSize, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == region else {
                throw TLModelError.fileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
            }
            var tensors = plan.tensors
            var next = fileSpan
            for copy in plan.copies {
                copy.gather(from: UnsafeRawPointer(region), into: region + next)
                let info = tensors[copy.key]!
                tensors[copy.key] = SafeTensorInfo(dtype: info.dtype, shape: info.shape, begin: next, end: next + copy.bytes)
                next += copy.bytes
            }
            self.init(path: path, mapped: region, size: total, fileBackedBytes: fileSize, tensors: tensors, metadata: ["format": "pt"])
            return
        }
        self.init(path: path, mapped: fileMap, size: fileSize, fileBackedBytes: fileSize, tensors: plan.tensors, metadata: ["format": "pt"])
    }
}

/// Where each tensor of a torch.save archive lives, worked out from its zip directory and pickle.
struct PyTorchLayout {
    struct Refusal: Error { let reason: String }

    /// A strided tensor to copy into contiguous memory.
    struct StridedCopy {
        let key: String
        let source: Int          // byte offset of element 0 in the file
        let shape: [Int]
        let strides: [Int]       // in elements
        let elementSize: Int
        var bytes: Int { shape.reduce(1, *) * elementSize }

        func gather(from base: UnsafeRawPointer, into destination: UnsafeMutableRawPointer) {
            let count = shape.reduce(1, *)
            guard count > 0 else { return }
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var offset = 0
                for d in 0..<shape.count { offset += index[d] * strides[d] }
                memcpy(destination + i * elementSize, base + source + offset * elementSize, elementSize)
                var d = shape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
            }
        }
    }

    var tensors: [String: SafeTensorInfo] = [:]
    var copies: [StridedCopy] = []
    var copyBytes: Int { copies.reduce(0) { $0 + $1.bytes } }

    init(base: UnsafeRawPointer, size: Int) throws {
        let magic = base.load(as: UInt32.self)
        if magic & 0xFFFF != 0x4b50 {  // not "PK"
            if base.load(as: UInt8.self) == 0x80 {
                throw Refusal(reason: "it is in PyTorch's legacy (pre-1.6, non-zip) format, which tlsh does not read; re-save it with a current torch.save, or convert it to model.safetensors")
            }
            throw Refusal(reason: "it is not a torch.save archive (no zip signature)")
        }
        let zip: ZipDirectory
        do { zip = try ZipDirectory(base: base, size: size) } catch let c as ZipDirectory.Corrupt {
            throw Refusal(reason: c.reason)
        }
        guard let pickleEntry = zip.entries.values.filter({ $0.name.hasSuffix("data.pkl") && $0.name.split(separator: "/").count == 2 })
            .min(by: { $0.name < $1.name }) else {
            let kind = zip.entries.keys.contains { $0.hasSuffix("constants.pkl") } ? "a TorchScript archive" : "a zip without data.pkl"
            throw Refusal(reason: "it is \(kind), not a torch.save state dict")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = zip.entries[prefix + "byteorder"], order.method == 0 {
            let text = String(decoding: UnsafeRawBufferPointer(start: base + order.dataOffset, count: min(order.size, 16)), as: UTF8.self)
            guard text == "little" else { throw Refusal(reason: "its byteorder is '\(text)'; tlsh reads little-endian checkpoints") }
        }
        guard pickleEntry.method == 0 else {
            throw Refusal(reason: "\(pickleEntry.name) is compressed (zip method \(pickleEntry.method)); torch.save stores entries uncompressed")
        }
        let pickleBytes = [UInt8](UnsafeRawBufferPointer(start: base + pickleEntry.dataOffset, count: pickleEntry.size))
        var unpickler = RestrictedUnpickler(pickleBytes)
        let root: PickleValue
        do { root = try unpickler.load() } catch let r as RestrictedUnpickler.Refusal {
            throw Refusal(reason: "its pickle was refused: \(r.reason)")
        }
        guard case .dict(let dict) = root else {
            throw Refusal(reason: "its pickle holds \(root.kind), not a state dict (a dict of name → tensor)")
        }
        for (k, v) in dict.items {
            guard case .string(let key) = k else { throw Refusal(reason: "a state-dict key is \(k.kind), not a string") }
            guard case .tensor(let t) = v else { throw Refusal(reason: "state-dict entry '\(key)' is \(v.kind), not a tensor") }
            try add(key: key, tensor: t, entry: zip.entries[prefix + "data/" + t.storage.key])
        }
    }

    private mutating func add(key: String, tensor t: PickledTensor, entry: ZipEntry?) throws {
        guard let entry else { throw Refusal(reason: "tensor '\(key)' points at storage \(t.storage.key), which the archive lacks") }
        guard entry.method == 0 else { throw Refusal(reason: "storage \(entry.name) is compressed (zip method \(entry.method))") }
        let elementSize = SafeTensorsFile.pytorchElementSizes[t.storage.dtype]!
        guard t.storage.count <= entry.size / elementSize else {
            throw Refusal(reason: "storage \(entry.name) has \(entry.size) bytes, fewer than its \(t.storage.count) \(t.storage.dtype) elements")
        }
        guard t.shape.count == t.strides.count, t.offset >= 0, t.shape.allSatisfy({ $0 >= 0 && $0 < 1 << 40 }),
              t.strides.allSatisfy({ $0 >= 0 }) else {
            throw Refusal(reason: "tensor '\(key)' has an invalid size \(t.shape), stride \(t.strides) or offset \(t.offset)")
        }
        var count = 1
        for d in t.shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p < 1 << 40 else { throw Refusal(reason: "tensor '\(key)' declares an absurd size \(t.shape)") }
            count = p
        }
        if count > 0 {
            // The last element reached must lie inside the storage.
            let last = t.offset + zip(t.shape, t.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
            guard last < t.storage.count else {
                throw Refusal(reason: "tensor '\(key)' (size \(t.shape), stride \(t.strides), offset \(t.offset)) reaches past its storage of \(t.storage.count) elements")
            }
        }
        let start = entry.dataOffset + t.offset * elementSize
        var contiguous = true, expected = 1
        for (n, s) in zip(t.shape, t.strides).reversed() where n != 1 {
            if s != expected { contiguous = false }
            expected *= n
        }
        tensors[key] = SafeTensorInfo(dtype: t.storage.dtype, shape: t.shape, begin: start, end: start + count * elementSize)
        if !contiguous && count > 0 {
            // A broadcast view (stride 0) can describe far more elements than its storage holds;
            // copying one is bounded so a crafted file cannot exhaust memory.
            guard count * elementSize <= 16 * entry.size + (1 << 20) else {
                throw Refusal(reason: "tensor '\(key)' is a strided view of \(count) elements over a storage of \(t.storage.count); re-save it with .contiguous()")
            }
            copies.append(StridedCopy(key: key, source: start, shape: t.shape, strides: t.strides, elementSize: elementSize))
        }
    }
}
