// Hugging Face checkpoints of the rotary families → the compute layout (Weights.swift), as
// TransformerLens 3.9's convert_neox_weights / convert_llama_weights / convert_qwen2_weights map them.
// PyTorch Linear weights are [out, in]; the compute layout right-multiplies, so each is transposed.
import Foundation
import TLTensor

/// Reads tensors by key with their expected shapes and remembers which were used, so leftover
/// tensors (a checkpoint of another shape or family) are reported instead of silently ignored.
struct TensorReader {
    let checkpoint: Checkpoint
    private(set) var used = Set<String>()

    init(_ checkpoint: Checkpoint) { self.checkpoint = checkpoint }

    func has(_ key: String) -> Bool { checkpoint.info(key) != nil }

    mutating func load(_ key: String, _ shape: [Int]) throws -> [Float] {
        guard let info = checkpoint.info(key) else { throw TLModelError.missingTensor(key: key, expectedShape: shape) }
        guard info.shape == shape else { throw TLModelError.wrongShape(key: key, expected: shape, found: info.shape) }
        used.insert(key)
        return try checkpoint.tensor(key).data
    }

    /// A PyTorch Linear weight [out, in], returned as [in, out].
    mutating func linear(_ key: String, out: Int, in inputs: Int) throws -> [Float] {
        ModelWeights.transposed(try load(key, [out, inputs]), rows: out, columns: inputs)
    }

    /// Throws on the first tensor nobody read, unless `ignorable` says it is a buffer.
    func checkAllUsed(ignorable: (String) -> Bool) throws {
        for key in Set(checkpoint.keys).subtracting(used).sorted() where !ignorable(key) {
            throw TLModelError.unexpectedTensor(key: key)
        }
    }
}

