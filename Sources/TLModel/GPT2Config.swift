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

    /// Parses a Hugging Face GPT-2 `config.json` (accepts `n_ctx` or `n_positions`).
    public static func fromHuggingFace(json data: Data, path: String = "config.json") throws -> ModelConfig {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TLModelError.invalidConfig("\(path) is not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw TLModelError.invalidConfig("\(path) must hold a JSON object")
        }
        if let type = dict["model_type"] as? String, type != "gpt2" {
            throw TLModelError.unsupportedArchitecture("\(path) says model_type \"\(type)\"")
        }
        if let archs = dict["architectures"] as? [String], let a = archs.first,
           !["GPT2LMHeadModel", "GPT2Model"].contains(a) {
            throw TLModelError.unsupportedArchitecture("\(path) lists architecture \(a)")
        }
        func int(_ keys: [String], default value: Int? = nil) throws -> Int {
            for k in keys {
                if let v = dict[k] as? Int { return v }
                // Int(exactly:) rather than Int(_:), which traps on 1e19, infinities and NaN.
                if let v = dict[k] as? Double, let exact = Int(exactly: v) { return exact }
                if dict[k] is Double { throw TLModelError.invalidConfig("\(path): \(k) = \(dict[k]!) is not a whole number in range") }
            }
            if let value { return value }
            throw TLModelError.invalidConfig("\(path) lacks \(keys.joined(separator: " or "))")
        }
        let nEmbd = try int(["n_embd", "hidden_size"])
        let nHead = try int(["n_head", "num_attention_heads"])
        let nLayer = try int(["n_layer", "num_hidden_layers"])
        let nCtx = try int(["n_ctx", "n_positions", "max_position_embeddings"])
        let vocab = try int(["vocab_size"])
        // 4 · n_embd is only computed for an n_embd that passes the range check below (no overflow).
        let inner = (dict["n_inner"] as? Int) ?? (nEmbd > 0 && nEmbd <= 1 << 22 ? 4 * nEmbd : Int.max)
        for (name, v) in [("n_embd", nEmbd), ("n_head", nHead), ("n_layer", nLayer), ("n_positions", nCtx), ("vocab_size", vocab), ("n_inner", inner)]
        where v <= 0 || v > 1 << 22 {
            throw TLModelError.invalidConfig("\(path): \(name) = \(v) is out of range")
        }
        guard nEmbd % nHead == 0 else {
            throw TLModelError.invalidConfig("\(path): n_embd \(nEmbd) is not divisible by n_head \(nHead)")
        }
        var cfg = ModelConfig(nLayers: nLayer, dModel: nEmbd, nHeads: nHead, dMLP: inner, nCtx: nCtx, dVocab: vocab)
        if let eps = dict["layer_norm_epsilon"] as? Double { cfg.eps = Float(eps) }
        if let act = dict["activation_function"] as? String {
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
                throw TLModelError.unsupportedArchitecture("activation_function \"\(act)\" (tlsh implements gelu_new)")
            }
            cfg.actFn = "gelu_new"
        }
        cfg.scaleAttnByInverseLayerIdx = (dict["scale_attn_by_inverse_layer_idx"] as? Bool) ?? false
        cfg.tieWordEmbeddings = (dict["tie_word_embeddings"] as? Bool) ?? true
        if let name = dict["_name_or_path"] as? String, !name.isEmpty { cfg.modelName = name }
        return cfg
    }
}
