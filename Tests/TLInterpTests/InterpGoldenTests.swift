// The interpretability library against TransformerLens 3.9 (tools/goldens, stage 2): every
// patching granularity, the head detector, induction scores, the logit lens, greedy generation
// with and without a hook, and direct logit attribution.
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class InterpGoldenTests: XCTestCase {
    let tol: Float = 1e-4

    struct Fixture {
        let golden: Golden
        let interp: Golden
        let model: HookedTransformer
        var meta: [String: Any] { interp.meta }
        func section(_ k: String) -> [String: Any] { meta[k] as! [String: Any] }
    }

    func fixture(_ name: String) throws -> Fixture {
        let g = try Golden(name)
        return Fixture(golden: g, interp: try Golden(name, file: "interp.safetensors"),
                       model: try HookedTransformer.load(directory: g.hfDirectory))
    }

    func testEveryPatchingGranularityMatchesTransformerLens() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let p = f.section("patching")
            let patcher = try Patcher(model: f.model, clean: p["clean_tokens"] as! [Int], corrupt: p["corrupted_tokens"] as! [Int],
                                      metric: .logitDiff(answer: p["t1"] as! Int, wrong: p["t2"] as! Int))
            XCTAssertEqual(patcher.cleanValue, try f.interp.tensor("patching/clean_metric").data[0], accuracy: tol)
            XCTAssertEqual(patcher.corruptValue, try f.interp.tensor("patching/corrupted_metric").data[0], accuracy: tol)
            func sweep(_ act: String, _ axes: [PatchAxis]) throws -> Tensor { try patcher.sweep(activation: act, axes: axes).values }
            for act in ["resid_pre", "resid_mid", "attn_out", "mlp_out", "resid_post"] {
                assertClose(try sweep(act, [.layer, .pos]), try f.interp.tensor("patching/\(act)"), tol: tol, "\(name) \(act)")
            }
            for (key, act) in [("out", "z"), ("q", "q"), ("k", "k"), ("v", "v")] {
                assertClose(try sweep(act, [.layer, .pos, .head]), try f.interp.tensor("patching/attn_head_\(key)_by_pos"), tol: tol, "\(name) \(act) by pos")
                assertClose(try sweep(act, [.layer, .head]), try f.interp.tensor("patching/attn_head_\(key)_all_pos"), tol: tol, "\(name) \(act) all pos")
            }
            assertClose(try sweep("pattern", [.layer, .head, .dest]), try f.interp.tensor("patching/attn_head_pattern_by_pos"), tol: tol, "\(name) pattern by pos")
            assertClose(try sweep("pattern", [.layer, .head]), try f.interp.tensor("patching/attn_head_pattern_all_pos"), tol: tol, "\(name) pattern all pos")
            if f.interp.has("patching/attn_head_pattern_dest_src_pos") {
                assertClose(try sweep("pattern", [.layer, .head, .dest, .src]), try f.interp.tensor("patching/attn_head_pattern_dest_src_pos"),
                            tol: tol, "\(name) pattern dest×src")
            }
            // The "every" summaries are stacks of the above.
            let allPos = try Tensor.stack(try ["z", "q", "k", "v", "pattern"].map { try sweep($0, [.layer, .head]) })
            assertClose(allPos, try f.interp.tensor("patching/attn_head_all_pos_every"), tol: tol, "\(name) all_pos_every")
            let byPos = try Tensor.stack(try ["z", "q", "k", "v"].map { try sweep($0, [.layer, .pos, .head]) }
                                         + [try sweep("pattern", [.layer, .head, .dest]).permuted([0, 2, 1])])
            assertClose(byPos, try f.interp.tensor("patching/attn_head_by_pos_every"), tol: tol, "\(name) by_pos_every")
            let block = try Tensor.stack(try ["resid_pre", "attn_out", "mlp_out"].map { try sweep($0, [.layer, .pos]) })
            assertClose(block, try f.interp.tensor("patching/block_every"), tol: tol, "\(name) block_every")
        }
    }

    func testHeadDetectorMatchesTransformerLens() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let d = f.section("head_detector")
            let tokens = d["tokens"] as! [Int]
            for run in d["runs"] as! [[String: Any]] {
                let kind = (run["detection_pattern"] as! String).replacingOccurrences(of: "_head", with: "")
                let measure = ErrorMeasure(rawValue: run["error_measure"] as! String)!
                let scores = try HeadDetector.detect(model: f.model, tokens: tokens, pattern: HeadPattern(rawValue: kind)!,
                                                     excludeBOS: run["exclude_bos"] as! Bool, excludeCurrentToken: run["exclude_current_token"] as! Bool,
                                                     measure: measure)
                // abs scores are rounded to 3 decimals by TransformerLens.
                assertClose(scores, try f.interp.tensor(run["key"] as! String), tol: measure == .abs ? 1e-3 : tol, "\(name) \(run["key"]!)",
                            ignoreShape: true)
            }
        }
    }

    func testInductionScoresAndLoss() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let tokens = f.section("induction")["tokens"] as! [[Int]]
            let (logits, cache) = try f.model.runWithCache(tokens: tokens)
            let half = (tokens[0].count - 1) / 2
            assertClose(try HeadDetector.inductionScores(cache: cache, length: half), try f.interp.tensor("induction/scores"), tol: tol, "\(name) induction scores")
            assertClose(crossEntropyLoss(logits: logits, tokens: tokens).perToken, try f.interp.tensor("induction/loss_per_token"), tol: tol,
                        "\(name) induction loss per token")
        }
    }

    func testLogitLens() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let tokens = f.section("logit_lens")["tokens"] as! [Int]
            let (_, cache) = try f.model.runWithCache(tokens: [tokens])
            let lens = try LogitLens.compute(cache: cache)
            XCTAssertEqual(lens.labels, f.section("logit_lens")["labels"] as! [String])
            assertClose(lens.logProbs, try f.interp.tensor("logit_lens/log_probs"), tol: tol, "\(name) lens", ignoreShape: true)
        }
    }

    func testGreedyGenerationWithAndWithoutHooks() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let g = f.section("generate")
            let prompt = g["prompt"] as! [Int]
            let generator = Generator(model: f.model)
            let plain = try generator.generate(prompt: prompt, maxNewTokens: 10, stopAtEOS: false)
            XCTAssertEqual(prompt + plain, (try f.interp.tensor("generate/plain_tokens")).data.map { Int($0) }, "\(name) greedy")
            let vector = try f.interp.tensor("generate/hook_vector").data
            let hooked = try generator.generate(prompt: prompt, maxNewTokens: 10, stopAtEOS: false,
                                                hooks: [steeringHook(name: "blocks.0.hook_resid_post", vector: vector, coefficient: 2)])
            XCTAssertEqual(prompt + hooked, (try f.interp.tensor("generate/hooked_tokens")).data.map { Int($0) }, "\(name) greedy with a hook")
        }
    }

    func testDirectLogitAttribution() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let d = f.section("dla")
            let (_, cache) = try f.model.runWithCache(tokens: [d["tokens"] as! [Int]])
            for (key, wrong) in [("t1", nil), ("t1_minus_t2", d["t2"] as? Int)] as [(String, Int?)] {
                let a = try DirectLogitAttribution.attribute(cache: cache, token: d["t1"] as! Int, wrong: wrong)
                assertClose(Tensor(shape: [a.components.count], data: a.components.map(\.value)),
                            try f.interp.tensor("dla/decompose_resid/\(key)"), tol: tol, "\(name) dla blocks \(key)", ignoreShape: true)
                assertClose(a.heads, try f.interp.tensor("dla/stack_head_results/\(key)"), tol: tol, "\(name) dla heads \(key)", ignoreShape: true)
            }
        }
    }
}
