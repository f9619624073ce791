// Feature patching (clean → corrupted copies of single SAE features in hook_sae_acts_post, error
// term on) against HookedSAETransformer's run_with_hooks on family models
// (tools/goldens/saes.py --families-only → Tests/Fixtures/sae_families, feature_patch/*), and
// ordinary activation patching with an SAE spliced in, checked against its definition.
import Foundation
import XCTest
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class FeaturePatchingGoldenTests: XCTestCase {
    static let root = Golden.root.deletingLastPathComponent().appendingPathComponent("sae_families")
    static let cases = ["llama_standard", "llama_topk_hook_z", "llama_transcoder", "gemma2_jumprelu", "gemma2_standard_mlp_cnr"]

    struct Fixture {
        let model: HookedTransformer
        let sae: SparseAutoencoder
        let golden: SafeTensorsFile
        let tokens: [Int]
        let patch: [String: Any]
        var corrupted: [Int] { patch["corrupted"] as! [Int] }
        var features: [Int] { patch["features"] as! [Int] }
        var metric: PatchMetric { .logitDiff(answer: patch["t1"] as! Int, wrong: patch["t2"] as! Int) }
        func tensor(_ key: String) throws -> Tensor {
            let (shape, data) = try golden.tensor(key)
            return Tensor(shape: shape, data: data)
        }
    }

    func load(_ name: String) throws -> Fixture {
        let dir = Self.root.appendingPathComponent(name)
        let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as! [String: Any]
        let model = try HookedTransformer.load(directory: try Golden(meta["model"] as! String, root: Golden.familiesRoot).hfDirectory)
        return Fixture(model: model, sae: try SparseAutoencoder.load(directory: dir.appendingPathComponent("sae")),
                       golden: try SafeTensorsFile(path: dir.appendingPathComponent("golden.safetensors").path),
                       tokens: meta["tokens"] as! [Int], patch: meta["feature_patch"] as! [String: Any])
    }

    /// Metrics are logit differences of order 1–5 (Gemma-2's capped logits); Float32 sums differ
    /// from torch's in order.
    let tol: Float = 1e-4

    func testFeaturePatchingMatchesHookedSAETransformer() throws {
        for name in Self.cases {
            let f = try load(name)
            let patcher = try FeaturePatcher(model: f.model, splices: [SAESplice(f.sae, useErrorTerm: true)],
                                             clean: f.tokens, corrupt: f.corrupted, metric: f.metric)
            XCTAssertEqual(patcher.cleanValue, try f.tensor("feature_patch/clean_metric").data[0], accuracy: tol, "\(name) clean")
            XCTAssertEqual(patcher.corruptValue, try f.tensor("feature_patch/corrupted_metric").data[0], accuracy: tol, "\(name) corrupt")
            // The generator picked the features that differ most; so does mostChangedFeatures.
            XCTAssertEqual(patcher.mostChangedFeatures(f.features.count), f.features, "\(name) most changed features")
            let byPos = try patcher.sweep(features: f.features, positions: Array(0..<f.tokens.count))
            assertClose(byPos.values, try f.tensor("feature_patch/by_pos"), tol: tol, "\(name) by position")
            let all = try patcher.sweep(features: f.features)
            assertClose(all.values, try f.tensor("feature_patch/all_pos"), tol: tol, "\(name) all positions")
            // The fixtures must show effects: some cell moves the metric away from corrupt.
            XCTAssertTrue(all.values.data.contains { abs($0 - patcher.corruptValue) > 1e-2 }, "\(name): no patch had an effect")
        }
    }

    /// Setting a feature to 0 equals splicing with that feature ablated (ablate=).
    func testValueZeroIsAblation() throws {
        let f = try load("llama_standard")
        let feature = f.features[0]
        let patcher = try FeaturePatcher(model: f.model, splices: [SAESplice(f.sae, useErrorTerm: true)],
                                         clean: f.tokens, corrupt: f.corrupted, metric: f.metric)
        let zero = try patcher.sweep(features: [feature], value: 0).values.data[0]
        var o = RunOptions()
        o.hooks = SAESplice(f.sae, useErrorTerm: true, ablate: [feature]).hooks(for: f.model)
        let ablated = f.metric.value(logits: try f.model.run(tokens: [f.corrupted], options: o).logits!, tokens: f.corrupted)
        XCTAssertEqual(zero, ablated, accuracy: 1e-5)
        XCTAssertNotEqual(zero, patcher.corruptValue, accuracy: 1e-3)
    }

    /// patch HOOK with SAEs spliced: each patched run is the spliced corrupt run with the clean
    /// (spliced) activation copied in — the same as run_with_hooks on a full forward.
    func testActivationPatchingWithSAEsSpliced() throws {
        let f = try load("llama_transcoder")
        let splice = SAESplice(f.sae, useErrorTerm: false)
        let hooks = splice.hooks(for: f.model)
        let (_, cleanCache) = try f.model.runWithCache(tokens: [f.tokens], hooks: hooks)
        let patcher = try Patcher(model: f.model, clean: f.tokens, corrupt: f.corrupted, metric: f.metric, cleanCache: cleanCache, spliceHooks: hooks)
        let result = try patcher.sweep(activation: "resid_pre", axes: [.layer, .pos])
        let P = f.tokens.count
        for layer in 0..<f.model.config.nLayers {
            for p in [0, P / 2, P - 1] {
                let name = "blocks.\(layer).hook_resid_pre"
                var o = RunOptions()
                o.hooks = hooks + [ForwardHook(name: name) { act, _ in
                    let clean = cleanCache[name]!, d = act.shape[2]
                    for j in 0..<d { act.data[p * d + j] = clean.data[p * d + j] }
                }]
                let expected = f.metric.value(logits: try f.model.run(tokens: [f.corrupted], options: o).logits!, tokens: f.corrupted)
                XCTAssertEqual(result.values.data[layer * P + p], expected, accuracy: 1e-4, "layer \(layer) pos \(p)")
            }
        }
        // Unspliced patching gives other numbers: the splice is in the runs.
        let plain = try Patcher(model: f.model, clean: f.tokens, corrupt: f.corrupted, metric: f.metric)
            .sweep(activation: "resid_pre", axes: [.layer, .pos])
        XCTAssertTrue(plain.values.maxAbsDifference(result.values) > 1e-3)
    }
}
