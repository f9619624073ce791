import Foundation
import TLCore

/// Downloads one file into the cache: `blobs/<etag>.incomplete`, resumed with `Range` after a
/// broken connection or an earlier interrupted run, checked against the announced size and (for
/// LFS files) the SHA-256, then renamed to `blobs/<etag>` and linked from the snapshot. Until the
/// rename, nothing at the blob or snapshot path looks complete.
struct BlobDownload {
    let repo: String
    let cache: HubCache
    let remote: RemoteRepo
    let client: HTTPClient
    let progress: (@Sendable (DownloadProgress) -> Void)?
    let isCancelled: (@Sendable () -> Bool)?
    /// Attempts in a row that make no progress before giving up (huggingface_hub uses 5).
    var maxStalledAttempts = 5
    /// Pause between attempts, seconds.
    var retryDelay: Double = 0.2

    func fetch(_ meta: FileMetadata, fileIndex: Int, fileCount: Int) throws {
        let pointer = cache.pointer(repo, commit: meta.commit, file: meta.file)
        if FileManager.default.fileExists(atPath: pointer.path) { return }
        let blob = cache.blob(repo, etag: meta.etag)
        try cache.makeDirectory(blob.deletingLastPathComponent())

        let lock = try FileLock(cache.lockFile(repo, etag: meta.etag))
        defer { lock.unlock() }
        if !FileManager.default.fileExists(atPath: blob.path) {
            let partial = cache.incomplete(repo, etag: meta.etag)
            let digest = try download(meta, to: partial, fileIndex: fileIndex, fileCount: fileCount)
            try verify(meta, at: partial, digest: digest)
            try cache.replace(partial, with: blob)
        }
        try cache.linkPointer(repo: repo, commit: meta.commit, file: meta.file, etag: meta.etag)
    }

    /// Returns the SHA-256 (hex) of the whole file when the blob name is one, computed while the
    /// bytes arrive so hashing overlaps the network.
    private func download(_ meta: FileMetadata, to partial: URL, fileIndex: Int, fileCount: Int) throws -> String? {
        if !FileManager.default.fileExists(atPath: partial.path) {
            guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
                throw TLHubError.fileSystem(path: partial.path, detail: "cannot create file")
            }
        }
        let sink: DownloadSink
        do {
            sink = try DownloadSink(url: partial, file: meta.file, total: meta.size, fileIndex: fileIndex,
                                    fileCount: fileCount, hashing: HubCache.isSHA256(meta.etag), progress: progress)
        } catch {
            throw TLHubError.fileSystem(path: partial.path, detail: error.localizedDescription)
        }
        defer { sink.close() }

        var stalled = 0
        var lastDetail = ""
        while true {
            if isCancelled?() == true { throw TLHubError.cancelled }
            let start = sink.bytesOnDisk
            if let total = sink.total, start == total { break }
            if let total = sink.total, start > total {
                // Longer than announced: the partial file belongs to something else. Start over.
                try sink.truncate()
                continue
            }
            var headers = remote.headers(for: meta.downloadURL)
            if start > 0 { headers["Range"] = "bytes=\(start)-" }
            sink.beginAttempt(resumingFrom: start)
            do {
                let response = try client.send("GET", meta.downloadURL, headers: headers, followRedirects: true,
                                               isCancelled: isCancelled, sink: { status, chunk in try sink.write(chunk, status: status) })
                if response.status == 416 {
                    // Range beyond the end: the partial file is stale; fetch it whole.
                    try sink.truncate()
                    stalled += 1
                } else if try !remote.check(response, revision: meta.commit, url: meta.downloadURL) {
                    throw TLHubError.httpStatus(url: meta.downloadURL.absoluteString, status: response.status,
                                                message: "the file vanished between HEAD and GET")
                } else {
                    if sink.total == nil {
                        sink.total = Self.length(of: response)
                    }
                    if sink.total == nil || sink.bytesOnDisk == sink.total { break }
                    lastDetail = "the response ended at \(sink.bytesOnDisk) of \(sink.total ?? 0) bytes"
                    stalled = sink.bytesOnDisk > start ? 0 : stalled + 1
                }
            } catch let error as TransportError {
                lastDetail = error.detail
                stalled = sink.bytesOnDisk > start ? 0 : stalled + 1
            }
            if stalled >= maxStalledAttempts {
                throw TLHubError.downloadFailed(file: meta.file, attempts: stalled, detail: lastDetail)
            }
            Thread.sleep(forTimeInterval: retryDelay)
        }
        sink.finish()
        return sink.digest()
    }

    /// The full size from a GET: the part after '/' in Content-Range, else Content-Length.
    static func length(of response: HTTPResponse) -> Int64? {
        if let range = response.header("content-range"), let slash = range.lastIndex(of: "/") {
            return Int64(range[range.index(after: slash)...])
        }
        return response.header("content-length").flatMap { Int64($0) }
    }

    /// Size, then SHA-256 when the blob name is one (LFS). A mismatch deletes the partial file,
    /// since resuming it could never succeed.
    private func verify(_ meta: FileMetadata, at partial: URL, digest: String?) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int64) ?? nil
        if let expected = meta.size, let size, size != expected {
            try? FileManager.default.removeItem(at: partial)
            throw TLHubError.sizeMismatch(file: meta.file, expected: expected, actual: size)
        }
        guard HubCache.isSHA256(meta.etag) else { return }
        let actual = try digest ?? Self.sha256(of: partial)
        if actual != meta.etag {
            try? FileManager.default.removeItem(at: partial)
            throw TLHubError.checksumMismatch(file: meta.file, expected: meta.etag, actual: actual)
        }
    }

    static func sha256(of url: URL) throws -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw TLHubError.fileSystem(path: url.path, detail: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty {
            hasher.update([UInt8](chunk))
        }
        return hasher.finalize().hexString
    }
}

