// The families beyond GPT-2 (GPT-NeoX/Pythia, Llama, Mistral, Qwen2) against TransformerLens 3.9 and
// transformers, on the seeded random models of tools/goldens/families.py: every cache entry in
// TransformerLens's order and the logits, with and without TransformerLens's default processing.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

let familyModels = ["pythia-a", "pythia-b", "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b", "qwen3-a", "qwen3-b", "gemma-a", "gemma-b", "gemma2-a", "gemma2-b"]

final class FamilyGoldenTests: XCTestCase {
    /// Activations and logits, relative to each tensor's largest magnitude (at least 1): |a − b| ≤
    /// 1e-4 · max(1, max |b|). Gemma-2's activations reach 60 (√d_model-scaled embeddings), where
    /// Float32 rounding alone gives 1e-4 absolute; the other families pass at 1e-4 absolute.
    let tol: Float = 1e-4

    /// tol scaled by the largest finite magnitude of `expected` (at least 1).
    func scaledTolerance(_ expected: Tensor) -> Float {
        tol * max(1, expected.data.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 })
    }

    func golden(_ name: String) throws -> Golden { try Golden(name, root: Golden.familiesRoot) }
    func tokens(_ g: Golden) -> [Int] { g.meta["tokens"] as! [Int] }

    func check(_ name: String, processing: ProcessingOptions, prefix: String) throws {
        let g = try golden(name)
        let model = try HookedTransformer.load(directory: g.hfDirectory, processing: processing)
        let (logits, cache) = try model.runWithCache(tokens: [tokens(g)])
        XCTAssertEqual(cache.keys, g.cacheKeys(prefix), "\(name) \(prefix): cache keys in firing order")
        XCTAssertEqual(model.hookNames, g.cacheKeys(prefix), "\(name): the registry's hook list")
        var worst: Float = 0, worstRelative: Float = 0
        for key in g.cacheKeys(prefix) {
            guard let mine = cache[key] else { XCTFail("\(name) \(prefix): no \(key)"); continue }
            let expected = try g.tensor("\(prefix)/cache/\(key)")
            let bound = scaledTolerance(expected)
            assertClose(mine, expected, tol: bound, "\(name) \(prefix) \(key)")
            if mine.count == expected.count {
                let d = mine.maxAbsDifference(expected)
                worst = max(worst, d); worstRelative = max(worstRelative, d * tol / bound)
            }
        }
        let expected = try g.tensor("\(prefix)/logits")
        assertClose(logits, expected, tol: scaledTolerance(expected), "\(name) \(prefix) logits")
        print("\(name) \(prefix): max |tlsh − TL| activations \(worst) (relative to max(1, max|TL|): \(worstRelative)), logits \(logits.maxAbsDifference(expected))")
    }

    func testProcessedMatchesTransformerLens() throws {
        for name in familyModels { try check(name, processing: .default, prefix: "processed") }
    }

    func testUnprocessedMatchesTransformerLens() throws {
        for name in familyModels { try check(name, processing: .none, prefix: "unprocessed") }
    }

    /// Hugging Face parity: without processing, tlsh's logits equal transformers' own forward.
    func testUnprocessedLogitsMatchTransformers() throws {
        for name in familyModels {
            let g = try golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
            let logits = try model.run(tokens: [tokens(g)]).logits!
            let hf = try g.tensor("hf/logits")
            // Gemma (1): TransformerLens's act_fn is the erf GELU, transformers' the tanh form; tlsh
            // follows TransformerLens, so it may differ from transformers by the gap the generator measured.
            let knownGap = name.hasPrefix("gemma-") ? Float(g.meta["hf_vs_tl_unprocessed_logits_max_abs"] as! Double) : 0
            assertClose(logits, hf, tol: scaledTolerance(hf) + knownGap, "\(name) vs transformers")
        }
    }

    func testFamilyConfigs() throws {
        let pythia = try HookedTransformer.load(directory: try golden("pythia-a").hfDirectory).config
        XCTAssertEqual(pythia.originalArchitecture, "GPTNeoXForCausalLM")
        XCTAssertTrue(pythia.parallelAttnMLP)
        XCTAssertEqual(pythia.rotaryDim, 4)
        XCTAssertFalse(pythia.defaultPrependBOS)
        let mistral = try HookedTransformer.load(directory: try golden("mistral-a").hfDirectory).config
        XCTAssertEqual(mistral.kvHeads, 1)
        XCTAssertEqual(mistral.window(layer: 0), 4)
        let llama = try HookedTransformer.load(directory: try golden("llama-b").hfDirectory).config
        XCTAssertNotNil(llama.ropeScaling)
        XCTAssertNil(llama.nKeyValueHeads)
    }

    /// Grouped-query attention: k/v hooks carry the kv heads, and the per-head optional hooks work.
    func testGroupedQueryHooksAndOptionalInputs() throws {
        let g = try golden("llama-a")
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        let (plain, _) = try model.runWithCache(tokens: [tokens(g)])
        model.optionalHooks = OptionalHooks(attnResult: true, mlpIn: true, attnIn: false, splitQKVInput: true)
        let (logits, cache) = try model.runWithCache(tokens: [tokens(g)])
        XCTAssertEqual(cache["blocks.0.hook_k_input"]?.shape, [1, 12, 2, 64])
        XCTAssertEqual(cache["blocks.0.attn.hook_k"]?.shape, [1, 12, 2, 16])
        XCTAssertEqual(cache["blocks.0.attn.hook_result"]?.shape, [1, 12, 4, 64])
        assertClose(logits, plain, tol: 1e-4, "optional hooks leave the logits")
        XCTAssertEqual(model.activationElements(hook: "blocks.0.attn.hook_k", batch: 1, positions: 12), 12 * 2 * 16)
        XCTAssertEqual(model.activationElements(hook: "blocks.0.hook_attn_in", batch: 1, positions: 12), 12 * 4 * 64)
    }

    func testUnsupportedArchitectureListsSupported() {
        let json = #"{"architectures": ["FalconForCausalLM"], "hidden_size": 64}"#.data(using: .utf8)!
        XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: json)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("FalconForCausalLM") && text.contains("LlamaForCausalLM") && text.contains("GPTNeoXForCausalLM"), text)
        }
    }
}

final class FamilyConfigErrorTests: XCTestCase {
    /// Out-of-range family fields are errors naming the key, never traps.
    func testOutOfRangeFamilyFieldsAreClearErrors() {
        let llama = #"{"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 10"#
        let neox = #"{"model_type": "gpt_neox", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 10"#
        let qwen3 = #"{"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "intermediate_size": 8, "vocab_size": 10"#
        for (json, expected) in [(llama + #", "num_key_value_heads": 3}"#, "num_key_value_heads"),
                                 (llama + #", "num_key_value_heads": 0}"#, "num_key_value_heads"),
                                 (llama + #", "rope_scaling": {"rope_type": "yarn", "factor": 4}}"#, "yarn"),
                                 (llama + #", "rms_norm_eps": -1}"#, "rms_norm_eps"),
                                 (llama + #", "hidden_act": "swish2"}"#, "swish2"),
                                 (neox + #", "rotary_pct": 1e300}"#, "rotary_pct"),
                                 (qwen3 + #", "head_dim": 1099511627776}"#, "head_dim")] {
            XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: Data(json.utf8))) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e)")
            }
        }
    }
}
