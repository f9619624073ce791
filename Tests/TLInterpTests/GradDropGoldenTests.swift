// AtP*'s GradDrop against torch autograd through TransformerLens 3.9 (tools/goldens/graddrop.py):
// L attributions, each with one layer's residual-stream contribution detached, combined as
// 1/(L − 1) Σ |estimate|.
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class GradDropGoldenTests: XCTestCase {
    func testGradDropMatchesAutograd() throws {
        for name in ["tiny-a", "tiny-b"] {
            let g = try Golden(name)
            let golden = try Golden(name, file: "graddrop.safetensors")
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            let metric = PatchMetric.logitDiff(answer: golden.meta["t1"] as! Int, wrong: golden.meta["t2"] as! Int)
            let atp = try AttributionPatcher(model: model, clean: golden.meta["clean_tokens"] as! [Int],
                                             corrupt: golden.meta["corrupted_tokens"] as! [Int], metric: metric)
            let cases: [(String, String, [AttributionAxis])] = [
                ("resid_pre", "layer_pos", [.layer, .pos]), ("resid_post", "layer_pos", [.layer, .pos]),
                ("attn_out", "layer_pos", [.layer, .pos]), ("mlp_out", "layer_pos", [.layer, .pos]),
                ("z", "layer_head", [.layer, .head]), ("z", "layer_pos_head", [.layer, .pos, .head]),
                ("k", "layer_pos_head", [.layer, .pos, .head]), ("pattern", "layer_head_dest", [.layer, .head, .dest]),
                ("post", "layer_neuron", [.layer, .neuron]),
            ]
            for (act, key, axes) in cases {
                let want = try golden.tensor("graddrop/\(act)/\(key)")
                let got = try atp.attributeGradDrop(activation: act, axes: axes).values
                let scale = want.data.map(abs).max() ?? 0
                XCTAssertGreaterThan(scale, 0, "\(name) \(act) \(key): an all-zero golden cannot test anything")
                assertClose(got, want, tol: 1e-4 * scale + 1e-6, "\(name) GradDrop \(act) \(key)")
                XCTAssertTrue(got.data.allSatisfy { $0 >= 0 }, "GradDrop scores are sums of magnitudes")
            }
            // It differs from plain attribution patching (else the test could not tell them apart).
            let plain = try atp.attribute(activation: "z", axes: [.layer, .head]).values.data.map(abs)
            let dropped = try atp.attributeGradDrop(activation: "z", axes: [.layer, .head]).values.data
            XCTAssertGreaterThan(zip(plain, dropped).map { abs($0 - $1) }.max() ?? 0, 1e-4)
        }
    }
}