/// The receiving end of a download: appends chunks to the partial file and reports progress.
/// Written from URLSession's delegate queue, read from the downloading thread, hence the lock.
final class DownloadSink: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private let file: String
    private let fileIndex: Int
    private let fileCount: Int
    private let progress: (@Sendable (DownloadProgress) -> Void)?
    private var written: Int64
    private var attemptStart: Int64 = 0
    private var attemptBegan = Date()
    private var lastReport = Date.distantPast
    private var sawFirstChunk = false
    private var _total: Int64?
    private var hasher: SHA256?

    /// With `hashing`, bytes already in the partial file are hashed first, then each chunk as it
    /// is written.
    init(url: URL, file: String, total: Int64?, fileIndex: Int, fileCount: Int, hashing: Bool,
         progress: (@Sendable (DownloadProgress) -> Void)?) throws {
        handle = try FileHandle(forWritingTo: url)
        written = Int64(try handle.seekToEnd())
        self.file = file; self._total = total
        self.fileIndex = fileIndex; self.fileCount = fileCount; self.progress = progress
        if hashing {
            var hasher = SHA256()
            if written > 0 {
                let reader = try FileHandle(forReadingFrom: url)
                defer { try? reader.close() }
                var remaining = written
                while remaining > 0, let chunk = try reader.read(upToCount: Int(min(remaining, 1 << 22))), !chunk.isEmpty {
                    hasher.update([UInt8](chunk))
                    remaining -= Int64(chunk.count)
                }
            }
            self.hasher = hasher
        }
    }

    /// Hex SHA-256 of everything written, when hashing.
    func digest() -> String? {
        lock.withLock { hasher.map { var h = $0; return h.finalize().hexString } }
    }

    var bytesOnDisk: Int64 { lock.withLock { written } }
    var total: Int64? {
        get { lock.withLock { _total } }
        set { lock.withLock { _total = newValue } }
    }

    func beginAttempt(resumingFrom offset: Int64) {
        lock.withLock { attemptStart = offset; attemptBegan = Date(); sawFirstChunk = false }
    }

    func write(_ chunk: Data, status: Int) throws {
        let report: DownloadProgress? = try lock.withLock {
            if !sawFirstChunk {
                sawFirstChunk = true
                // 200 to a Range request: the server sends the whole file, so drop what we had.
                if status == 200 && written > 0 {
                    try handle.truncate(atOffset: 0)
                    written = 0; attemptStart = 0
                    if hasher != nil { hasher = SHA256() }
                }
            }
            try handle.write(contentsOf: chunk)
            written += Int64(chunk.count)
            hasher?.update([UInt8](chunk))
            let now = Date()
            guard now.timeIntervalSince(lastReport) >= 0.1 else { return nil }
            lastReport = now
            return snapshot(finished: false, now: now)
        }
        if let report { progress?(report) }
    }

    func truncate() throws {
        try lock.withLock {
            try handle.truncate(atOffset: 0); written = 0
            if hasher != nil { hasher = SHA256() }
        }
    }

    func finish() {
        let report = lock.withLock { snapshot(finished: true, now: Date()) }
        progress?(report)
    }

    func close() { try? handle.close() }

    private func snapshot(finished: Bool, now: Date) -> DownloadProgress {
        let elapsed = now.timeIntervalSince(attemptBegan)
        let rate = elapsed > 0.05 ? Double(written - attemptStart) / elapsed : 0
        return DownloadProgress(file: file, fileIndex: fileIndex, fileCount: fileCount, bytes: written,
                                total: _total, bytesPerSecond: max(0, rate), finished: finished)
    }
}
