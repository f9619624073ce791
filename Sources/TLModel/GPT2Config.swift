// The model configuration in TransformerLens's terms, read from a Hugging Face GPT-2 config.json.
import Foundation

/// Hyper-parameters of a GPT-2-family model, named as TransformerLens's HookedTransformerConfig.
public struct ModelConfig: Sendable, Equatable {
    public var nLayers: Int
    public var dModel: Int
    public var nHeads: Int
    public var dHead: Int
    public var dMLP: Int
    public var nCtx: Int
    public var dVocab: Int
    public var eps: Float = 1e-5
    public var actFn: String = "gelu_new"
    /// Stanford CRFM GPT-2s divide attention scores additionally by (layer + 1).
    public var scaleAttnByInverseLayerIdx: Bool = false
    public var tieWordEmbeddings: Bool = true
    public var modelName: String = "gpt2"

    public init(nLayers: Int, dModel: Int, nHeads: Int, dHead: Int? = nil, dMLP: Int? = nil, nCtx: Int,
                dVocab: Int, eps: Float = 1e-5, actFn: String = "gelu_new", modelName: String = "gpt2") {
        self.nLayers = nLayers; self.dModel = dModel; self.nHeads = nHeads
        self.dHead = dHead ?? dModel / max(nHeads, 1)
        self.dMLP = dMLP ?? 4 * dModel
        self.nCtx = nCtx; self.dVocab = dVocab; self.eps = eps; self.actFn = actFn; self.modelName = modelName
    }

    /// Parameters as TransformerLens's cfg.n_params counts them (attention and MLP weights only).
    public var nParams: Int { nLayers * (4 * dModel * dHead * nHeads + 2 * dModel * dMLP) }

    /// Parses a Hugging Face GPT-2 `config.json` (accepts `n_ctx` or `n_positions`). A key present
    /// with a value of the wrong type is an error naming it, never a silent default.
    public static func fromHuggingFace(json data: Data, path: String = "config.json") throws -> ModelConfig {
        let json = try ConfigJSON(data: data, path: path)
        if let type = try json.string("model_type"), type != "gpt2" {
            throw TLModelError.unsupportedArchitecture("\(path) says model_type \"\(type)\"")
        }
        if let a = try json.strings("architectures")?.first, !["GPT2LMHeadModel", "GPT2Model"].contains(a) {
            throw TLModelError.unsupportedArchitecture("\(path) lists architecture \(a)")
        }
        func required(_ keys: [String]) throws -> Int {
            guard let v = try json.int(keys) else { throw TLModelError.invalidConfig("\(path) lacks \(keys.joined(separator: " or "))") }
            return v
        }
        let nEmbd = try required(["n_embd", "hidden_size"])
        let nHead = try required(["n_head", "num_attention_heads"])
        let nLayer = try required(["n_layer", "num_hidden_layers"])
        let nCtx = try required(["n_ctx", "n_positions", "max_position_embeddings"])
        let vocab = try required(["vocab_size"])
        // 4 · n_embd is only computed for an n_embd that passes the range check below (no overflow).
        let inner = try json.int("n_inner") ?? (nEmbd > 0 && nEmbd <= 1 << 22 ? 4 * nEmbd : Int.max)
        for (name, v) in [("n_embd", nEmbd), ("n_head", nHead), ("n_layer", nLayer), ("n_positions", nCtx), ("vocab_size", vocab), ("n_inner", inner)]
        where v <= 0 || v > 1 << 22 {
            throw TLModelError.invalidConfig("\(path): \(name) = \(v) is out of range")
        }
        guard nEmbd % nHead == 0 else {
            throw TLModelError.invalidConfig("\(path): n_embd \(nEmbd) is not divisible by n_head \(nHead)")
        }
        var cfg = ModelConfig(nLayers: nLayer, dModel: nEmbd, nHeads: nHead, dMLP: inner, nCtx: nCtx, dVocab: vocab)
        if let eps = try json.double("layer_norm_epsilon") {
            guard eps > 0 && eps < 1 else { throw TLModelError.invalidConfig("\(path): layer_norm_epsilon = \(eps) must be between 0 and 1") }
            cfg.eps = Float(eps)
        }
        if let act = try json.string("activation_function") {
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
                throw TLModelError.unsupportedArchitecture("activation_function \"\(act)\" (tlsh implements gelu_new)")
            }
            cfg.actFn = "gelu_new"
        }
        cfg.scaleAttnByInverseLayerIdx = try json.bool("scale_attn_by_inverse_layer_idx") ?? false
        cfg.tieWordEmbeddings = try json.bool("tie_word_embeddings") ?? true
        if let name = try json.string("_name_or_path"), !name.isEmpty { cfg.modelName = name }
        return cfg
    }
}
