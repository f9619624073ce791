import Foundation
import TLTestSupport
import XCTest
@testable import TLHub

/// The cache is shared with Python: what huggingface_hub downloads, tlsh finds offline, and what
/// tlsh downloads, huggingface_hub finds with local_files_only. Needs a Python with
/// huggingface_hub: TLHUB_REFERENCE_PYTHON, else python3 on PATH; skipped when neither has it.
final class PythonInteropTests: XCTestCase {
    private var server: FakeHubServer!
    private var home: URL!
    private var python: URL!

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        let candidate = env["TLHUB_REFERENCE_PYTHON"].map { URL(fileURLWithPath: $0) } ?? FakeHubServer.python()
        guard let candidate, (try? run(candidate, ["-c", "import huggingface_hub"], env: [:])) != nil else {
            throw XCTSkip("no Python with huggingface_hub (set TLHUB_REFERENCE_PYTHON, e.g. to /work/venv-ref/bin/python)")
        }
        python = candidate
        server = try FakeHubServer()
        home = try makeTemporaryDirectory("tlhub-interop")
    }

    override func tearDown() {
        server?.stop()
        if let home { try? FileManager.default.removeItem(at: home) }
    }

    private var hfEnvironment: [String: String] {
        ["HF_HOME": home.path, "HF_ENDPOINT": server.endpoint, "HF_HUB_DISABLE_TELEMETRY": "1",
         "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_XET": "1"]
    }

    /// Runs Python, returns stdout; throws with stderr when it fails.
    @discardableResult
    private func run(_ executable: URL, _ arguments: [String], env: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TLHubError.httpStatus(url: "python", status: Int(process.terminationStatus),
                                        message: String(decoding: stderr, as: UTF8.self))
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    func testTlshFindsWhatPythonDownloaded() throws {
        let script = """
            from huggingface_hub import hf_hub_download
            for f in ["config.json", "tokenizer.json", "vocab.json", "merges.txt", "model.safetensors"]:
                print(hf_hub_download("tiny/gpt2", f))
            """
        let paths = try run(python, ["-c", script], env: hfEnvironment).split(separator: "\n").map(String.init)
        XCTAssertEqual(paths.count, 5)
        try server.reset()
        let files = try Hub(environment: hfEnvironment.merging(["HF_HUB_OFFLINE": "1"]) { $1 }).resolve("tiny/gpt2")
        XCTAssertEqual(files.weightFiles.map(\.path), [paths[4]])
        XCTAssertEqual(files.configURL.path, paths[0])
        XCTAssertEqual(try server.stats().requests, 0)
    }

    func testPythonFindsWhatTlshDownloaded() throws {
        let files = try Hub(environment: hfEnvironment).resolve("tiny/sharded")
        let script = """
            import sys
            from huggingface_hub import hf_hub_download
            for f in sys.argv[1:]:
                print(hf_hub_download("tiny/sharded", f, local_files_only=True))
            """
        let names = ["config.json", "model.safetensors.index.json"] + files.weightFiles.map(\.lastPathComponent)
        let paths = try run(python, ["-c", script] + names, env: hfEnvironment.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(paths, names.map { files.directory.appendingPathComponent($0).path })
    }
}
