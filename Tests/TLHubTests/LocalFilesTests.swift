import Foundation
import TLTestSupport
import XCTest
@testable import TLHub

final class LocalFilesTests: XCTestCase {
    private var base: URL!

    override func setUpWithError() throws { base = try makeTemporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: base) }

    private func write(_ name: String, _ text: String = "{}") throws {
        try Data(text.utf8).write(to: base.appendingPathComponent(name))
    }

    func testCompleteLocalDirectory() throws {
        for name in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] { try write(name) }
        let files = try Hub(environment: [:]).resolve(.local(base))
        XCTAssertEqual(files.configURL.lastPathComponent, "config.json")
        XCTAssertEqual(files.weightFiles.map(\.lastPathComponent), ["model.safetensors"])
        XCTAssertEqual(files.vocabJSON?.lastPathComponent, "vocab.json")
        XCTAssertEqual(files.mergesTXT?.lastPathComponent, "merges.txt")
        XCTAssertNil(files.tokenizerJSON)
        XCTAssertNil(files.commit)
    }

    func testShardedWeightsFollowTheIndex() throws {
        try write("config.json")
        try write("tokenizer.json")
        try write("model.safetensors.index.json",
                  #"{"weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}"#)
        try write("model-00001-of-00002.safetensors")
        XCTAssertThrowsError(try ModelFiles.inDirectory(base)) { error in
            XCTAssertTrue("\(error)".contains("model-00002-of-00002.safetensors"), "\(error)")
        }
        try write("model-00002-of-00002.safetensors")
        let files = try ModelFiles.inDirectory(base)
        XCTAssertEqual(files.weightFiles.map(\.lastPathComponent),
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(files.weightIndexURL?.lastPathComponent, "model.safetensors.index.json")
    }

    func testMissingWeightsListWhatIsThere() throws {
        try write("config.json")
        try write("flax_model.msgpack")
        try write("tokenizer.json")
        XCTAssertThrowsError(try ModelFiles.inDirectory(base)) { error in
            guard case let TLHubError.missingFiles(_, missing, present) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(missing, ["model.safetensors"])
            XCTAssertEqual(present, ["config.json", "flax_model.msgpack", "tokenizer.json"])
        }
        // A PyTorch checkpoint counts as weights when there are no safetensors.
        try write("pytorch_model.bin")
        XCTAssertEqual(try ModelFiles.inDirectory(base).weightFiles.map(\.lastPathComponent), ["pytorch_model.bin"])
        try write("model.safetensors")
        XCTAssertEqual(try ModelFiles.inDirectory(base).weightFiles.map(\.lastPathComponent), ["model.safetensors"])
    }

    func testEnvironmentFollowsHuggingFaceHub() throws {
        var env = HubEnvironment(["HOME": "/home/u"])
        XCTAssertEqual(env.home.path, "/home/u/.cache/huggingface")
        XCTAssertEqual(env.cacheDirectory.path, "/home/u/.cache/huggingface/hub")
        XCTAssertEqual(env.endpoint, "https://huggingface.co")
        XCTAssertFalse(env.offline)

        env = HubEnvironment(["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"])
        XCTAssertEqual(env.cacheDirectory.path, "/xdg/huggingface/hub")

        env = HubEnvironment(["HOME": "/home/u", "HF_HOME": "~/hf", "HF_ENDPOINT": "http://mirror:8080//",
                              "HF_HUB_OFFLINE": "yes"])
        XCTAssertEqual(env.home.path, "/home/u/hf")
        XCTAssertEqual(env.cacheDirectory.path, "/home/u/hf/hub")
        XCTAssertEqual(env.endpoint, "http://mirror:8080")
        XCTAssertTrue(env.offline)

        env = HubEnvironment(["HF_HOME": "/h", "HF_HUB_CACHE": "/elsewhere", "HF_HUB_OFFLINE": "0"])
        XCTAssertEqual(env.cacheDirectory.path, "/elsewhere")
        XCTAssertFalse(env.offline)
        XCTAssertTrue(HubEnvironment(["TRANSFORMERS_OFFLINE": "1"]).offline)
    }

    func testTokenFromEnvironmentOrTokenFile() throws {
        XCTAssertEqual(HubEnvironment(["HF_HOME": base.path, "HF_TOKEN": "hf_env"]).token, "hf_env")
        XCTAssertNil(HubEnvironment(["HF_HOME": base.path]).token)
        try write("token", "hf_file\n")
        XCTAssertEqual(HubEnvironment(["HF_HOME": base.path]).token, "hf_file")
        XCTAssertEqual(HubEnvironment(["HF_HOME": base.path, "HF_TOKEN": "hf_env"]).token, "hf_env")
    }

    func testProgressBar() {
        let p = DownloadProgress(file: "model.safetensors", fileIndex: 2, fileCount: 3, bytes: 45_000_000,
                                 total: 100_000_000, bytesPerSecond: 5_000_000, finished: false)
        XCTAssertEqual(p.fraction, 0.45)
        XCTAssertEqual(p.etaSeconds, 11)
        XCTAssertEqual(renderProgressBar(p, width: 10),
                       "(2/3)  model.safetensors [====>     ]   45%  45.0 MB/100.0 MB  5.0 MB/s  ETA 0:11")
        let done = DownloadProgress(file: "config.json", fileIndex: 1, fileCount: 1, bytes: 665, total: 665,
                                    bytesPerSecond: 0, finished: true)
        XCTAssertEqual(renderProgressBar(done, width: 4), "config.json [====]  100%  665 B/665 B  done")
        let unknown = DownloadProgress(file: "x", fileIndex: 1, fileCount: 1, bytes: 3_700_000_000, total: nil,
                                       bytesPerSecond: 0, finished: false)
        XCTAssertEqual(renderProgressBar(unknown, width: 6).count, "x [      ]  3.7 GB".count)
        XCTAssertEqual(formatDuration(3725), "1:02:05")
    }

    func testEmbeddedDefaultModel() throws {
        let directory = DefaultModel.directory()
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("README.md").path),
                      "the resource bundle lacks DefaultModel/README.md at \(directory.path)")
        let hub = Hub(environment: [:])
        if ModelFiles.missingNames(in: directory).isEmpty {
            let files = try hub.resolve(nil)
            XCTAssertEqual(files.directory, directory)
        } else {
            XCTAssertThrowsError(try hub.resolve(nil)) { error in
                guard case TLHubError.defaultModelMissing = error else { return XCTFail("\(error)") }
            }
        }
    }
}
