// TransformerLens's parameter names and per-head shapes, computed from the compute layout on
// demand (W_Q [n_heads, d_model, d_head], W_O [n_heads, d_head, d_model], …).
import TLTensor

extension HookedTransformer {
    /// A parameter by its TransformerLens state-dict name (`blocks.0.attn.W_Q`, `unembed.W_U`, …).
    public func parameter(_ key: String) throws -> Tensor {
        let cfg = config, d = cfg.dModel, H = cfg.nHeads, dh = cfg.dHead
        switch key {
        case "embed.W_E": return Tensor(shape: [cfg.dVocab, d], data: weights.wE)
        case "pos_embed.W_pos" where !weights.wPos.isEmpty: return Tensor(shape: [cfg.nCtx, d], data: weights.wPos)
        case "unembed.W_U": return Tensor(shape: [d, cfg.dVocab], data: unembedMatrix.panelsOnly ? unembedMatrix.float32 : weights.wU)
        case "unembed.b_U": return Tensor(shape: [cfg.dVocab], data: weights.bU)
        case "ln_final.w": return try vector(weights.lnFinalW, key)
        case "ln_final.b": return try vector(weights.lnFinalB, key)
        default: break
        }
        let parts = key.split(separator: ".").map(String.init)
        // Qwen3's blocks.L.attn.q_norm.w / k_norm.w
        if parts.count == 5, parts[0] == "blocks", let l = Int(parts[1]), l >= 0, l < cfg.nLayers, parts[2] == "attn", parts[4] == "w",
           let v = parts[3] == "q_norm" ? weights.layers[l].qNormW : parts[3] == "k_norm" ? weights.layers[l].kNormW : nil {
            return Tensor(shape: [v.count], data: v)
        }
        guard parts.count == 4, parts[0] == "blocks", let l = Int(parts[1]), l >= 0, l < cfg.nLayers else {
            throw TLModelError.invalidInput("'\(key)' is not a parameter of this model")
        }
        let layer = floatLayer(l)
        switch (parts[2], parts[3]) {
        case ("attn", "W_Q"), ("attn", "W_K"), ("attn", "W_V"), ("attn", "_W_K"), ("attn", "_W_V"):
            // W_K / W_V repeat each key/value head for its query heads (TransformerLens's GQA
            // properties); _W_K / _W_V are the stored kv_heads.
            let which = ["W_Q": 0, "W_K": 1, "W_V": 2, "_W_K": 1, "_W_V": 2][parts[3]]!
            let grouped = parts[3].hasPrefix("_"), K = cfg.kvHeads, width = cfg.qkvWidth
            let heads = which == 0 || !grouped ? H : K
            let offset = [0, H * dh, (H + K) * dh][which]
            var out = [Float](repeating: 0, count: heads * d * dh)
            for h in 0..<heads {
                let source = which == 0 || grouped ? h : h / cfg.queriesPerKVHead
                for i in 0..<d { for j in 0..<dh {
                    out[(h * d + i) * dh + j] = layer.wQKV[i * width + offset + source * dh + j]
                } }
            }
            return Tensor(shape: [heads, d, dh], data: out)
        case ("attn", "b_Q"), ("attn", "b_K"), ("attn", "b_V"), ("attn", "_b_K"), ("attn", "_b_V"):
            let which = ["b_Q": 0, "b_K": 1, "b_V": 2, "_b_K": 1, "_b_V": 2][parts[3]]!
            let grouped = parts[3].hasPrefix("_"), K = cfg.kvHeads
            let heads = which == 0 || !grouped ? H : K
            let offset = [0, H * dh, (H + K) * dh][which]
            var out = [Float](repeating: 0, count: heads * dh)
            for h in 0..<heads {
                let source = which == 0 || grouped ? h : h / cfg.queriesPerKVHead
                for j in 0..<dh { out[h * dh + j] = layer.bQKV[offset + source * dh + j] }
            }
            return Tensor(shape: [heads, dh], data: out)
        case ("attn", "W_O"): return Tensor(shape: [H, dh, d], data: layer.wO)
        case ("attn", "b_O"): return Tensor(shape: [d], data: layer.bO)
        case ("mlp", "W_in"): return Tensor(shape: [d, cfg.dMLP], data: layer.wIn)
        case ("mlp", "b_in"): return Tensor(shape: [cfg.dMLP], data: layer.bIn)
        case ("mlp", "W_gate"):
            guard let gate = layer.wGate else { break }
            return Tensor(shape: [d, cfg.dMLP], data: gate)
        case ("mlp", "W_out"): return Tensor(shape: [cfg.dMLP, d], data: layer.wOut)
        case ("mlp", "b_out"): return Tensor(shape: [d], data: layer.bOut)
        case ("ln1", "w"): return try vector(layer.ln1W, key)
        case ("ln1", "b"): return try vector(layer.ln1B, key)
        case ("ln2", "w"): return try vector(layer.ln2W, key)
        case ("ln2", "b"): return try vector(layer.ln2B, key)
        default: break
        }
        throw TLModelError.invalidInput("'\(key)' is not a parameter of this model")
    }

    private func vector(_ v: [Float]?, _ key: String) throws -> Tensor {
        guard let v else { throw TLModelError.invalidInput("'\(key)' was folded into the next weights (fold_ln); load without processing to see it") }
        return Tensor(shape: [v.count], data: v)
    }

    /// Parameters of the checkpoint as Hugging Face counts them (a tied unembedding counts once;
    /// GPT-2 has no unembedding bias). After fold_ln the LayerNorm weights live inside the readers.
    /// The matrices are counted from their shapes, since a 16-bit model, or a Float32 one too big
    /// for two copies, keeps them only as panels (its `weights` arrays are empty).
    public var totalParameters: Int {
        let w = weights
        var n = w.wE.count + w.wPos.count + (config.tieWordEmbeddings ? 0 : unembedMatrix.rows * unembedMatrix.columns)
            + (w.lnFinalW?.count ?? 0) + (w.lnFinalB?.count ?? 0)
        for (l, block) in zip(w.layers, blocks) {
            n += block.all.reduce(0) { $0 + $1.rows * $1.columns }
            n += l.bQKV.count + l.bO.count + l.bIn.count + l.bOut.count
            n += (l.ln1W?.count ?? 0) + (l.ln1B?.count ?? 0) + (l.ln2W?.count ?? 0) + (l.ln2B?.count ?? 0)
        }
        return n
    }

    /// W_U[:, token] — the residual direction of a token's logit (tokens_to_residual_directions).
    public func unembedDirection(_ token: Int) -> [Float] { unembedMatrix.column(token) }

    /// Σ_{l<layer} (b_O[l] + b_out[l]) (+ b_O[layer] if mlpInput): accumulated_bias.
    public func accumulatedBias(layer: Int, mlpInput: Bool = false, includeMLPBiases: Bool = true) -> [Float] {
        var out = [Float](repeating: 0, count: config.dModel)
        for l in 0..<layer {
            for i in 0..<config.dModel {
                out[i] += weights.layers[l].bO[i]
                if includeMLPBiases { out[i] += weights.layers[l].bOut[i] }
            }
        }
        if mlpInput && layer < config.nLayers { for i in 0..<config.dModel { out[i] += weights.layers[layer].bO[i] } }
        return out
    }
}
