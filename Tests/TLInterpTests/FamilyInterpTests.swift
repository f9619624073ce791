// Patching and direct logit attribution on the families beyond GPT-2 (tools/goldens/families.py):
// residual and per-head sweeps against TransformerLens 3.9, and a key/value-head sweep under
// grouped-query attention, which TransformerLens's own helper cannot run (its issue #980).
import Foundation
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class FamilyInterpTests: XCTestCase {
    let tol: Float = 1e-4
    let models = ["pythia-a", "pythia-b", "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b", "qwen3-a", "qwen3-b", "gemma-a", "gemma-b", "gemma2-a", "gemma2-b"]

    func testPatchingAndDLAMatchTransformerLens() throws {
        for name in models {
            let g = try Golden(name, root: Golden.familiesRoot)
            let info = g.meta["interp"] as! [String: Any]
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            let clean = info["clean"] as! [Int], corrupt = info["corrupted"] as! [Int]
            let t1 = info["t1"] as! Int, t2 = info["t2"] as! Int
            let patcher = try Patcher(model: model, clean: clean, corrupt: corrupt, metric: .logitDiff(answer: t1, wrong: t2))
            XCTAssertEqual(patcher.cleanValue, try g.tensor("interp/clean_metric").data[0], accuracy: tol, name)
            XCTAssertEqual(patcher.corruptValue, try g.tensor("interp/corrupted_metric").data[0], accuracy: tol, name)
            assertClose(try patcher.sweep(activation: "resid_pre", axes: [.layer, .pos]).values,
                        try g.tensor("interp/resid_pre"), tol: tol, "\(name) resid_pre sweep")
            assertClose(try patcher.sweep(activation: "z", axes: [.layer, .pos, .head]).values,
                        try g.tensor("interp/attn_head_out_by_pos"), tol: tol, "\(name) head out by pos")
            // hook_k has kv_heads heads: head=* sweeps those, not the query heads.
            assertClose(try patcher.sweep(activation: "k", axes: [.layer, .head]).values,
                        try g.tensor("interp/k_kv_head_all_pos"), tol: tol, "\(name) k per kv head")

            let (_, cache) = try model.runWithCache(tokens: [clean])
            let a = try DirectLogitAttribution.attribute(cache: cache, token: t1, wrong: t2)
            assertClose(Tensor(shape: [a.components.count], data: a.components.map(\.value)),
                        try g.tensor("interp/dla/decompose_resid"), tol: tol, "\(name) dla blocks", ignoreShape: true)
            assertClose(a.heads, try g.tensor("interp/dla/stack_head_results"), tol: tol, "\(name) dla heads", ignoreShape: true)
        }
    }

    /// Greedy generation (incremental, on the key/value cache: rotary offsets, kv heads, the sliding
    /// window over cached keys) is token-identical with Hugging Face's generate.
    func testGreedyGenerationMatchesTransformers() throws {
        for name in models {
            let g = try Golden(name, root: Golden.familiesRoot)
            let info = g.meta["hf_greedy"] as! [String: Any]
            let prompt = info["prompt"] as! [Int]
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
            let new = try Generator(model: model).generate(prompt: prompt, maxNewTokens: 10, stopAtEOS: false)
            XCTAssertEqual(prompt + new, info["tokens"] as! [Int], "\(name) greedy")
        }
    }
}