extension ModelWeights {
    /// GPT-NeoX / Pythia. query_key_value's output rows are (head, q|k|v, d_head); the compute layout
    /// wants columns (q|k|v, head, d_head).
    static func gptNeoX(_ checkpoint: Checkpoint, config cfg: ModelConfig, eachLayer: LayerSink? = nil) throws -> ModelWeights {
        var r = TensorReader(checkpoint)
        let d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead, hd = H * dh, m = cfg.dMLP
        let p = "gpt_neox."
        let wE = try r.load(p + "embed_in.weight", [cfg.dVocab, d])
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            let b = p + "layers.\(l)."
            let fused = try r.load(b + "attention.query_key_value.weight", [3 * hd, d])
            let fusedBias = try r.load(b + "attention.query_key_value.bias", [3 * hd])
            var wQKV = [Float](repeating: 0, count: d * 3 * hd), bQKV = [Float](repeating: 0, count: 3 * hd)
            for h in 0..<H { for which in 0..<3 { for j in 0..<dh {
                let row = (h * 3 + which) * dh + j, col = which * hd + h * dh + j
                bQKV[col] = fusedBias[row]
                for i in 0..<d { wQKV[i * 3 * hd + col] = fused[row * d + i] }
            } } }
            layers.appendLoaded(eachLayer, LayerWeights(
                ln1W: try r.load(b + "input_layernorm.weight", [d]), ln1B: try r.load(b + "input_layernorm.bias", [d]),
                wQKV: wQKV, bQKV: bQKV,
                wO: try r.linear(b + "attention.dense.weight", out: d, in: hd), bO: try r.load(b + "attention.dense.bias", [d]),
                ln2W: try r.load(b + "post_attention_layernorm.weight", [d]), ln2B: try r.load(b + "post_attention_layernorm.bias", [d]),
                wIn: try r.linear(b + "mlp.dense_h_to_4h.weight", out: m, in: d), bIn: try r.load(b + "mlp.dense_h_to_4h.bias", [m]),
                wOut: try r.linear(b + "mlp.dense_4h_to_h.weight", out: d, in: m), bOut: try r.load(b + "mlp.dense_4h_to_h.bias", [d])))
        }
        let lnW = try r.load(p + "final_layer_norm.weight", [d]), lnB = try r.load(p + "final_layer_norm.bias", [d])
        let unembedKey = r.has("embed_out.weight") ? "embed_out.weight" : "lm_head.weight"
        let wU = r.has(unembedKey) ? try r.linear(unembedKey, out: cfg.dVocab, in: d) : transposed(wE, rows: cfg.dVocab, columns: d)
        // Older checkpoints carry the causal mask and rotary frequencies as buffers.
        try r.checkAllUsed { $0.hasSuffix(".attention.bias") || $0.hasSuffix(".attention.masked_bias") || $0.hasSuffix("inv_freq") }
        return ModelWeights(wE: wE, wPos: [], layers: layers, lnFinalW: lnW, lnFinalB: lnB,
                            wU: wU, bU: [Float](repeating: 0, count: cfg.dVocab))
    }

    /// Gemma and Gemma-2: Llama's tensor names (Gemma-2 adds pre/post feed-forward norms); every norm weight is stored as
    /// w − 1 (TransformerLens adds 1), and W_E is scaled by √d_model (W_U stays the unscaled embedding
    /// when tied), as convert_gemma_weights does.
    static func gemma2(_ checkpoint: Checkpoint, config cfg: ModelConfig, eachLayer: LayerSink? = nil) throws -> ModelWeights {
        var r = TensorReader(checkpoint)
        let d = cfg.dModel, dh = cfg.dHead, hq = cfg.nHeads * dh, hkv = cfg.kvHeads * dh, m = cfg.dMLP, width = cfg.qkvWidth
        func norm(_ key: String) throws -> [Float] { try r.load(key, [d]).map { $0 + 1 } }
        let postNorms = cfg.useNormalizationBeforeAndAfter
        let embed = try r.load("model.embed_tokens.weight", [cfg.dVocab, d])
        let scale = Float(d).squareRoot()
        let wE = embed.map { $0 * scale }
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            let b = "model.layers.\(l)."
            var wQKV = [Float](repeating: 0, count: d * width)
            var offset = 0
            for (name, rows) in [("q_proj", hq), ("k_proj", hkv), ("v_proj", hkv)] {
                let w = try r.load(b + "self_attn.\(name).weight", [rows, d])
                for o in 0..<rows { for i in 0..<d { wQKV[i * width + offset + o] = w[o * d + i] } }
                offset += rows
            }
            layers.appendLoaded(eachLayer, LayerWeights(
                ln1W: try norm(b + "input_layernorm.weight"), ln1B: nil,
                wQKV: wQKV, bQKV: [Float](repeating: 0, count: width),
                wO: try r.linear(b + "self_attn.o_proj.weight", out: d, in: hq), bO: [Float](repeating: 0, count: d),
                // Gemma (1) has no post norms: its post_attention_layernorm is the pre-MLP norm.
                ln2W: try norm(b + (postNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")), ln2B: nil,
                ln1PostW: postNorms ? try norm(b + "post_attention_layernorm.weight") : nil,
                ln2PostW: postNorms ? try norm(b + "post_feedforward_layernorm.weight") : nil,
                wIn: try r.linear(b + "mlp.up_proj.weight", out: m, in: d),
                wGate: try r.linear(b + "mlp.gate_proj.weight", out: m, in: d), bIn: [Float](repeating: 0, count: m),
                wOut: try r.linear(b + "mlp.down_proj.weight", out: d, in: m), bOut: [Float](repeating: 0, count: d)))
        }
        let lnW = try norm("model.norm.weight")
        let wU = r.has("lm_head.weight") ? try r.linear("lm_head.weight", out: cfg.dVocab, in: d)
            : transposed(embed, rows: cfg.dVocab, columns: d)
        try r.checkAllUsed { $0.hasSuffix("inv_freq") }
        return ModelWeights(wE: wE, wPos: [], layers: layers, lnFinalW: lnW, lnFinalB: nil,
                            wU: wU, bU: [Float](repeating: 0, count: cfg.dVocab))
    }

    /// Llama, Mistral, Qwen2, Qwen3: separate q/k/v projections (k and v with kv_heads), optional q/k/v
    /// biases (Qwen2), RMSNorm weights only, gated MLP, lm_head or tied embeddings.
    static func llamaLike(_ checkpoint: Checkpoint, config cfg: ModelConfig, eachLayer: LayerSink? = nil) throws -> ModelWeights {
        var r = TensorReader(checkpoint)
        let d = cfg.dModel, dh = cfg.dHead, hq = cfg.nHeads * dh, hkv = cfg.kvHeads * dh, m = cfg.dMLP
        let width = cfg.qkvWidth
        let wE = try r.load("model.embed_tokens.weight", [cfg.dVocab, d])
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            let b = "model.layers.\(l)."
            let parts = [("q_proj", hq), ("k_proj", hkv), ("v_proj", hkv)]
            var wQKV = [Float](repeating: 0, count: d * width), bQKV = [Float](repeating: 0, count: width)
            var offset = 0
            for (name, rows) in parts {
                let w = try r.load(b + "self_attn.\(name).weight", [rows, d])
                for o in 0..<rows { for i in 0..<d { wQKV[i * width + offset + o] = w[o * d + i] } }
                if r.has(b + "self_attn.\(name).bias") {
                    let bias = try r.load(b + "self_attn.\(name).bias", [rows])
                    for o in 0..<rows { bQKV[offset + o] = bias[o] }
                }
                offset += rows
            }
            layers.appendLoaded(eachLayer, LayerWeights(
                ln1W: try r.load(b + "input_layernorm.weight", [d]), ln1B: nil,
                wQKV: wQKV, bQKV: bQKV,
                wO: try r.linear(b + "self_attn.o_proj.weight", out: d, in: hq), bO: [Float](repeating: 0, count: d),
                ln2W: try r.load(b + "post_attention_layernorm.weight", [d]), ln2B: nil,
                qNormW: cfg.useQKNorm ? try r.load(b + "self_attn.q_norm.weight", [dh]) : nil,
                kNormW: cfg.useQKNorm ? try r.load(b + "self_attn.k_norm.weight", [dh]) : nil,
                wIn: try r.linear(b + "mlp.up_proj.weight", out: m, in: d),
                wGate: try r.linear(b + "mlp.gate_proj.weight", out: m, in: d), bIn: [Float](repeating: 0, count: m),
                wOut: try r.linear(b + "mlp.down_proj.weight", out: d, in: m), bOut: [Float](repeating: 0, count: d)))
        }
        let lnW = try r.load("model.norm.weight", [d])
        let wU = r.has("lm_head.weight") ? try r.linear("lm_head.weight", out: cfg.dVocab, in: d)
            : transposed(wE, rows: cfg.dVocab, columns: d)
        try r.checkAllUsed { $0.hasSuffix("inv_freq") }
        return ModelWeights(wE: wE, wPos: [], layers: layers, lnFinalW: lnW, lnFinalB: nil,
                            wU: wU, bU: [Float](repeating: 0, count: cfg.dVocab))
    }
}
