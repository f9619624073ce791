// The model configuration in TransformerLens's terms (HookedTransformerConfig): one struct for every
// supported family. Fields default to GPT-2's values, so a family states only how it differs.
// Parsing of Hugging Face config.json files lives in HuggingFaceConfig.swift.
import Foundation

/// TransformerLens's normalization_type (before folding; after fold_ln the weights are gone and the
/// model runs LNPre / RMSPre).
public enum NormalizationType: String, Sendable, Equatable {
    case layerNorm = "LN"
    case rms = "RMS"
}

/// TransformerLens's positional_embedding_type.
public enum PositionalEmbeddingType: String, Sendable, Equatable {
    /// A learned W_pos added to the embedding (hook_pos_embed).
    case standard
    /// Rotary embeddings applied to queries and keys (hook_rot_q, hook_rot_k).
    case rotary
}

/// Llama-3.1's "llama3" rope scaling (TransformerLens's NTK-by-parts fields).
public struct RopeScaling: Sendable, Equatable {
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalContext: Double
    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Double) {
        self.factor = factor; self.lowFreqFactor = lowFreqFactor; self.highFreqFactor = highFreqFactor
        self.originalContext = originalContext
    }
}

/// Hyper-parameters of a model, named as TransformerLens's HookedTransformerConfig.
public struct ModelConfig: Sendable, Equatable {
    public var nLayers: Int
    public var dModel: Int
    public var nHeads: Int
    public var dHead: Int
    public var dMLP: Int
    public var nCtx: Int
    public var dVocab: Int
    public var eps: Float = 1e-5
    /// gelu_new, gelu (erf), gelu_pytorch_tanh, silu or relu.
    public var actFn: String = "gelu_new"
    /// Stanford CRFM GPT-2s divide attention scores additionally by (layer + 1).
    public var scaleAttnByInverseLayerIdx: Bool = false
    public var tieWordEmbeddings: Bool = true
    public var modelName: String = "gpt2"
    /// The Hugging Face architecture the weights came from (original_architecture).
    public var originalArchitecture: String = "GPT2LMHeadModel"

    // MARK: Family fields (TransformerLens's names)

    public var normalizationType: NormalizationType = .layerNorm
    public var positionalEmbeddingType: PositionalEmbeddingType = .standard
    /// How many leading dimensions of each head rotary rotates (rotary_dim ≤ d_head).
    public var rotaryDim: Int = 0
    public var rotaryBase: Double = 10000
    /// GPT-J pairs (x0, x1), (x2, x3)…; false is GPT-NeoX's rotate-half pairing (x_i, x_{i+n/2}).
    public var rotaryAdjacentPairs: Bool = false
    /// Llama-3.1 rope scaling (use_NTK_by_parts_rope), nil when absent.
    public var ropeScaling: RopeScaling? = nil
    /// Grouped-query attention: key/value heads (nil = as many as query heads).
    public var nKeyValueHeads: Int? = nil
    /// SwiGLU / GeGLU MLP: post = act(x W_gate) * (x W_in) + b_in (hook_pre, hook_pre_linear).
    public var gatedMLP: Bool = false
    /// GPT-NeoX's parallel residual: resid_post = resid_pre + attn(ln1 x) + mlp(ln2 x).
    public var parallelAttnMLP: Bool = false
    /// The final norm is RMS (TransformerLens then never centres writing weights).
    public var finalRMS: Bool = false
    /// Sliding-window attention (Mistral): each query sees at most `windowSize` keys, itself included.
    public var useLocalAttn: Bool = false
    public var windowSize: Int? = nil
    /// Per layer "global" or "local" (nil: every layer is local when useLocalAttn).
    public var attnTypes: [String]? = nil
    /// scores = cap · tanh(scores / cap) when > 0 (Gemma-2).
    public var attnScoresSoftCap: Float = 0
    /// logits = cap · tanh(logits / cap) when > 0 (Gemma-2); TransformerLens then skips center_unembed.
    public var outputLogitsSoftCap: Float = 0
    /// Gemma-2: RMSNorm after attention and after the MLP too (ln1_post, ln2_post).
    public var useNormalizationBeforeAndAfter: Bool = false
    /// What attention scores are divided by (attn_scale); nil: √d_head.
    public var attnScale: Float? = nil
    /// Qwen3: RMSNorm over d_head on each query and key head after hook_q/hook_k (attn.q_norm, attn.k_norm).
    public var useQKNorm: Bool = false
    /// Whether to_tokens prepends BOS by default (GPT-NeoX and Qwen2: false).
    public var defaultPrependBOS: Bool = true

    public init(nLayers: Int, dModel: Int, nHeads: Int, dHead: Int? = nil, dMLP: Int? = nil, nCtx: Int,
                dVocab: Int, eps: Float = 1e-5, actFn: String = "gelu_new", modelName: String = "gpt2") {
        self.nLayers = nLayers; self.dModel = dModel; self.nHeads = nHeads
        self.dHead = dHead ?? dModel / max(nHeads, 1)
        self.dMLP = dMLP ?? 4 * dModel
        self.nCtx = nCtx; self.dVocab = dVocab; self.eps = eps; self.actFn = actFn; self.modelName = modelName
    }

    /// Key/value heads actually stored (n_key_value_heads, or n_heads without grouping).
    public var kvHeads: Int { nKeyValueHeads ?? nHeads }
    /// Query heads that share one key/value head.
    public var queriesPerKVHead: Int { nHeads / max(kvHeads, 1) }
    /// Columns of the fused q|k|v projection: (n_heads + 2 · kv_heads) · d_head.
    public var qkvWidth: Int { (nHeads + 2 * kvHeads) * dHead }
    public var isRotary: Bool { positionalEmbeddingType == .rotary }

    /// Whether block `layer` uses sliding-window attention, and its window.
    public func window(layer: Int) -> Int? {
        guard useLocalAttn, let w = windowSize, w > 0 else { return nil }
        if let types = attnTypes, layer < types.count, types[layer] != "local" { return nil }
        return w
    }

    /// Parameters as TransformerLens's cfg.n_params counts them (attention and MLP weights only).
    public var nParams: Int {
        nLayers * (2 * dModel * dHead * nHeads + 2 * dModel * dHead * kvHeads + (gatedMLP ? 3 : 2) * dModel * dMLP)
    }
}
