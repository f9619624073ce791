import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// Runs Tests/Fixtures/hub/fake_hub.py on 127.0.0.1 (a free port) for one test, and reads its
/// request counters and its manifest (sizes and hashes computed by Python's hashlib).
public final class FakeHubServer {
    let process = Process()
    public let port: Int
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public static var scriptURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/hub/fake_hub.py")
    }

    /// The first `python3` on PATH, or nil.
    public static func python() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    public init() throws {
        guard let python = Self.python() else {
            throw XCTSkip("python3 is not on PATH; the hub download tests need it to run Tests/Fixtures/hub/fake_hub.py")
        }
        let output = Pipe()
        process.executableURL = python
        process.arguments = [Self.scriptURL.path]
        process.standardOutput = output
        try process.run()
        // The script prints its port as the first line.
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            process.terminate()
            throw XCTSkip("fake_hub.py did not start (printed '\(String(decoding: line, as: UTF8.self))')")
        }
        self.port = port
    }

    public func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { stop() }

    public struct Stats: Decodable { public let requests: Int; public let paths: [String]; public let cdn_with_auth: Int }

    public struct FileInfo: Decodable { public let size: Int; public let sha256: String; public let etag: String; public let lfs: Bool }
    public struct RepoInfo: Decodable { public let commit: String; public let files: [String: FileInfo] }

    public func stats() throws -> Stats { try JSONDecoder().decode(Stats.self, from: get("/_stats")) }
    public func reset() throws { _ = try get("/_reset") }
    public func manifest() throws -> [String: RepoInfo] { try JSONDecoder().decode([String: RepoInfo].self, from: get("/_manifest")) }

    private func get(_ path: String) throws -> Data {
        let url = URL(string: endpoint + path)!
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        URLSession.shared.dataTask(with: url) { data, _, error in
            box.set(data, error)
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        return try box.get()
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    private var error: Error?
    func set(_ data: Data?, _ error: Error?) { lock.withLock { self.data = data; self.error = error } }
    func get() throws -> Data {
        try lock.withLock {
            if let error { throw error }
            guard let data else { throw URLError(.badServerResponse) }
            return data
        }
    }
}

/// A fresh temporary directory, removed by `cleanup`.
public func makeTemporaryDirectory(_ name: String = "tlhub") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
