// GPT-2 weights in the layout the forward pass computes with. The mapping to TransformerLens's
// per-head layout is index arithmetic (see the accessors in TLLayout.swift), so nothing is stored twice.
import Foundation
import TLTensor

/// One transformer block's parameters, right-multiplying like TransformerLens (`y = x @ W + b`).
public struct LayerWeights: Sendable {
    /// LayerNorm weight/bias before attention; nil once folded (the block then uses LayerNormPre).
    public var ln1W: [Float]?, ln1B: [Float]?
    /// [d_model, 3·n_heads·d_head]; columns are (q|k|v, head, d_head) — HF's c_attn layout.
    public var wQKV: [Float]
    /// [3·n_heads·d_head]
    public var bQKV: [Float]
    /// [n_heads·d_head, d_model]; rows are (head, d_head) — TransformerLens's W_O flattened.
    public var wO: [Float]
    /// [d_model]
    public var bO: [Float]
    public var ln2W: [Float]?, ln2B: [Float]?
    /// [d_model, d_mlp]
    public var wIn: [Float]
    /// [d_mlp]
    public var bIn: [Float]
    /// [d_mlp, d_model]
    public var wOut: [Float]
    /// [d_model]
    public var bOut: [Float]
}

/// All parameters of a GPT-2-family model.
public struct ModelWeights: Sendable {
    /// [d_vocab, d_model]
    public var wE: [Float]
    /// [n_ctx, d_model]
    public var wPos: [Float]
    public var layers: [LayerWeights]
    public var lnFinalW: [Float]?, lnFinalB: [Float]?
    /// [d_model, d_vocab]
    public var wU: [Float]
    /// [d_vocab]
    public var bU: [Float]

    /// Reads HF GPT-2 tensors, accepting both key layouts seen in the wild: `h.0.attn.c_attn.weight`
    /// (openai-community/gpt2, possibly with `attn.bias`/`attn.masked_bias` buffers, ignored) and
    /// `transformer.h.0...` with an optional `lm_head.weight`. Conv1D weights are [in, out].
    public static func fromHuggingFace(_ checkpoint: Checkpoint, config cfg: ModelConfig) throws -> ModelWeights {
        let keys = Set(checkpoint.keys)
        let prefix = keys.contains { $0.hasPrefix("transformer.") } ? "transformer." : ""
        var used = Set<String>()
        func load(_ name: String, _ shape: [Int], full: Bool = false) throws -> [Float] {
            let key = full ? name : prefix + name
            guard let info = checkpoint.info(key) else { throw TLModelError.missingTensor(key: key, expectedShape: shape) }
            // Real GPT-2 files store wpe with n_positions rows; TransformerLens keeps the first n_ctx.
            if name == "wpe.weight", info.shape.count == 2, info.shape[1] == shape[1], info.shape[0] >= shape[0] {
                used.insert(key)
                return Array(try checkpoint.tensor(key).data.prefix(shape[0] * shape[1]))
            }
            guard info.shape == shape else { throw TLModelError.wrongShape(key: key, expected: shape, found: info.shape) }
            used.insert(key)
            return try checkpoint.tensor(key).data
        }
        let d = cfg.dModel, hd = cfg.nHeads * cfg.dHead
        let wE = try load("wte.weight", [cfg.dVocab, d])
        let wPos = try load("wpe.weight", [cfg.nCtx, d])
        var layers: [LayerWeights] = []
        for l in 0..<cfg.nLayers {
            let p = "h.\(l)."
            layers.append(LayerWeights(
                ln1W: try load(p + "ln_1.weight", [d]), ln1B: try load(p + "ln_1.bias", [d]),
                wQKV: try load(p + "attn.c_attn.weight", [d, 3 * hd]), bQKV: try load(p + "attn.c_attn.bias", [3 * hd]),
                wO: try load(p + "attn.c_proj.weight", [hd, d]), bO: try load(p + "attn.c_proj.bias", [d]),
                ln2W: try load(p + "ln_2.weight", [d]), ln2B: try load(p + "ln_2.bias", [d]),
                wIn: try load(p + "mlp.c_fc.weight", [d, cfg.dMLP]), bIn: try load(p + "mlp.c_fc.bias", [cfg.dMLP]),
                wOut: try load(p + "mlp.c_proj.weight", [cfg.dMLP, d]), bOut: try load(p + "mlp.c_proj.bias", [d])))
        }
        let lnFW = try load("ln_f.weight", [d]), lnFB = try load("ln_f.bias", [d])
        // W_U = lm_head.weightᵀ, or wteᵀ for tied embeddings; b_U is zero (GPT-2 has none).
        let unembedSource = keys.contains("lm_head.weight") ? try load("lm_head.weight", [cfg.dVocab, d], full: true) : wE
        // Transposed in 64 × 64 tiles so both sides stay in cache.
        let V = cfg.dVocab
        let wU = HugePages.array(count: d * V) { out in
            unembedSource.withUnsafeBufferPointer { src in
                // Vocabulary ranges over the cores; each writes its own columns of W_U.
                Parallel.forEachChunk(of: (V + 63) / 64, chunks: Parallel.width) { tiles in
                    for v0 in stride(from: tiles.lowerBound * 64, to: min(V, tiles.upperBound * 64), by: 64) {
                        for i0 in stride(from: 0, to: d, by: 64) {
                            for v in v0..<min(v0 + 64, V) { for i in i0..<min(i0 + 64, d) { out[i * V + v] = src[v * d + i] } }
                        }
                    }
                }
            }
        }

        for key in keys.subtracting(used).sorted() {
            let local = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
            // Causal-mask buffers saved by older transformers versions carry no parameters.
            if local.hasSuffix(".attn.bias") || local.hasSuffix(".attn.masked_bias") { continue }
            throw TLModelError.unexpectedTensor(key: key)
        }
        return ModelWeights(wE: wE, wPos: wPos, layers: layers, lnFinalW: lnFW, lnFinalB: lnFB,
                            wU: wU, bU: [Float](repeating: 0, count: cfg.dVocab))
    }
}
