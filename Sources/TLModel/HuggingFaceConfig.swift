// Hugging Face config.json → ModelConfig, per architecture, with the values TransformerLens 3.9's
// convert_hf_model_config picks for each (loading_from_pretrained.py).
import Foundation

/// The model families tlsh runs, by the Hugging Face architecture names that select them.
public enum ModelFamily: String, Sendable, CaseIterable {
    case gpt2, gptNeoX, llama, mistral, qwen2, qwen3, gemma, gemma2

    /// `architectures[0]` values of config.json that load as this family.
    public var architectures: [String] {
        switch self {
        case .gpt2: return ["GPT2LMHeadModel", "GPT2Model"]
        case .gptNeoX: return ["GPTNeoXForCausalLM"]
        case .llama: return ["LlamaForCausalLM"]
        case .mistral: return ["MistralForCausalLM"]
        case .qwen2: return ["Qwen2ForCausalLM"]
        case .qwen3: return ["Qwen3ForCausalLM"]
        case .gemma: return ["GemmaForCausalLM"]
        case .gemma2: return ["Gemma2ForCausalLM"]
        }
    }

    /// config.json `model_type` values of this family.
    public var modelTypes: [String] {
        switch self {
        case .gpt2: return ["gpt2"]
        case .gptNeoX: return ["gpt_neox"]
        case .llama: return ["llama"]
        case .mistral: return ["mistral"]
        case .qwen2: return ["qwen2"]
        case .qwen3: return ["qwen3"]
        case .gemma: return ["gemma"]
        case .gemma2: return ["gemma2"]
        }
    }

    /// Every supported architecture name, for error messages.
    public static var supportedArchitectures: [String] { allCases.flatMap { $0.architectures } }

    public static func from(architecture: String?, modelType: String?) -> ModelFamily? {
        if let a = architecture { return allCases.first { $0.architectures.contains(a) } }
        if let t = modelType { return allCases.first { $0.modelTypes.contains(t) } }
        return nil
    }

    /// The family of a ModelConfig built by this file.
    public init?(config: ModelConfig) {
        guard let f = ModelFamily.allCases.first(where: { $0.architectures.contains(config.originalArchitecture) }) else { return nil }
        self = f
    }
}

/// Reads of a config.json (ConfigJSON: a value of the wrong type is an error naming the key, the
/// type and the file) with the defaults and range checks the parsers share.
struct ConfigReader {
    let json: ConfigJSON
    var path: String { json.path }

    func int(_ keys: [String], default value: Int? = nil) throws -> Int {
        if let v = try json.int(keys) { return v }
        if let value { return value }
        throw TLModelError.invalidConfig("\(path) lacks \(keys.joined(separator: " or "))")
    }

    func optionalInt(_ key: String) throws -> Int? { try json.int(key) }

    func double(_ keys: [String], default value: Double) throws -> Double {
        for k in keys { if let v = try json.double(k) { return v } }
        return value
    }

    func bool(_ key: String, default value: Bool) throws -> Bool { try json.bool(key) ?? value }
    func string(_ key: String) throws -> String? { try json.string(key) }
    func object(_ key: String) throws -> ConfigJSON? { try json.object(key) }

    /// A size that must lie in 1…2²²; the error names the key.
    func positive(_ name: String, _ v: Int) throws -> Int {
        guard v > 0 && v <= 1 << 22 else { throw TLModelError.invalidConfig("\(path): \(name) = \(v) is out of range") }
        return v
    }

    /// A norm epsilon, which must lie strictly between 0 and 1.
    func epsilon(_ key: String, default value: Double) throws -> Float {
        let eps = try double([key], default: value)
        guard eps > 0 && eps < 1 else { throw TLModelError.invalidConfig("\(path): \(key) = \(eps) must be between 0 and 1") }
        return Float(eps)
    }
}

