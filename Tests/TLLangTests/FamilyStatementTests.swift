// The statements the family checks use, on a Hugging Face directory of each family: `model "DIR"`,
// `c = run [ids] bos=false`, `save c "x.safetensors"` (every activation under its TransformerLens
// hook name, plus logits), compared with the TransformerLens goldens of tools/goldens/families.py.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTestSupport
import TLTensor

final class FamilyStatementTests: XCTestCase {
    private let output = CapturingOutput()

    func testModelRunAndSaveOnEachFamily() throws {
        for name in ["pythia-a", "llama-a", "mistral-a", "qwen2-a", "qwen3-a"] {
            let g = try Golden(name, root: Golden.familiesRoot)
            let s = Session(environment: ProcessInfo.processInfo.environment)
            s.output = output
            let ids = (g.meta["tokens"] as! [Int]).map(String.init).joined(separator: ", ")
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-family-\(name)-\(getpid()).safetensors")
            defer { try? FileManager.default.removeItem(at: out) }
            _ = try s.execute("model \"\(g.hfDirectory.path)\"\nc = run [\(ids)] bos=false\nsave c \"\(out.path)\"")
            let saved = try SafeTensorsFile(path: out.path)
            for key in g.cacheKeys("processed") + ["logits"] {
                guard saved.tensors[key] != nil else { XCTFail("\(name): \(key) not saved"); continue }
                let (shape, data) = try saved.tensor(key)
                let golden = try g.tensor(key == "logits" ? "processed/logits" : "processed/cache/\(key)")
                assertClose(Tensor(shape: shape, data: data), golden, tol: 1e-4, "\(name) saved \(key)")
            }
        }
    }
}
