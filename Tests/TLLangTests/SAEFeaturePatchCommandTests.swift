// The statements that patch SAE features, attribute logits to features and steer with them, on
// family models, against HookedSAETransformer (tools/goldens/saes.py --families-only):
// `patch features saes=[s] error=true`, `features s cs dla=A - B`, `dla ... saes=[s]`.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTensor
import TLTestSupport

final class SAEFeaturePatchCommandTests: XCTestCase {
    private let output = CapturingOutput()
    let root = repositoryRoot.appendingPathComponent("Tests/Fixtures/sae_families")

    struct Fixture {
        let meta: [String: Any]
        let golden: SafeTensorsFile
        var patch: [String: Any] { meta["feature_patch"] as! [String: Any] }
        func ids(_ t: [Int]) -> String { t.map(String.init).joined(separator: ", ") }
        var clean: String { ids(meta["tokens"] as! [Int]) }
        var corrupt: String { ids(patch["corrupted"] as! [Int]) }
        var t1: Int { patch["t1"] as! Int }
        var t2: Int { patch["t2"] as! Int }
        var features: [Int] { patch["features"] as! [Int] }
        func tensor(_ key: String) throws -> Tensor {
            let (shape, data) = try golden.tensor(key)
            return Tensor(shape: shape, data: data)
        }
    }

    func fixture(_ name: String) throws -> Fixture {
        let dir = root.appendingPathComponent(name)
        return Fixture(meta: try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as! [String: Any],
                       golden: try SafeTensorsFile(path: dir.appendingPathComponent("golden.safetensors").path))
    }

    /// A session with the fixture's model, SAE `s`, clean/corrupt caches and the metric.
    func session(_ name: String, _ f: Fixture) throws -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = output
        let model = try Golden(f.meta["model"] as! String, root: Golden.familiesRoot).hfDirectory.path
        try s.execute("""
            model "\(model)"
            s = sae "\(root.path)/\(name)/sae"
            clean = run [\(f.clean)] bos=false
            corrupt = run [\(f.corrupt)] bos=false
            metric = logit_diff \(f.t1) \(f.t2)
            """)
        return s
    }

    func tensor(_ s: Session, _ name: String) throws -> Tensor {
        if case .result(_, let data?)? = s.variables[name] { return data.tensor }
        guard case .tensor(let t)? = s.variables[name] else {
            XCTFail("\(name) is not a tensor: \(String(describing: s.variables[name]))")
            throw TLLangError.runtime("\(name) is not a tensor")
        }
        return t.tensor
    }

    func testPatchFeaturesMatchesHookedSAETransformer() throws {
        for name in ["llama_standard", "gemma2_jumprelu", "llama_transcoder"] {
            let f = try fixture(name)
            let s = try session(name, f)
            let features = f.features.map(String.init).joined(separator: ", ")
            try s.execute("""
                by_pos = patch features saes=[s] error=true feature=[\(features)] pos=*
                all_pos = patch features saes=[s] error=true feature=[\(features)]
                ranked = patch features saes=[s] error=true k=\(f.features.count)
                """)
            assertClose(try tensor(s, "by_pos"), try f.tensor("feature_patch/by_pos"), tol: 1e-4, "\(name) by position")
            assertClose(try tensor(s, "all_pos"), try f.tensor("feature_patch/all_pos"), tol: 1e-4, "\(name) all positions")
            // Without feature=, the k features whose activation differs most: the generator's choice.
            assertClose(try tensor(s, "ranked"), try f.tensor("feature_patch/all_pos"), tol: 1e-4, "\(name) most changed features")
        }
    }

    func testFeatureDLAMatchesTransformerLensLogitAttrs() throws {
        for name in ["llama_standard", "llama_transcoder", "gemma2_jumprelu", "gemma2_standard_mlp_cnr"] {
            let f = try fixture(name)
            let s = try session(name, f)
            try s.execute("""
                cs = run [\(f.clean)] bos=false saes=[s] error=true
                fd = features s cs dla=\(f.t1) - \(f.t2)
                """)
            let expected = try f.tensor("feature_dla")
            let got = try tensor(s, "fd")
            assertClose(got, expected, tol: 1e-4 * max(1, expected.data.map(abs).max()!), "\(name) feature DLA")
            XCTAssertTrue(expected.data.contains { abs($0) > 1e-2 }, "\(name): the golden attributes nothing")
            // dla with saes= shows the same features' attributions beside the components.
            let shown = try s.execute("dla \(f.t1) - \(f.t2) cache=clean saes=[s] error=true k=3")?.plainText ?? ""
            let top = got.data.indices.max { abs(got.data[$0]) < abs(got.data[$1]) }!
            XCTAssertTrue(shown.contains("features of the SAE at"), shown)
            XCTAssertTrue(shown.contains("\(top)"), "\(name): top feature \(top) not shown")
        }
    }

    func testPatchFeaturesErrorsNameTheFix() throws {
        let f = try fixture("llama_standard")
        let s = try session("llama_standard", f)
        for (statement, message) in [("patch features", "needs the SAE"),
                                     ("patch features saes=[s] layer=0", "does not apply to features"),
                                     ("patch resid_pre feature=[1]", "goes with patch features"),
                                     ("patch features saes=[s] feature=[100000]", "out of range")] {
            XCTAssertThrowsError(try s.execute(statement), statement) { e in
                XCTAssertTrue("\(e)".contains(message), "\(statement): \(e)")
            }
        }
        // patch HOOK with saes= runs and differs from the unspliced sweep.
        try s.execute("""
            plain = patch resid_pre layer=* pos=-1
            spliced = patch resid_pre layer=* pos=-1 saes=[s]
            """)
        XCTAssertTrue(try tensor(s, "plain").maxAbsDifference(try tensor(s, "spliced")) > 1e-4)
    }
}