extension ModelConfig {
    /// Parses a Hugging Face `config.json` of any supported family; an unsupported architecture is
    /// an error that lists the supported ones.
    public static func fromHuggingFace(json data: Data, path: String = "config.json") throws -> ModelConfig {
        let r = ConfigReader(json: try ConfigJSON(data: data, path: path))
        let arch = try r.json.strings("architectures")?.first
        let type = try r.string("model_type")
        // A config naming neither is read as GPT-2 (hand-written and older GPT-2 configs).
        let named = arch != nil || type != nil
        guard let family = named ? ModelFamily.from(architecture: arch, modelType: type) : .gpt2 else {
            let what = arch.map { "lists architecture \($0)" } ?? type.map { "says model_type \"\($0)\"" } ?? "names no architecture"
            throw TLModelError.unsupportedArchitecture("\(path) \(what); tlsh supports \(ModelFamily.supportedArchitectures.joined(separator: ", "))")
        }
        var cfg: ModelConfig
        switch family {
        case .gpt2: cfg = try gpt2(r)
        case .gptNeoX: cfg = try gptNeoX(r)
        case .llama, .mistral, .qwen2, .qwen3: cfg = try llamaLike(r, family: family)
        case .gemma: cfg = try gemma(r)
        case .gemma2: cfg = try gemma2(r)
        }
        cfg.originalArchitecture = family.architectures[0]
        if let name = try r.string("_name_or_path"), !name.isEmpty { cfg.modelName = name }
        return cfg
    }

