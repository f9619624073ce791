// The logit lens, the head detector, induction scores and per-head patching (query heads for q,
// pattern and z; key/value heads for v under grouped- and multi-query attention) on every family
// beyond GPT-2, against TransformerLens 3.9 (tools/goldens/family_lens_heads.py, lens_heads.*).
import Foundation
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class FamilyLensHeadsTests: XCTestCase {
    let models = ["pythia-a", "pythia-b", "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b",
                  "qwen3-a", "qwen3-b", "gemma-a", "gemma-b", "gemma2-a", "gemma2-b"]

    /// 1e-4 of the golden's largest magnitude (at least 1e-4): log-probabilities reach −30 and
    /// Gemma-2's metrics tens, where Float32 sums of different order differ by a few 1e-6 relative.
    func tol(_ golden: Tensor) -> Float { 1e-4 * max(1, golden.data.map(abs).max() ?? 0) }

    func fixture(_ name: String) throws -> (Golden, HookedTransformer) {
        let g = try Golden(name, file: "lens_heads.safetensors", root: Golden.familiesRoot)
        return (g, try HookedTransformer.load(directory: g.hfDirectory))
    }

    func section(_ g: Golden, _ key: String) -> [String: Any] { g.meta[key] as! [String: Any] }

    func testLogitLensMatchesTransformerLens() throws {
        for name in models {
            let (g, model) = try fixture(name)
            let info = section(g, "lens")
            let tokens = info["tokens"] as! [Int]
            let (_, cache) = try model.runWithCache(tokens: [tokens])
            let lens = try LogitLens.compute(cache: cache, positions: info["positions"] as? [Int])
            XCTAssertEqual(lens.labels, info["labels"] as! [String], name)
            let want = try g.tensor("lens/log_probs")
            assertClose(lens.logProbs, want, tol: tol(want), "\(name) lens log-probs", ignoreShape: true)
            // Every position's top token (the table `lens c pos=*` shows).
            let all = try LogitLens.compute(cache: cache)
            let top1 = lens.labels.indices.flatMap { row in all.positions.indices.map { Float(all.top(layer: row, position: $0, k: 1)[0].token) } }
            XCTAssertEqual(top1, try g.tensor("lens/top1").data, "\(name) lens top-1")
        }
    }

    func testHeadDetectorMatchesTransformerLens() throws {
        for name in models {
            let (g, model) = try fixture(name)
            let d = section(g, "head_detector")
            let tokens = d["tokens"] as! [Int]
            for run in d["runs"] as! [[String: Any]] {
                let kind = HeadPattern(rawValue: (run["detection_pattern"] as! String).replacingOccurrences(of: "_head", with: ""))!
                let measure = ErrorMeasure(rawValue: run["error_measure"] as! String)!
                let scores = try HeadDetector.detect(model: model, tokens: tokens, pattern: kind, excludeBOS: run["exclude_bos"] as! Bool,
                                                     excludeCurrentToken: run["exclude_current_token"] as! Bool, measure: measure)
                // Scores are per query head: [n_layers, n_heads] under grouped- and multi-query attention too.
                XCTAssertEqual(scores.shape, [model.config.nLayers, model.config.nHeads], name)
                // TransformerLens rounds abs scores to 3 decimals, so a value at a rounding edge may land either side.
                assertClose(scores, try g.tensor(run["key"] as! String), tol: measure == .abs ? 1e-3 + 1e-6 : 1e-4,
                            "\(name) \(run["key"]!)", ignoreShape: true)
            }
        }
    }

    func testInductionScoresAndLoss() throws {
        for name in models {
            let (g, model) = try fixture(name)
            let info = section(g, "induction")
            let tokens = info["tokens"] as! [[Int]]
            let (logits, cache) = try model.runWithCache(tokens: tokens)
            let scores = try g.tensor("induction/scores"), loss = try g.tensor("induction/loss_per_token")
            assertClose(try HeadDetector.inductionScores(cache: cache, length: info["half_len"] as! Int), scores, tol: 1e-4,
                        "\(name) induction scores")
            assertClose(crossEntropyLoss(logits: logits, tokens: tokens).perToken, loss, tol: tol(loss), "\(name) induction loss")
        }
    }

    /// Query-side hooks sweep the n_heads query heads; hook_v sweeps the key/value heads (1 under
    /// multi-query attention), where TransformerLens's own per-head helper fails.
    func testPerHeadPatchingOnQueryAndKeyValueHeads() throws {
        for name in models {
            let (g, model) = try fixture(name)
            let info = section(g, "heads")
            let patcher = try Patcher(model: model, clean: info["clean"] as! [Int], corrupt: info["corrupted"] as! [Int],
                                      metric: .logitDiff(answer: info["t1"] as! Int, wrong: info["t2"] as! Int))
            for (activation, key) in [("q", "q_all_pos"), ("pattern", "pattern_all_pos"), ("z", "z_all_pos"), ("v", "v_kv_head_all_pos")] {
                let got = try patcher.sweep(activation: activation, axes: [.layer, .head]).values
                let want = try g.tensor("heads/\(key)")
                let heads = activation == "v" ? model.config.kvHeads : model.config.nHeads
                XCTAssertEqual(got.shape, [model.config.nLayers, heads], "\(name) \(activation) grid")
                assertClose(got, want, tol: tol(want), "\(name) \(activation) per head")
            }
        }
    }
}
