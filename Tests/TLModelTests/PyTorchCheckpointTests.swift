// pytorch_model.bin checkpoints (torch.save's zip format) read by the restricted unpickler: the
// tensors equal what torch saved (tools/goldens/pytorch_checkpoints.py writes both), strided views
// and shared storages included, and malicious or legacy pickles are refused without running.
import Foundation
import XCTest
@testable import TLModel
import TLTestSupport

final class PyTorchCheckpointTests: XCTestCase {
    static let root = Golden.familiesRoot.deletingLastPathComponent().appendingPathComponent("pytorch")

    private func assertMatchesExpected(_ read: (String) throws -> (shape: [Int], data: [Float]), keys: [String],
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try SafeTensorsFile(path: Self.root.appendingPathComponent("expected.safetensors").path)
        XCTAssertEqual(Set(keys), Set(expected.tensors.keys), file: file, line: line)
        for key in expected.tensors.keys.sorted() {
            let want = try expected.tensor(key), got = try read(key)
            XCTAssertEqual(got.shape, want.shape, key, file: file, line: line)
            XCTAssertEqual(got.data, want.data, key, file: file, line: line)  // exact: F16/BF16 widen exactly
        }
    }

    func testTensorsEqualTorchsIncludingStridedAndSharedStorage() throws {
        let file = try SafeTensorsFile(pytorchPath: Self.root.appendingPathComponent("tensors.bin").path)
        XCTAssertEqual(file.tensors["f16"]?.dtype, "F16")
        XCTAssertEqual(file.tensors["bf16"]?.dtype, "BF16")
        XCTAssertEqual(file.tensors["mask"]?.dtype, "BOOL")
        XCTAssertEqual(file.tensors["transposed"]?.shape, [5, 6])
        try assertMatchesExpected({ try file.tensor($0) }, keys: file.tensors.keys.filter { $0 != "mask" })
        XCTAssertThrowsError(try file.tensor("mask")) { error in
            XCTAssertTrue("\(error)".contains("BOOL"), "\(error)")
        }
    }

    func testShardedIndexLoadsThroughCheckpoint() throws {
        let checkpoint = try Checkpoint(directory: Self.root.appendingPathComponent("sharded"))
        XCTAssertEqual(checkpoint.files.count, 2)
        try assertMatchesExpected({ try checkpoint.tensor($0) }, keys: checkpoint.keys)
    }

    func testBinOnlyModelDirectoryMatchesItsSafetensorsTwin() throws {
        let fromBin = try HookedTransformer.load(directory: Self.root.appendingPathComponent("pythia-a-bin"))
        let g = try Golden("pythia-a", root: Golden.familiesRoot)
        let tokens = g.meta["tokens"] as! [Int]
        let logits = try XCTUnwrap(try fromBin.run(tokens: [tokens]).logits)
        assertClose(logits, try g.tensor("processed/logits"), tol: 1e-4, "pythia-a from pytorch_model.bin")
    }

    func testMaliciousAndLegacyPicklesAreRefusedWithoutRunning() throws {
        let marker = "/tmp/tlsh-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        let cases: [(String, String)] = [
            ("malicious/os_system.bin", "os.system"),
            ("malicious/eval.bin", "builtins.eval"),
            ("malicious/inst.bin", "INST"),
            ("malicious/not_tensor.bin", "'w' is an int, not a tensor"),
            ("malicious/not_dict.bin", "a list, not a state dict"),
            ("malicious/truncated.bin", "zip"),
            ("legacy.bin", "legacy"),
        ]
        for (name, mention) in cases {
            let path = Self.root.appendingPathComponent(name).path
            XCTAssertThrowsError(try SafeTensorsFile(pytorchPath: path), name) { error in
                guard case TLModelError.invalidPyTorchCheckpoint(let p, _) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertTrue("\(error)".contains(mention), "\(name): \(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a pickle's code ran")
    }

    /// Truncations and single-byte corruptions of a valid archive either load or throw; none crashes,
    /// and whatever loads reads every tensor without faulting.
    func testCorruptArchivesNeverCrash() throws {
        let original = try Data(contentsOf: Self.root.appendingPathComponent("tensors.bin"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-pt-fuzz-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var variants: [Data] = stride(from: 0, to: original.count, by: 97).map { original.prefix($0) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var d = original
            d[Int.random(in: 0..<d.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            variants.append(d)
        }
        var loaded = 0
        for data in variants {
            try data.write(to: URL(fileURLWithPath: path))
            guard let file = try? SafeTensorsFile(pytorchPath: path) else { continue }
            loaded += 1
            for key in file.tensors.keys { _ = try? file.tensor(key) }
        }
        XCTAssertGreaterThan(loaded, 0, "some corruptions (inside tensor data) still load")
    }
}
