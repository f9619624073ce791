// `lens`, `detect` and per-head `patch` as statements on the families beyond GPT-2, against the
// TransformerLens goldens of tools/goldens/family_lens_heads.py: query heads for q and z, key/value
// heads for k and v under grouped-query (llama-a, 4 on 2) and multi-query (mistral-a, gemma-a, gemma2-b)
// attention.
import Foundation
import XCTest
@testable import TLLang
import TLInterp
import TLModel
import TLTestSupport
import TLTensor

final class FamilyLensHeadsStatementTests: XCTestCase {
    let models = ["pythia-a", "llama-a", "mistral-a", "qwen3-a", "gemma-a", "gemma2-a", "gemma2-b"]

    func list(_ ids: [Int]) -> String { "[" + ids.map(String.init).joined(separator: ", ") + "]" }

    func result(_ s: Session, _ name: String) throws -> Tensor {
        guard case .result(_, let data?)? = s.variables[name] else { throw TLLangError.runtime("no result \(name)") }
        return data.tensor
    }

    func tol(_ t: Tensor) -> Float { 1e-4 * max(1, t.data.map(abs).max() ?? 0) }

    func testLensDetectAndPerHeadPatchStatements() throws {
        for name in models {
            let g = try Golden(name, file: "lens_heads.safetensors", root: Golden.familiesRoot)
            let lens = g.meta["lens"] as! [String: Any], heads = g.meta["heads"] as! [String: Any]
            let detector = (g.meta["head_detector"] as! [String: Any])["tokens"] as! [Int]
            let s = Session(environment: ProcessInfo.processInfo.environment)
            s.output = CapturingOutput()
            do {
                try s.execute("""
                    model "\(g.hfDirectory.path)"
                    c = run \(list(lens["tokens"] as! [Int])) bos=false
                    l = lens c pos=\(list(lens["positions"] as! [Int]))
                    prev = detect previous_token \(list(detector))
                    ind = detect induction \(list(detector)) measure=abs exclude_bos=true
                    clean = run \(list(heads["clean"] as! [Int])) bos=false; corrupt = run \(list(heads["corrupted"] as! [Int])) bos=false
                    """)
                // These directories have no tokenizer: bind the metric's ids directly.
                s.variables["metric"] = .metric(MetricValue(metric: .logitDiff(answer: heads["t1"] as! Int, wrong: heads["t2"] as! Int),
                                                            description: "logit difference"))
                try s.execute("pq = patch q layer=* head=*\npz = patch z layer=* head=*\npv = patch v layer=* head=*")
            } catch { XCTFail("\(name): \(error.rendered)"); continue }
            let checks = [("l", "lens/log_probs"), ("prev", "head_detector/previous_token_head/mul/bos0_cur0"),
                          ("ind", "head_detector/induction_head/abs/bos1_cur0"), ("pq", "heads/q_all_pos"),
                          ("pz", "heads/z_all_pos"), ("pv", "heads/v_kv_head_all_pos")]
            for (variable, key) in checks {
                let want = try g.tensor(key)
                assertClose(try result(s, variable), want, tol: variable == "ind" ? 1e-3 + 1e-6 : tol(want), "\(name) \(variable)",
                            ignoreShape: variable == "l")
            }
        }
    }

    /// head= on k or v counts key/value heads: a query-head index past them is refused at head=,
    /// naming how many there are, and the session keeps its variables.
    func testHeadIndexOnSharedKeyValueHeadsIsRefusedClearly() throws {
        let g = try Golden("llama-a", file: "lens_heads.safetensors", root: Golden.familiesRoot)
        let heads = g.meta["heads"] as! [String: Any]
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = CapturingOutput()
        try s.execute("""
            model "\(g.hfDirectory.path)"
            clean = run \(list(heads["clean"] as! [Int])) bos=false; corrupt = run \(list(heads["corrupted"] as! [Int])) bos=false
            """)
        s.variables["metric"] = .metric(MetricValue(metric: .logitDiff(answer: heads["t1"] as! Int, wrong: heads["t2"] as! Int),
                                                    description: "logit difference"))
        XCTAssertThrowsError(try s.execute("p = patch v layer=0 head=3")) { error in
            let text = (error as? ExecutionError)?.rendered ?? "\(error)"
            XCTAssertTrue(text.contains("head=3 is out of range: there are 2 key/value heads"), text)
            XCTAssertTrue(text.contains("serves 2 query heads"), text)
        }
        XCTAssertNil(s.variables["p"])
        try s.execute("p = patch k layer=0 head=1\nq = patch q layer=0 head=3")
        XCTAssertNotNil(s.variables["p"])
        XCTAssertNotNil(s.variables["q"])
    }
}
