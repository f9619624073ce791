// Model weights in the layout the forward pass computes with (every family shares it). The mapping to TransformerLens's
// per-head layout is index arithmetic (see the accessors in TLLayout.swift), so nothing is stored twice.
import Foundation
import TLTensor

/// One transformer block's parameters, right-multiplying like TransformerLens (`y = x @ W + b`).
public struct LayerWeights: Sendable {
    /// LayerNorm weight/bias before attention; nil once folded (the block then uses LayerNormPre).
    public var ln1W: [Float]?, ln1B: [Float]?
    /// [d_model, (n_heads + 2·kv_heads)·d_head]; columns are q (head, d_head) | k (kv head, d_head) |
    /// v (kv head, d_head) — HF GPT-2's c_attn layout, with grouped-query attention's fewer k/v heads.
    public var wQKV: [Float]
    /// [(n_heads + 2·kv_heads)·d_head] (zeros for families without attention biases)
    public var bQKV: [Float]
    /// [n_heads·d_head, d_model]; rows are (head, d_head) — TransformerLens's W_O flattened.
    public var wO: [Float]
    /// [d_model]
    public var bO: [Float]
    public var ln2W: [Float]?, ln2B: [Float]?
    /// Gemma-2's post-attention and post-MLP RMSNorm weights (never folded).
    public var ln1PostW: [Float]? = nil, ln2PostW: [Float]? = nil
    /// Qwen3's per-head q/k RMSNorm weights [d_head] (use_qk_norm); never folded.
    public var qNormW: [Float]? = nil, kNormW: [Float]? = nil
    /// [d_model, d_mlp]; in a gated MLP the linear branch (hook_pre_linear).
    public var wIn: [Float]
    /// [d_model, d_mlp]: a gated MLP's activated branch (hook_pre); nil for a plain MLP.
    public var wGate: [Float]? = nil
    /// [d_mlp]
    public var bIn: [Float]
    /// [d_mlp, d_model]
    public var wOut: [Float]
    /// [d_model]
    public var bOut: [Float]
}

/// Receives each block (its index and weights) as a loader finishes reading it.
public typealias LayerSink = (Int, inout LayerWeights) -> Void

extension [LayerWeights] {
    /// Appends a block a loader has just read, after `sink` (if any) has seen it.
    mutating func appendLoaded(_ sink: LayerSink?, _ layer: LayerWeights) {
        var layer = layer
        sink?(count, &layer)
        append(layer)
    }
}

/// All parameters of a model.
public struct ModelWeights: Sendable {
    /// [d_vocab, d_model]
    public var wE: [Float]
    /// [n_ctx, d_model]; empty for rotary models (no learned positions).
    public var wPos: [Float]
    public var layers: [LayerWeights]
    public var lnFinalW: [Float]?, lnFinalB: [Float]?
    /// [d_model, d_vocab]
    public var wU: [Float]
    /// [d_vocab]
    public var bU: [Float]

    /// Reads a Hugging Face checkpoint of `cfg`'s family (FamilyWeights.swift for the others),
    /// handing each block to `eachLayer` as soon as it is read (which may shrink it: a 16-bit
    /// dtype keeps only its own copy of the matrices, so no full Float32 model ever exists).
    public static func fromHuggingFace(_ checkpoint: Checkpoint, config cfg: ModelConfig, eachLayer: LayerSink? = nil) throws -> ModelWeights {
        switch ModelFamily(config: cfg) ?? .gpt2 {
        case .gpt2: return try gpt2(checkpoint, config: cfg, eachLayer: eachLayer)
        case .gptNeoX: return try gptNeoX(checkpoint, config: cfg, eachLayer: eachLayer)
        case .llama, .mistral, .qwen2, .qwen3: return try llamaLike(checkpoint, config: cfg, eachLayer: eachLayer)
        case .gemma, .gemma2: return try gemma2(checkpoint, config: cfg, eachLayer: eachLayer)
        }
    }

    /// Reads HF GPT-2 tensors, accepting both key layouts seen in the wild: `h.0.attn.c_attn.weight`
    /// (openai-community/gpt2, possibly with `attn.bias`/`attn.masked_bias` buffers, ignored) and
    /// `transformer.h.0...` with an optional `lm_head.weight`. Conv1D weights are [in, out].
    static func gpt2(_ checkpoint: Checkpoint, config cfg: ModelConfig, eachLayer: LayerSink? = nil) throws -> ModelWeights {
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
            layers.appendLoaded(eachLayer, LayerWeights(
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
        let wU = transposed(unembedSource, rows: cfg.dVocab, columns: d)

        for key in keys.subtracting(used).sorted() {
            let local = key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
            // Causal-mask buffers saved by older transformers versions carry no parameters.
            if local.hasSuffix(".attn.bias") || local.hasSuffix(".attn.masked_bias") { continue }
            throw TLModelError.unexpectedTensor(key: key)
        }
        return ModelWeights(wE: wE, wPos: wPos, layers: layers, lnFinalW: lnFW, lnFinalB: lnFB,
                            wU: wU, bU: [Float](repeating: 0, count: cfg.dVocab))
    }

    /// [rows, columns] → [columns, rows], in 64 × 64 tiles so both sides stay in cache; rows
    /// range over the cores, each writing its own output columns.
    static func transposed(_ src: [Float], rows R: Int, columns C: Int) -> [Float] {
        HugePages.array(count: R * C) { out in
            src.withUnsafeBufferPointer { src in
                Parallel.forEachChunk(of: (R + 63) / 64, chunks: R * C >= 1 << 20 ? Parallel.width : 1) { tiles in
                    for r0 in stride(from: tiles.lowerBound * 64, to: min(R, tiles.upperBound * 64), by: 64) {
                        for c0 in stride(from: 0, to: C, by: 64) {
                            for r in r0..<min(r0 + 64, R) { for c in c0..<min(c0 + 64, C) { out[c * R + r] = src[r * C + c] } }
                        }
                    }
                }
            }
        }
    }
}
