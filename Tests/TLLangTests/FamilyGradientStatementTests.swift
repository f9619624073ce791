// The issue's gradient statements on every family beyond GPT-2 (`grad`, `save g`, `attrib resid_post
// layer=* pos=*`, `attrib z layer=* head=*`, `eap`, `eap steps=3 ig=activations`), compared with the torch autograd goldens of
// tools/goldens/gradients.py --families.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTestSupport
import TLTensor

final class FamilyGradientStatementTests: XCTestCase {
    func testGradAndAttribStatementsOnEachFamily() throws {
        for name in ["pythia-a", "pythia-b", "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b",
                     "qwen3-a", "qwen3-b", "gemma-a", "gemma-b", "gemma2-a", "gemma2-b"] {
            let g = try Golden(name, file: "gradients.safetensors", root: Golden.familiesRoot)
            let s = Session(environment: ProcessInfo.processInfo.environment)
            s.output = CapturingOutput()
            let list = { (key: String) in "[" + (g.meta[key] as! [Int]).map(String.init).joined(separator: ", ") + "]" }
            let t1 = g.meta["t1"] as! Int, t2 = g.meta["t2"] as! Int
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-famgrad-\(name)-\(getpid()).safetensors")
            defer { try? FileManager.default.removeItem(at: out) }
            do {
                // These directories have no tokenizer, so the metric's token ids are bound directly
                // (what `metric = logit_diff " Paris" " Rome"` binds for a tokenised model).
                try s.execute("""
                    model "\(g.hfDirectory.path)"
                    clean = run \(list("clean_tokens")) bos=false; corrupt = run \(list("corrupted_tokens")) bos=false
                    """)
                s.variables["metric"] = .metric(MetricValue(metric: .logitDiff(answer: t1, wrong: t2), description: "logit difference"))
                try s.execute("""
                    g = grad corrupt
                    save g "\(out.path)"
                    a = attrib resid_post layer=* pos=*
                    b = attrib z layer=* head=*
                    e = eap top=5
                    ea = eap top=5 steps=3 ig=activations
                    """)
            } catch { XCTFail("\(name): \(error.rendered)"); continue }
            let saved = try SafeTensorsFile(path: out.path)
            let keys = (g.meta["keys"] as! [String: Any]).keys.filter { $0.hasPrefix("grad/logit_diff/") }
            XCTAssertGreaterThan(keys.count, 20)
            for key in keys {
                let hook = String(key.dropFirst("grad/logit_diff/".count))
                guard saved.tensors[hook] != nil else { XCTFail("\(name): \(hook) not saved"); continue }
                let (shape, data) = try saved.tensor(hook)
                let want = try g.tensor(key)
                assertClose(Tensor(shape: shape, data: data).reshaped(want.shape), want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, "\(name) saved \(hook)")
            }
            for (variable, key) in [("a", "attrib/resid_post/layer_pos"), ("b", "attrib/z/layer_head"), ("e", "eap/eap"), ("ea", "eap/eap_ig3_act")] {
                guard case .result(_, let data?)? = s.variables[variable] else { XCTFail("\(name): no \(variable)"); continue }
                let want = try g.tensor(key)
                assertClose(data.tensor, want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, "\(name) \(variable)")
            }
        }
    }
}
