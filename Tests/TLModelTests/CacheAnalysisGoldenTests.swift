// ActivationCache analyses against TransformerLens 3.9 on the processed fixture models.
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class CacheAnalysisGoldenTests: XCTestCase {
    let tol: Float = 1e-4

    func testResidualStackAnalyses() throws {
        for name in goldenModels {
            let g = try Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            let (logits, cache) = try model.runWithCache(tokens: [g.seqA])
            func check(_ key: String, _ stack: ResidualStack, ignoreShape: Bool = false) throws {
                assertClose(stack.tensor, try g.tensor("analysis/\(key)"), tol: tol, "\(name) \(key)", ignoreShape: ignoreShape)
                XCTAssertEqual(stack.labels, g.labels(key), "\(name) \(key) labels")
            }
            try check("accumulated_resid", cache.accumulatedResid(inclMid: true, applyLN: true))
            try check("accumulated_resid_noln", cache.accumulatedResid(layer: 1))
            try check("decompose_resid", cache.decomposeResid(applyLN: true))
            try check("stack_head_results", cache.stackHeadResults(inclRemainder: true, applyLN: true))
            try check("stack_neuron_results", cache.stackNeuronResults(layer: 1, posSlice: .index(-1)))
            try check("full_resid_decomposition", cache.fullResidDecomposition(posSlice: .index(-1)))
            try check("full_resid_decomposition_mlp", cache.fullResidDecomposition(expandNeurons: false))

            let t1 = g.int("t1"), t2 = g.int("t2")
            let heads = try cache.stackHeadResults()
            assertClose(try cache.logitAttrs(heads.tensor, token: t1, incorrectToken: t2), try g.tensor("analysis/logit_attrs"),
                        tol: tol, "\(name) logit_attrs")
            let headsLast = try cache.stackHeadResults(posSlice: .index(-1))
            assertClose(try cache.logitAttrs(headsLast.tensor, token: t1, incorrectToken: t2, posSlice: .index(-1)),
                        try g.tensor("analysis/logit_attrs_last"), tol: tol, "\(name) logit_attrs last position")

            let loss = crossEntropyLoss(logits: logits, tokens: [g.seqA])
            XCTAssertEqual(loss.mean, try g.tensor("analysis/loss").data[0], accuracy: 1e-5, "\(name) loss")
            assertClose(loss.perToken, try g.tensor("analysis/loss_per_token"), tol: 1e-5, "\(name) per-token loss")
        }
    }

    func testFullDecompositionSumsToResidual() throws {
        let g = try Golden("tiny-b")
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        let (_, cache) = try model.runWithCache(tokens: [g.seqA])
        let stack = try cache.fullResidDecomposition()
        let total = try stack.tensor.reduce(.sum, axis: 0)
        assertClose(total, try cache.get("resid_post", layer: -1), tol: 1e-4, "Σ rows = final residual")
    }

    func testCacheLookupByShortNames() throws {
        let g = try Golden("tiny-a")
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        let (_, cache) = try model.runWithCache(tokens: [g.seqA])
        XCTAssertEqual(try cache.get("pattern", layer: 0), cache["blocks.0.attn.hook_pattern"])
        XCTAssertEqual(try cache.get("resid_post", layer: -1), cache["blocks.1.hook_resid_post"])
        XCTAssertEqual(try cache.get("scale", layer: 1, layerType: "ln1"), cache["blocks.1.ln1.hook_scale"])
        XCTAssertEqual(try cache.get("scale"), cache["ln_final.hook_scale"])
        XCTAssertEqual(try cache.get("k6".replacingOccurrences(of: "6", with: "1")), cache["blocks.1.attn.hook_k"])
        XCTAssertThrowsError(try cache.get("resid_post", layer: 2)) { e in
            XCTAssertTrue("\(e)".contains("layers 0…1"), "\(e)")
        }
        XCTAssertThrowsError(try cache.get("nonsense", layer: 0))
    }

    func testActNameFollowsGetActName() {
        XCTAssertEqual(HookNames.actName("pattern", layer: 0), "blocks.0.attn.hook_pattern")
        XCTAssertEqual(HookNames.actName("attn", layer: 0), "blocks.0.attn.hook_pattern")
        XCTAssertEqual(HookNames.actName("z", layer: 3), "blocks.3.attn.hook_z")
        XCTAssertEqual(HookNames.actName("resid_post", layer: 3), "blocks.3.hook_resid_post")
        XCTAssertEqual(HookNames.actName("scale"), "ln_final.hook_scale")
        XCTAssertEqual(HookNames.actName("scale", layer: 4, layerType: "ln1"), "blocks.4.ln1.hook_scale")
        XCTAssertEqual(HookNames.actName("normalized", layer: 27, layerType: "ln2"), "blocks.27.ln2.hook_normalized")
        XCTAssertEqual(HookNames.actName("pre", layer: 2), "blocks.2.mlp.hook_pre")
        XCTAssertEqual(HookNames.actName("embed"), "hook_embed")
        XCTAssertEqual(HookNames.actName("k6"), "blocks.6.attn.hook_k")
        XCTAssertEqual(HookNames.actName("scale4ln1"), "blocks.4.ln1.hook_scale")
        XCTAssertEqual(HookNames.actName("k", layer: 6, layerType: "a"), "blocks.6.attn.hook_k")
        XCTAssertEqual(HookNames.actName("blocks.0.hook_resid_pre"), "blocks.0.hook_resid_pre")
    }
}
