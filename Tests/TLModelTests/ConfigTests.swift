// The GPT-2 family loads by its config alone: config.json as the Hugging Face repos ship it
// (openai-community/gpt2, -medium, -large, -xl, distilbert/distilgpt2), and bad configs are errors.
import XCTest
@testable import TLModel

final class ConfigTests: XCTestCase {
    func config(_ layers: Int, _ embd: Int, _ heads: Int, nCtx: Bool = true) -> Data {
        var fields = ["\"activation_function\": \"gelu_new\"", "\"architectures\": [\"GPT2LMHeadModel\"]", "\"layer_norm_epsilon\": 1e-05",
                      "\"model_type\": \"gpt2\"", "\"n_embd\": \(embd)", "\"n_head\": \(heads)", "\"n_inner\": null",
                      "\"n_layer\": \(layers)", "\"n_positions\": 1024", "\"vocab_size\": 50257"]
        if nCtx { fields.append("\"n_ctx\": 1024") }
        return Data(("{" + fields.joined(separator: ", ") + "}").utf8)
    }

    func testGPT2FamilyConfigs() throws {
        // (name, layers, d_model, heads, TransformerLens n_params = L·(4·d²+2·d·4d))
        for (name, l, d, h) in [("gpt2", 12, 768, 12), ("gpt2-medium", 24, 1024, 16), ("gpt2-large", 36, 1280, 20),
                                ("gpt2-xl", 48, 1600, 25), ("distilgpt2", 6, 768, 12)] {
            for withNCtx in [true, false] {
                let c = try ModelConfig.fromHuggingFace(json: config(l, d, h, nCtx: withNCtx), path: "\(name)/config.json")
                XCTAssertEqual([c.nLayers, c.dModel, c.nHeads, c.dHead, c.dMLP, c.nCtx, c.dVocab], [l, d, h, d / h, 4 * d, 1024, 50257], name)
                XCTAssertEqual(c.nParams, l * (4 * d * d + 2 * d * 4 * d), name)
                XCTAssertEqual(c.eps, 1e-5)
            }
        }
    }

    func testWeightPanelsAreSkippedWhenMemoryIsShort() throws {
        // Panels are a second copy of the block matrices and W_U: 494 MB for gpt2, 6.2 GB for
        // gpt2-xl; they must not take more than a quarter of the available memory.
        let small = try ModelConfig.fromHuggingFace(json: config(12, 768, 12))
        let xl = try ModelConfig.fromHuggingFace(json: config(48, 1600, 25))
        let gib = 1 << 30
        XCTAssertTrue(HookedTransformer.panelsFit(config: small, availableBytes: 16 * gib))
        XCTAssertTrue(HookedTransformer.panelsFit(config: small, availableBytes: nil), "unknown memory: keep the fast path")
        XCTAssertFalse(HookedTransformer.panelsFit(config: small, availableBytes: gib))
        XCTAssertFalse(HookedTransformer.panelsFit(config: xl, availableBytes: 16 * gib))
        XCTAssertTrue(HookedTransformer.panelsFit(config: xl, availableBytes: 32 * gib))
    }

    func testBadConfigsAreClearErrors() {
        let cases: [(String, String)] = [
            ("{\"model_type\": \"falcon\"}", "falcon"),
            ("{\"model_type\": \"llama\", \"num_attention_heads\": 4}", "hidden_size"),
            ("{\"n_embd\": 100, \"n_head\": 3, \"n_layer\": 1, \"n_positions\": 8, \"vocab_size\": 10}", "not divisible"),
            ("{\"n_embd\": 64, \"n_head\": 4, \"n_positions\": 8, \"vocab_size\": 10}", "n_layer"),
            ("[1, 2]", "JSON object"),
            ("{\"n_embd\": 64, \"n_head\": 4, \"n_layer\": 1, \"n_positions\": 8, \"vocab_size\": 10, \"activation_function\": \"relu\"}", "relu"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: Data(json.utf8))) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e)")
            }
        }
    }
}

/// Issue #23: a config.json value of the wrong type is an error naming the key, the type and the file.
final class ConfigTypeTests: XCTestCase {
    func testWrongTypesAreErrorsNamingKeyTypeAndFile() {
        let base = #"{"n_embd": 64, "n_head": 4, "n_layer": 2, "n_positions": 32, "vocab_size": 100"#
        for (extra, key, expected) in [(#""activation_function": 8"#, "activation_function", "a string"),
                                       (#""layer_norm_epsilon": "silu""#, "layer_norm_epsilon", "a finite number"),
                                       (#""n_ctx": "silu""#, "n_ctx", "a whole number"),
                                       (#""tie_word_embeddings": 1"#, "tie_word_embeddings", "true or false"),
                                       (#""n_inner": true"#, "n_inner", "a whole number")] {
            XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: Data((base + ", " + extra + "}").utf8), path: "m/config.json")) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("m/config.json") && text.contains("\"\(key)\"") && text.contains(expected), text)
            }
        }
        XCTAssertNoThrow(try ModelConfig.fromHuggingFace(json: Data((base + #", "layer_norm_epsilon": 1e-5, "n_ctx": 32.0}"#).utf8)))
    }
}