    private static func gpt2(_ r: ConfigReader) throws -> ModelConfig {
        let nEmbd = try r.positive("n_embd", try r.int(["n_embd", "hidden_size"]))
        let nHead = try r.positive("n_head", try r.int(["n_head", "num_attention_heads"]))
        let nLayer = try r.positive("n_layer", try r.int(["n_layer", "num_hidden_layers"]))
        let nCtx = try r.positive("n_positions", try r.int(["n_ctx", "n_positions", "max_position_embeddings"]))
        let vocab = try r.positive("vocab_size", try r.int(["vocab_size"]))
        // 4 · n_embd is only computed for an n_embd that passed the range check (no overflow).
        let inner = try r.positive("n_inner", try r.optionalInt("n_inner") ?? 4 * nEmbd)
        guard nEmbd % nHead == 0 else {
            throw TLModelError.invalidConfig("\(r.path): n_embd \(nEmbd) is not divisible by n_head \(nHead)")
        }
        var cfg = ModelConfig(nLayers: nLayer, dModel: nEmbd, nHeads: nHead, dMLP: inner, nCtx: nCtx, dVocab: vocab)
        cfg.eps = try r.epsilon("layer_norm_epsilon", default: 1e-5)
        if let act = try r.string("activation_function") {
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
                throw TLModelError.unsupportedArchitecture("activation_function \"\(act)\" (tlsh implements gelu_new for GPT-2)")
            }
            cfg.actFn = "gelu_new"
        }
        cfg.scaleAttnByInverseLayerIdx = try r.bool("scale_attn_by_inverse_layer_idx", default: false)
        cfg.tieWordEmbeddings = try r.bool("tie_word_embeddings", default: true)
        return cfg
    }

    /// The shared size fields of the rotary families.
    private static func sizes(_ r: ConfigReader, headDim: Int? = nil) throws -> ModelConfig {
        let d = try r.positive("hidden_size", try r.int(["hidden_size"]))
        let heads = try r.positive("num_attention_heads", try r.int(["num_attention_heads"]))
        let layers = try r.positive("num_hidden_layers", try r.int(["num_hidden_layers"]))
        let mlp = try r.positive("intermediate_size", try r.int(["intermediate_size"]))
        let vocab = try r.positive("vocab_size", try r.int(["vocab_size"]))
        let ctx = try r.positive("max_position_embeddings", try r.int(["max_position_embeddings"], default: 2048))
        guard headDim != nil || d % heads == 0 else {
            throw TLModelError.invalidConfig("\(r.path): hidden_size \(d) is not divisible by num_attention_heads \(heads)")
        }
        return ModelConfig(nLayers: layers, dModel: d, nHeads: heads, dHead: headDim ?? d / heads, dMLP: mlp, nCtx: ctx, dVocab: vocab)
    }

    /// rope_theta at the top level (transformers 4) or in rope_parameters (transformers 5).
    /// config.json's head_dim when it names a positive one (0 or null: derive it from the sizes).
    private static func explicitHeadDim(_ r: ConfigReader) throws -> Int? {
        guard let h = try r.optionalInt("head_dim"), h > 0 else { return nil }
        return try r.positive("head_dim", h)
    }

    /// num_key_value_heads (default: one per query head), which must divide the query heads.
    private static func keyValueHeads(_ r: ConfigReader, _ cfg: ModelConfig) throws -> Int {
        let kv = try r.positive("num_key_value_heads", try r.int(["num_key_value_heads"], default: cfg.nHeads))
        guard cfg.nHeads % kv == 0 else {
            throw TLModelError.invalidConfig("\(r.path): num_attention_heads \(cfg.nHeads) is not a multiple of num_key_value_heads \(kv)")
        }
        return kv
    }

    private static func ropeTheta(_ r: ConfigReader, default value: Double) throws -> Double {
        if let v = try r.json.double("rope_theta") { return v }
        if let p = try r.object("rope_parameters"), let v = try p.double("rope_theta") { return v }
        return value
    }

    private static func activation(_ r: ConfigReader, key: String) throws -> String {
        let act = try r.string(key) ?? "silu"
        let known = ["gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "relu"]
        guard known.contains(act) else {
            throw TLModelError.unsupportedArchitecture("\(r.path): \(key) \"\(act)\" (tlsh implements \(known.joined(separator: ", ")))")
        }
        return act
    }

    /// GPT-NeoX / Pythia: LayerNorm, parallel attention + MLP, partial rotate-half rotary, no BOS.
    private static func gptNeoX(_ r: ConfigReader) throws -> ModelConfig {
        var cfg = try sizes(r)
        cfg.eps = try r.epsilon("layer_norm_eps", default: 1e-5)
        cfg.actFn = try activation(r, key: "hidden_act")
        cfg.parallelAttnMLP = try r.bool("use_parallel_residual", default: true)
        cfg.positionalEmbeddingType = .rotary
        cfg.rotaryAdjacentPairs = false
        // rotary_pct (transformers 4) or partial_rotary_factor (transformers 5, top level or in rope_parameters).
        var pct = try r.double(["rotary_pct", "partial_rotary_factor"], default: -1)
        if pct < 0, let p = try r.object("rope_parameters") { pct = try p.double("partial_rotary_factor") ?? -1 }
        if pct < 0 { pct = 0.25 }
        guard pct > 0 && pct <= 1 else { throw TLModelError.invalidConfig("\(r.path): rotary_pct = \(pct) must be in (0, 1]") }
        cfg.rotaryDim = Int((pct * Double(cfg.dHead)).rounded(.toNearestOrEven))
        cfg.rotaryBase = try r.double(["rotary_emb_base"], default: try ropeTheta(r, default: 10000))
        cfg.tieWordEmbeddings = try r.bool("tie_word_embeddings", default: false)
        cfg.defaultPrependBOS = false
        guard cfg.rotaryDim % 2 == 0, cfg.rotaryDim <= cfg.dHead else {
            throw TLModelError.invalidConfig("\(r.path): rotary dimension \(cfg.rotaryDim) must be even and at most d_head \(cfg.dHead)")
        }
        return cfg
    }

    /// Gemma (1) as TransformerLens's google/gemma-2b / gemma-7b entries describe it: RMSNorm (stored
    /// as w − 1), embeddings × √d_model (in the weights), GeGLU, multi-query in 2b, scores divided
    /// by √d_head; no post norms, soft-caps or local layers. TransformerLens's act_fn is "gelu" (the
    /// erf form) whatever config.json says, where transformers uses hidden_activation
    /// (gelu_pytorch_tanh by default): tlsh follows TransformerLens, so on real Gemma checkpoints its
    /// numbers match TransformerLens's and differ slightly from transformers'.
    private static func gemma(_ r: ConfigReader) throws -> ModelConfig {
        var cfg = try sizes(r, headDim: try explicitHeadDim(r) ?? 256)
        cfg.eps = try r.epsilon("rms_norm_eps", default: 1e-6)
        cfg.actFn = "gelu"
        cfg.normalizationType = .rms
        cfg.finalRMS = true
        cfg.gatedMLP = true
        cfg.positionalEmbeddingType = .rotary
        cfg.rotaryDim = cfg.dHead
        cfg.rotaryBase = try ropeTheta(r, default: 10000)
        cfg.tieWordEmbeddings = try r.bool("tie_word_embeddings", default: true)
        cfg.nKeyValueHeads = try keyValueHeads(r, cfg)
        return cfg
    }

    /// Gemma-2 as TransformerLens's google/gemma-2-* entries describe it: RMSNorm (weights stored as
    /// w − 1), pre and post norms, GeGLU, grouped-query attention, soft-capped scores and logits,
    /// alternating local (sliding window) and global layers, scores divided by √query_pre_attn_scalar.
    private static func gemma2(_ r: ConfigReader) throws -> ModelConfig {
        // Gemma's description, plus the activation config.json names, the post norms, soft-caps,
        // local layers and query_pre_attn_scalar.
        var cfg = try gemma(r)
        cfg.actFn = try activation(r, key: r.json.has("hidden_activation") ? "hidden_activation" : "hidden_act")
        cfg.useNormalizationBeforeAndAfter = true
        cfg.attnScoresSoftCap = Float(try r.double(["attn_logit_softcapping"], default: 0))
        cfg.outputLogitsSoftCap = Float(try r.double(["final_logit_softcapping"], default: 0))
        let scalar = try r.double(["query_pre_attn_scalar"], default: Double(cfg.dHead))
        guard scalar > 0 else { throw TLModelError.invalidConfig("\(r.path): query_pre_attn_scalar = \(scalar) must be positive") }
        cfg.attnScale = Float(scalar.squareRoot())
        if let w = try r.optionalInt("sliding_window"), w > 0 {
            cfg.useLocalAttn = true
            cfg.windowSize = w
            // HF's layer_types when given, else Gemma-2's alternation (even layers local).
            let types = try r.json.strings("layer_types")?.map { $0 == "sliding_attention" ? "local" : "global" }
            cfg.attnTypes = types ?? (0..<cfg.nLayers).map { $0 % 2 == 0 ? "local" : "global" }
        }
        return cfg
    }

    /// Llama, Mistral, Qwen2, Qwen3: RMSNorm, full rotate-half rotary, SwiGLU, grouped-query attention
    /// (Qwen3: q/k RMSNorm per head and an explicit head_dim).
    private static func llamaLike(_ r: ConfigReader, family: ModelFamily) throws -> ModelConfig {
        // TransformerLens takes d_head = hidden_size / heads for Llama and Qwen2, head_dim for Mistral.
        var cfg = try sizes(r, headDim: family == .mistral || family == .qwen3 ? try explicitHeadDim(r) : nil)
        cfg.eps = try r.epsilon("rms_norm_eps", default: 1e-6)
        cfg.actFn = try activation(r, key: "hidden_act")
        cfg.normalizationType = .rms
        cfg.finalRMS = family != .mistral  // as TransformerLens's configs say (no effect on numbers)
        cfg.gatedMLP = true
        cfg.positionalEmbeddingType = .rotary
        cfg.rotaryAdjacentPairs = false
        cfg.rotaryDim = cfg.dHead
        cfg.rotaryBase = try ropeTheta(r, default: 10000)
        cfg.tieWordEmbeddings = try r.bool("tie_word_embeddings", default: false)
        let kv = try keyValueHeads(r, cfg)
        // Llama uses grouped attention only when the counts differ; Mistral and Qwen2 always name it.
        cfg.nKeyValueHeads = ((family == .llama || family == .qwen3) && kv == cfg.nHeads) ? nil : kv
        switch family {
        case .mistral:
            cfg.nCtx = 2048  // TransformerLens caps Mistral's context
            if let w = try r.optionalInt("sliding_window"), w > 0 { cfg.useLocalAttn = true; cfg.windowSize = w }
        case .qwen2:
            cfg.defaultPrependBOS = false
            cfg.rotaryBase = try ropeTheta(r, default: 10000).rounded(.towardZero)  // TL: int(rope_theta)
        case .qwen3:
            cfg.defaultPrependBOS = false
            cfg.useQKNorm = true
            cfg.nCtx = 2048  // TransformerLens caps Qwen3's context
            cfg.rotaryBase = try ropeTheta(r, default: 10000).rounded(.towardZero)
        default: break
        }
        if let scaling = try r.object("rope_scaling") ?? r.object("rope_parameters") {
            let type = (try scaling.string("rope_type") ?? scaling.string("type") ?? "default").lowercased()
            func num(_ k: String, _ d: Double) throws -> Double { try scaling.double(k) ?? d }
            switch type {
            case "default": break
            case "llama3":
                cfg.ropeScaling = RopeScaling(factor: try num("factor", 1), lowFreqFactor: try num("low_freq_factor", 1),
                                              highFreqFactor: try num("high_freq_factor", 4),
                                              originalContext: try num("original_max_position_embeddings", Double(cfg.nCtx)))
            default:
                throw TLModelError.unsupportedArchitecture("\(r.path): rope scaling \"\(type)\" (tlsh implements default and llama3)")
            }
        }
        return cfg
    }
}
