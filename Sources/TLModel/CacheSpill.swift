// An activation cache stored on disk (`run ... store=disk`): each activation is written to a
// temporary safetensors file as its hook fires, so the run's memory is the model, the logits and one
// activation's working set whatever the cache's size. When the run ends the header goes in front of
// the data (space for it is reserved up front from the names the run will cache) and the file is
// opened with the ordinary safetensors reader, which maps it and reads entries back on request.
// The file is deleted when the cache is released.
import Foundation
import TLCore
import TLTensor
#if canImport(Glibc)
import Glibc
#endif

final class CacheSpillFile: @unchecked Sendable {
    let path: String
    private let fd: Int32
    /// Bytes before the data: the 8-byte header length and the header, padded to a page so the
    /// data (and every Float32 in it) is aligned in the mapping.
    let dataStart: Int
    private var dataBytes = 0
    /// Header bytes the entries written so far take (with the metadata); never above
    /// `dataStart - 8`, so the header always fits in front of the data.
    private var headerBytes: Int
    private var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
    /// Set once, by `seal`: the reader of the finished file.
    private(set) var reader: SafeTensorsFile?

    static let metadata: JSON = .object(["format": .string("pt"), "producer": .string("tlsh activation cache (store=disk)")])

    /// Creates the file in `directory` with room in its header for entries named `expectedNames`
    /// (an entry beyond them that does not fit is refused by `append`, and the cache keeps it in memory).
    init(directory: String, expectedNames: [String]) throws {
        var template = Array("\(directory)/tlsh-cache-XXXXXX.safetensors".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, Int32(".safetensors".utf8.count)) }
        guard fd >= 0 else {
            throw TLModelError.invalidInput("cannot create the cache's file in \(directory) (store=disk): \(String(cString: strerror(errno))); "
                                            + "set TLSH_SPILL_DIR to a writable directory with room for the cache")
        }
        self.fd = fd
        self.path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // The largest a compact entry can be: its name, four dimensions and two offsets of up to 20 digits.
        let perEntry = expectedNames.reduce(0) { $0 + Self.jsonLength(of: $1) + 140 }
        let base = (try? JSON.object(["__metadata__": Self.metadata]).bytes().count) ?? 128
        let page = 4096
        self.dataStart = (8 + base + perEntry + 64 + page - 1) / page * page
        self.headerBytes = base
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Bytes of `name` as a JSON string (quotes and escapes included, as the writer writes it).
    static func jsonLength(of name: String) -> Int {
        (try? JSON.string(name).bytes().count) ?? 6 * name.utf8.count + 2
    }

    static func entryJSON(shape: [Int], begin: Int, end: Int) -> JSON {
        .object(["dtype": .string("F32"), "shape": .numbers(shape), "data_offsets": .numbers([begin, end])])
    }

    /// Writes `t` at the end of the data; false (nothing written) when its header entry would not
    /// fit in the space reserved. Throws when the disk refuses the bytes (full, say).
    func append(_ name: String, _ t: Tensor) throws -> Bool {
        precondition(reader == nil, "the cache's file is sealed")
        let begin = dataBytes, end = dataBytes + 4 * t.count
        // ,"name":{…}: one comma (or the closing brace) more than the entry's own bytes.
        let entry = Self.jsonLength(of: name) + 2 + ((try? Self.entryJSON(shape: t.shape, begin: begin, end: end).bytes().count) ?? Int.max / 4)
        guard headerBytes + entry <= dataStart - 8 else { return false }
        try t.data.withUnsafeBytes { try write($0, at: dataStart + begin) }
        headerBytes += entry
        dataBytes = end
        entries.append((name, t.shape, begin, end))
        return true
    }

    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "nothing written"
                throw TLModelError.invalidInput("writing the activation cache to \(path) (store=disk) failed: \(reason); free space there, "
                                                + "set TLSH_SPILL_DIR to a larger disk, or cache fewer activations with names=")
            }
            done += n
        }
    }

    /// Writes the header in front of the data and opens the file for reading. Idempotent.
    func seal() throws {
        guard reader == nil else { return }
        var members: [(key: String, value: JSON)] = [("__metadata__", Self.metadata)]
        for e in entries { members.append((e.name, Self.entryJSON(shape: e.shape, begin: e.begin, end: e.end))) }
        var header = try JSON.object(members).bytes()
        precondition(header.count <= dataStart - 8, "the reserved header space was counted short")
        header += [UInt8](repeating: 0x20, count: dataStart - 8 - header.count)  // spaces: still valid JSON
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try write($0, at: 0) }
        try header.withUnsafeBytes { try write($0, at: 8) }
        reader = try open()
    }

    private func open() throws -> SafeTensorsFile {
        do { return try SafeTensorsFile(path: path) } catch let e as TLModelError {
            throw TLModelError.invalidInput("the activation cache's file \(path) cannot be read back (\(e)); it was changed or removed outside tlsh: run the prompt again")
        }
    }

    var fileBytes: Int { dataStart + dataBytes }

    /// Entry `name` as a Float32 tensor, read from the mapping (nil: not in the file). The file's size
    /// is checked first: a file truncated since the run wrote it would fault on the missing pages.
    func tensor(_ name: String) throws -> Tensor? {
        try seal()
        guard let reader, reader.tensors[name] != nil else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= fileBytes else {
            throw TLModelError.invalidInput("the activation cache's file \(path) was truncated to \(Int(st.st_size)) bytes of \(fileBytes) "
                                            + "since the run wrote it (changed outside tlsh); run the prompt again")
        }
        let (shape, data) = try reader.tensor(name)
        return Tensor(shape: shape, data: data)
    }
}
