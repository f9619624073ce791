// TransformerLens's hook names: the public contract users carry over from Python notebooks.

/// Where a hook fires: its full TransformerLens name and the block it belongs to.
public struct HookPoint: Sendable, Equatable {
    public let name: String
    public let layer: Int?
}

/// Which optional hook points are switched on (all off by default, as in TransformerLens).
public struct OptionalHooks: Sendable, Equatable {
    /// `blocks.L.attn.hook_result` [b, p, head, d_model] (set_use_attn_result).
    public var attnResult = false
    /// `blocks.L.hook_mlp_in` [b, p, d_model] (set_use_hook_mlp_in).
    public var mlpIn = false
    /// `blocks.L.hook_attn_in` [b, p, head, d_model] (set_use_attn_in).
    public var attnIn = false
    /// `blocks.L.hook_q_input`, `hook_k_input`, `hook_v_input` [b, p, head, d_model] (set_use_split_qkv_input).
    public var splitQKVInput = false
    public init(attnResult: Bool = false, mlpIn: Bool = false, attnIn: Bool = false, splitQKVInput: Bool = false) {
        self.attnResult = attnResult; self.mlpIn = mlpIn; self.attnIn = attnIn; self.splitQKVInput = splitQKVInput
    }
}

public enum HookNames {
    /// Every hook name of a GPT-2 model with `nLayers` blocks, in firing order (the registry's
    /// answer for a GPT-2 config; `all(config:optional:)` in HookRegistry.swift for any family).
    public static func all(nLayers: Int, optional: OptionalHooks = OptionalHooks()) -> [String] {
        all(config: ModelConfig(nLayers: nLayers, dModel: 64, nHeads: 1, nCtx: 1, dVocab: 1), optional: optional)
    }

    /// Short names accepted by `actName` and the language (`cache.resid_post[6]`), with the aliases
    /// of TransformerLens's get_act_name.
    public static let shortNames = ["embed", "pos_embed", "resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out",
                                    "q", "k", "v", "z", "attn_scores", "pattern", "result", "pre", "post", "scale",
                                    "normalized", "mlp_in", "attn_in", "q_input", "k_input", "v_input", "rot_q", "rot_k",
                                    "pre_linear"]

    /// TransformerLens's `utils.get_act_name(name, layer, layer_type)`.
    public static func actName(_ name: String, layer: Int? = nil, layerType: String? = nil) -> String {
        if (name.contains(".") || name.hasPrefix("hook_")) && layer == nil && layerType == nil { return name }
        var name = name, layer = layer, layerType = layerType
        // Compact forms: "k6", "scale4ln1", "pre5" (letters, digits, optional type).
        if layer == nil, let split = splitCompact(name) {
            name = split.name; layer = split.layer
            if !split.type.isEmpty { layerType = split.type }
        }
        let aliases = ["attn": "pattern", "attn_logits": "attn_scores", "key": "k", "query": "q", "value": "v",
                       "mlp_pre": "pre", "mlp_mid": "mid", "mlp_post": "post"]
        name = aliases[name] ?? name
        let typeAliases = ["a": "attn", "m": "mlp", "b": "", "block": "", "blocks": "", "attention": "attn"]
        if let t = layerType { layerType = typeAliases[t] ?? t }
        if ["k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores"].contains(name) { layerType = "attn" }
        if ["pre", "post", "mid", "pre_linear"].contains(name) { layerType = "mlp" }
        if (name == "scale" || name == "normalized") && layer == nil { return "ln_final.hook_\(name)" }
        var full = ""
        if let layer { full += "blocks.\(layer)." }
        if let t = layerType, !t.isEmpty { full += "\(t)." }
        return full + "hook_\(name)"
    }

    private static func splitCompact(_ s: String) -> (name: String, layer: Int, type: String)? {
        // ([a-z]+)(\d+)([a-z]?.*)
        let chars = Array(s)
        var i = 0
        while i < chars.count, chars[i].isLetter, chars[i].isLowercase { i += 1 }
        guard i > 0, i < chars.count, chars[i].isNumber else { return nil }
        var j = i
        while j < chars.count, chars[j].isNumber { j += 1 }
        guard let layer = Int(String(chars[i..<j])) else { return nil }
        return (String(chars[..<i]), layer, String(chars[j...]))
    }

    /// The layer a full hook name belongs to (`blocks.3.attn.hook_z` → 3).
    public static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blocks.") else { return nil }
        return Int(name.dropFirst(7).prefix { $0.isNumber })
    }
}
