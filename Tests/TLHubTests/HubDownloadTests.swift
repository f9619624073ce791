import Foundation
import TLTestSupport
import XCTest
import TLCore
@testable import TLHub

/// The real download code against Tests/Fixtures/hub/fake_hub.py. Expected sizes, hashes, etags
/// and commits come from the server's /_manifest (computed with Python's hashlib).
final class HubDownloadTests: XCTestCase {
    private var server: FakeHubServer!
    private var home: URL!
    private var manifest: [String: FakeHubServer.RepoInfo] = [:]

    override func setUpWithError() throws {
        server = try FakeHubServer()
        home = try makeTemporaryDirectory("tlhub-home")
        manifest = try server.manifest()
    }

    override func tearDown() {
        server?.stop()
        if let home { try? FileManager.default.removeItem(at: home) }
    }

    private func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HF_HOME": home.path, "HF_ENDPOINT": server.endpoint, "HOME": home.path].merging(extra) { $1 }
    }

    private func hub(_ extra: [String: String] = [:], progress: (@Sendable (DownloadProgress) -> Void)? = nil,
                     isCancelled: (@Sendable () -> Bool)? = nil) -> Hub {
        Hub(environment: environment(extra), progress: progress, isCancelled: isCancelled, timeout: 10)
    }

    private func repoFolder(_ repo: String, cache: URL? = nil) -> URL {
        (cache ?? home.appendingPathComponent("hub")).appendingPathComponent(HubCache.folderName(repo: repo))
    }

    private func assertThrows(_ expression: @autoclosure () throws -> ModelFiles, file: StaticString = #filePath,
                              line: UInt = #line, _ check: (TLHubError) -> Void) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? TLHubError else { return XCTFail("not a TLHubError: \(error)", file: file, line: line) }
            check(error)
        }
    }

    // MARK: - Layout

    func testDownloadWritesTheHuggingFaceCacheLayout() throws {
        let reference = try XCTUnwrap(manifest["tiny/gpt2"])
        let files = try hub().resolve("tiny/gpt2")
        let folder = repoFolder("tiny/gpt2")

        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8), reference.commit)
        XCTAssertEqual(files.commit, reference.commit)
        XCTAssertEqual(files.directory.standardizedFileURL,
                       folder.appendingPathComponent("snapshots/\(reference.commit)").standardizedFileURL)

        for name in ["config.json", "tokenizer.json", "vocab.json", "merges.txt", "generation_config.json", "model.safetensors"] {
            let info = try XCTUnwrap(reference.files[name])
            let pointer = files.directory.appendingPathComponent(name)
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: pointer.path)
            XCTAssertEqual(target, "../../blobs/\(info.etag)", name)
            let bytes = try Data(contentsOf: pointer)
            XCTAssertEqual(bytes.count, info.size, name)
            XCTAssertEqual(SHA256.hex(bytes), info.sha256, name)
        }
        // The LFS blob is named by its sha256, the others by git's blob sha1.
        XCTAssertEqual(reference.files["model.safetensors"]?.etag, reference.files["model.safetensors"]?.sha256)
        let blobs = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") }, "\(blobs)")
        XCTAssertEqual(blobs.count, 6)

        XCTAssertEqual(files.weightFiles.map(\.lastPathComponent), ["model.safetensors"])
        XCTAssertNotNil(files.tokenizerJSON)
        XCTAssertNotNil(files.generationConfigURL)
        XCTAssertNil(files.tokenizerConfigURL)
        // Its absence is remembered the way huggingface_hub remembers it.
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: folder.appendingPathComponent(".no_exist/\(reference.commit)/tokenizer_config.json").path))
    }

    func testSecondResolveAndOfflineModeMakeNoRequests() throws {
        let first = try hub().resolve("tiny/gpt2")
        try server.reset()
        let second = try hub().resolve("tiny/gpt2")
        XCTAssertEqual(second, first)
        XCTAssertEqual(try server.stats().requests, 0)

        let offline = try hub(["HF_HUB_OFFLINE": "1"]).resolve("tiny/gpt2")
        XCTAssertEqual(offline, first)
        XCTAssertEqual(try server.stats().requests, 0)

        // checkForUpdates asks the hub, finds the same commit, downloads nothing.
        _ = try hub().resolve("tiny/gpt2", checkForUpdates: true)
        let stats = try server.stats()
        XCTAssertGreaterThan(stats.requests, 0)
        XCTAssertFalse(stats.paths.contains { $0.hasPrefix("GET") }, "\(stats.paths)")
    }

    func testOfflineWithNothingCachedSaysWhatIsMissing() throws {
        assertThrows(try hub(["HF_HUB_OFFLINE": "1"]).resolve("tiny/gpt2")) { error in
            guard case let .notCached(repo, revision, _, missing, offlineMode) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(repo, "tiny/gpt2")
            XCTAssertEqual(revision, "main")
            XCTAssertEqual(missing, ["refs/main (never downloaded)"])
            XCTAssertTrue(offlineMode)
            XCTAssertTrue(error.description.contains("HF_HUB_OFFLINE"), error.description)
        }
        XCTAssertEqual(try server.stats().requests, 0)
    }

    func testHubCacheOverride() throws {
        let cache = home.appendingPathComponent("custom-cache")
        let files = try hub(["HF_HUB_CACHE": cache.path]).resolve("tiny/gpt2")
        XCTAssertTrue(files.directory.path.hasPrefix(cache.path), files.directory.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("hub").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: repoFolder("tiny/gpt2", cache: cache).appendingPathComponent("refs/main").path))
    }

    // MARK: - Names

    func testAliasFollowsTheHubRename() throws {
        // gpt2-small -> gpt2 (TransformerLens's name); the hub answers 307 to openai-community/gpt2.
        let reference = try XCTUnwrap(manifest["openai-community/gpt2"])
        let files = try hub().resolve("gpt2-small")
        XCTAssertTrue(files.directory.path.contains("models--gpt2/snapshots/\(reference.commit)"), files.directory.path)
        let weights = try Data(contentsOf: files.weightFiles[0])
        XCTAssertEqual(SHA256.hex(weights), reference.files["model.safetensors"]?.sha256)

        // A copy cached under the repo's current name is found without the network.
        try FileManager.default.moveItem(at: repoFolder("gpt2"), to: repoFolder("openai-community/gpt2"))
        try server.reset()
        let moved = try hub(["HF_HUB_OFFLINE": "1"]).resolve("gpt2")
        XCTAssertTrue(moved.directory.path.contains("models--openai-community--gpt2"), moved.directory.path)
        XCTAssertEqual(try server.stats().requests, 0)
    }

    func testRevisionsAndCommits() throws {
        let reference = try XCTUnwrap(manifest["tiny/gpt2"])
        let tagged = try hub().resolve("tiny/gpt2@v1")
        XCTAssertEqual(tagged.commit, reference.commit)
        XCTAssertEqual(try String(contentsOf: repoFolder("tiny/gpt2").appendingPathComponent("refs/v1"), encoding: .utf8),
                       reference.commit)
        try server.reset()
        let pinned = try hub(["HF_HUB_OFFLINE": "1"]).resolve("tiny/gpt2", revision: reference.commit)
        XCTAssertEqual(pinned.directory, tagged.directory)

        assertThrows(try hub().resolve("tiny/gpt2@nope")) { error in
            XCTAssertEqual(error, .revisionNotFound(repo: "tiny/gpt2", revision: "nope"))
        }
    }

    func testShardedRepo() throws {
        let reference = try XCTUnwrap(manifest["tiny/sharded"])
        let files = try hub().resolve("tiny/sharded")
        XCTAssertEqual(files.weightFiles.map(\.lastPathComponent),
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        for url in files.weightFiles {
            XCTAssertEqual(SHA256.hex(try Data(contentsOf: url)), reference.files[url.lastPathComponent]?.sha256)
        }
    }

    /// A model whose weights another engine holds (NDIF): config and tokenizer only, no request
    /// for any weight file; a later full resolve adds the weights to the same snapshot.
    func testConfigOnlyResolveFetchesNoWeights() throws {
        for repo in ["tiny/gpt2", "tiny/sharded"] {
            let files = try hub().resolve(try ModelSource.parse(repo), weights: false)
            let paths = try server.stats().paths
            XCTAssertFalse(paths.contains { $0.contains(".safetensors") || $0.contains(".bin") }, "\(repo): \(paths)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: files.configURL.path), repo)
            XCTAssertNotNil(files.tokenizerJSON, repo)
            XCTAssertEqual(files.weightFiles, [], repo)
            // Cached now: a second config-only resolve asks nothing.
            try server.reset()
            XCTAssertEqual(try hub().resolve(try ModelSource.parse(repo), weights: false), files)
            XCTAssertEqual(try server.stats().requests, 0, repo)
            // The snapshot lacks weights, so a full resolve still downloads them.
            let full = try hub().resolve(repo)
            XCTAssertEqual(full.directory.standardizedFileURL, files.directory.standardizedFileURL, repo)
            XCTAssertFalse(full.weightFiles.isEmpty, repo)
            XCTAssertTrue(try server.stats().paths.contains { $0.hasPrefix("GET") && $0.contains(".safetensors") }, repo)
            try server.reset()
        }
    }

    // MARK: - Transfers

    func testDroppedConnectionResumesWithRange() throws {
        let reference = try XCTUnwrap(manifest["tiny/flaky"]?.files["model.safetensors"])
        let reports = ProgressLog()
        let files = try hub(progress: { reports.append($0) }).resolve("tiny/flaky")
        XCTAssertEqual(SHA256.hex(try Data(contentsOf: files.weightFiles[0])), reference.sha256)

        let cdn = try server.stats().paths.filter { $0.hasPrefix("GET /cdn/") }
        XCTAssertEqual(cdn.count, 2, "\(cdn)")
        XCTAssertTrue(cdn[1].hasSuffix("Range:bytes=\(reference.size / 2)-"), "\(cdn)")
        let final = try XCTUnwrap(reports.all.last { $0.file == "model.safetensors" })
        XCTAssertTrue(final.finished)
        XCTAssertEqual(final.bytes, Int64(reference.size))
        XCTAssertEqual(final.total, Int64(reference.size))
    }

    func testLeftoverIncompleteFileIsResumed() throws {
        let reference = try XCTUnwrap(manifest["tiny/gpt2"]?.files["model.safetensors"])
        // A first download that died after the first 1000 bytes of the weights.
        let fresh = try hub().resolve("tiny/gpt2")
        let blob = repoFolder("tiny/gpt2").appendingPathComponent("blobs/\(reference.etag)")
        let whole = try Data(contentsOf: blob)
        try FileManager.default.removeItem(at: fresh.weightFiles[0])
        try FileManager.default.removeItem(at: blob)
        try whole.prefix(1000).write(to: blob.appendingPathExtension("incomplete"))

        try server.reset()
        let files = try hub().resolve("tiny/gpt2")
        XCTAssertEqual(SHA256.hex(try Data(contentsOf: files.weightFiles[0])), reference.sha256)
        let cdn = try server.stats().paths.filter { $0.hasPrefix("GET /cdn/") }
        XCTAssertEqual(cdn, ["GET /cdn/tiny--gpt2/model.safetensors Range:bytes=1000-"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: blob.appendingPathExtension("incomplete").path))
    }

    func testServerIgnoringRangeRestartsTheFile() throws {
        let reference = try XCTUnwrap(manifest["tiny/no-range"]?.files["model.safetensors"])
        // Stale bytes from some earlier attempt; a 200 answer to our Range request must replace them.
        let blobs = repoFolder("tiny/no-range").appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try Data(repeating: 0xAB, count: 1000).write(to: blobs.appendingPathComponent("\(reference.etag).incomplete"))
        let files = try hub().resolve("tiny/no-range")
        XCTAssertEqual(SHA256.hex(try Data(contentsOf: files.weightFiles[0])), reference.sha256)
        let cdn = try server.stats().paths.filter { $0.hasPrefix("GET /cdn/") }
        XCTAssertEqual(cdn, ["GET /cdn/tiny--no-range/model.safetensors Range:bytes=1000-"])
    }

    func testCorruptBodyFailsAndLeavesNoBlob() throws {
        let reference = try XCTUnwrap(manifest["tiny/corrupt"]?.files["model.safetensors"])
        assertThrows(try hub().resolve("tiny/corrupt")) { error in
            guard case let .checksumMismatch(file, expected, actual) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "model.safetensors")
            XCTAssertEqual(expected, reference.sha256)
            XCTAssertNotEqual(actual, expected)
        }
        let blobs = repoFolder("tiny/corrupt").appendingPathComponent("blobs")
        let names = try FileManager.default.contentsOfDirectory(atPath: blobs.path)
        XCTAssertFalse(names.contains { $0.hasPrefix(reference.etag) }, "\(names)")
        let commit = try XCTUnwrap(manifest["tiny/corrupt"]?.commit)
        let pointer = repoFolder("tiny/corrupt").appendingPathComponent("snapshots/\(commit)/model.safetensors")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path))
        // And nothing that looks complete resolves offline.
        XCTAssertThrowsError(try hub(["HF_HUB_OFFLINE": "1"]).resolve("tiny/corrupt"))
    }

    func testCancellationStopsBeforeTheWeights() throws {
        let flag = CancelFlag()
        let hub = hub(progress: { p in if p.file == "generation_config.json" && p.finished { flag.set() } },
                      isCancelled: { flag.isSet })
        assertThrows(try hub.resolve("tiny/gpt2")) { error in
            XCTAssertEqual(error, .cancelled)
            XCTAssertTrue(error.description.contains("resumes"), error.description)
        }
        let etag = try XCTUnwrap(manifest["tiny/gpt2"]?.files["model.safetensors"]?.etag)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder("tiny/gpt2").appendingPathComponent("blobs/\(etag)").path))
        XCTAssertThrowsError(try self.hub(["HF_HUB_OFFLINE": "1"]).resolve("tiny/gpt2"))
    }

    // MARK: - Errors

    func testUnknownRepo() throws {
        assertThrows(try hub().resolve("nobody/nothing")) { error in
            XCTAssertEqual(error, .repoNotFound(repo: "nobody/nothing", endpoint: server.endpoint))
            XCTAssertTrue(error.description.contains("404"), error.description)
        }
    }

    func testGatedRepoNeedsAToken() throws {
        assertThrows(try hub().resolve("tiny/gated")) { error in
            XCTAssertEqual(error, .unauthorized(repo: "tiny/gated", status: 401, gated: true, tokenSent: false, endpoint: server.endpoint))
            XCTAssertTrue(error.description.contains("HF_TOKEN"), error.description)
            XCTAssertTrue(error.description.contains("accept its licence at \(server.endpoint)/tiny/gated"), error.description)
        }
        assertThrows(try hub(["HF_TOKEN": "wrong"]).resolve("tiny/gated")) { error in
            XCTAssertEqual(error, .unauthorized(repo: "tiny/gated", status: 401, gated: true, tokenSent: true, endpoint: server.endpoint))
        }
        let reference = try XCTUnwrap(manifest["tiny/gated"]?.files["model.safetensors"])
        let files = try hub(["HF_TOKEN": "secret-token"]).resolve("tiny/gated")
        XCTAssertEqual(SHA256.hex(try Data(contentsOf: files.weightFiles[0])), reference.sha256)
        // The token stays on the hub: the CDN (another host) never sees it.
        XCTAssertEqual(try server.stats().cdn_with_auth, 0)
    }

    func testTokenFileIsUsed() throws {
        try Data("secret-token\n".utf8).write(to: home.appendingPathComponent("token"))
        XCTAssertNoThrow(try hub().resolve("tiny/gated"))
    }

    func testRepoWithoutReadableWeightsListsWhatItHas() throws {
        assertThrows(try hub().resolve("tiny/flax-only")) { error in
            XCTAssertEqual(error, .missingSafetensors(repo: "tiny/flax-only", revision: "main", available: ["flax_model.msgpack"]))
            XCTAssertTrue(error.description.contains("flax_model.msgpack"), error.description)
        }
    }

    func testRepoWithOnlyPyTorchWeightsDownloadsTheBin() throws {
        let files = try hub().resolve("tiny/pytorch-only")
        XCTAssertEqual(files.weightFiles.map(\.lastPathComponent), ["pytorch_model.bin"])
    }

    func testNoNetworkSuggestsOfflineAlternatives() throws {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let hub = Hub(environment: ["HF_HOME": home.path, "HF_ENDPOINT": "http://127.0.0.1:1"], timeout: 5)
        XCTAssertThrowsError(try hub.resolve("tiny/gpt2")) { error in
            guard case TLHubError.noNetwork = error else { return XCTFail("\(error)") }
            let text = "\(error)"
            XCTAssertTrue(text.contains("HF_HUB_OFFLINE") && text.contains("local directory") && text.contains("no argument"), text)
        }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [DownloadProgress] = []
    func append(_ p: DownloadProgress) { lock.withLock { reports.append(p) } }
    var all: [DownloadProgress] { lock.withLock { reports } }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
