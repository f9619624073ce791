// `model NAME` by TransformerLens's names and aliases for each family, downloaded from the fake hub
// (Tests/Fixtures/hub/fake_hub.py serves the tiny random models of Tests/Fixtures/families under
// the real repo names), including a Pythia revision that publishes only pytorch_model.bin.
import Foundation
import XCTest
@testable import TLLang
import TLHub
import TLTestSupport
import TLTensor

final class HubFamilyTests: XCTestCase {
    func testEachFamilyLoadsByNameFromTheHub() throws {
        let server = try FakeHubServer()
        defer { server.stop() }
        let home = try makeTemporaryDirectory("tlsh-hub-families")
        defer { try? FileManager.default.removeItem(at: home) }
        let environment = ["HF_HOME": home.path, "HF_ENDPOINT": server.endpoint, "HOME": home.path]
        // name → (fixture whose goldens it must reproduce, weight file the snapshot holds)
        let cases: [(String, String, String)] = [
            ("pythia-70m", "pythia-a", "model.safetensors"),
            ("EleutherAI/pythia-70m-deduped@step3000", "pythia-a", "pytorch_model.bin"),
            ("pythia-70m-deduped", "pythia-b", "model-00001-of-00003.safetensors"),
            ("llama-3.2-1b", "llama-a", "model.safetensors"),
            ("mistral-7b", "mistral-a", "model.safetensors"),
            ("qwen2.5-0.5b", "qwen2-a", "model.safetensors"),
            ("qwen3-0.6b", "qwen3-a", "model.safetensors"),
            ("gemma-2-2b", "gemma2-a", "model.safetensors"),
            ("gemma-2b", "gemma-a", "model.safetensors"),
            ("google/gemma-7b", "gemma-b", "model.safetensors"),
            ("qwen1.5-0.5b", "qwen2-b", "model.safetensors"),
        ]
        for (name, fixture, weights) in cases {
            let g = try Golden(fixture, root: Golden.familiesRoot)
            let s = Session(environment: environment)
            s.output = CapturingOutput()
            do { try s.execute("model \(name)") } catch { XCTFail("\(name): \(error)"); continue }
            let loaded = try XCTUnwrap(s.current, name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: loaded.directory.appendingPathComponent(weights).path),
                          "\(name): \(loaded.directory.path) lacks \(weights)")
            let logits = try XCTUnwrap(try loaded.model.run(tokens: [g.meta["tokens"] as! [Int]]).logits)
            let expected = try g.tensor("processed/logits")
            let scale = max(1, expected.data.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 })
            assertClose(logits, expected, tol: 1e-4 * scale, "\(name) from the hub")
        }
    }
}
