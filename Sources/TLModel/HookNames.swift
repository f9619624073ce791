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
    /// Every hook name of a GPT-2 model in firing (cache-insertion) order.
    public static func all(nLayers: Int, optional: OptionalHooks = OptionalHooks()) -> [String] {
        var names = ["hook_embed", "hook_pos_embed"]
        for l in 0..<nLayers { names += block(l, optional: optional) }
        return names + ["ln_final.hook_scale", "ln_final.hook_normalized", "unembed.hook_in", "unembed.hook_out"]
    }

    static func block(_ l: Int, optional: OptionalHooks) -> [String] {
        let b = "blocks.\(l)."
        var names = [b + "hook_resid_pre"]
        if optional.attnIn { names.append(b + "hook_attn_in") }
        if optional.splitQKVInput { names += [b + "hook_q_input", b + "hook_k_input", b + "hook_v_input"] }
        names += [b + "ln1.hook_scale", b + "ln1.hook_normalized",
                     b + "attn.hook_q", b + "attn.hook_k", b + "attn.hook_v",
                     b + "attn.hook_attn_scores", b + "attn.hook_pattern", b + "attn.hook_z"]
        if optional.attnResult { names.append(b + "attn.hook_result") }
        names += [b + "hook_attn_out", b + "hook_resid_mid"]
        if optional.mlpIn { names.append(b + "hook_mlp_in") }
        names += [b + "ln2.hook_scale", b + "ln2.hook_normalized", b + "mlp.hook_pre", b + "mlp.hook_post",
                  b + "hook_mlp_out", b + "hook_resid_post"]
        return names
    }

    /// Short names accepted by `actName` and the language (`cache.resid_post[6]`), with the aliases
    /// of TransformerLens's get_act_name.
    public static let shortNames = ["embed", "pos_embed", "resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out",
                                    "q", "k", "v", "z", "attn_scores", "pattern", "result", "pre", "post", "scale",
                                    "normalized", "mlp_in", "attn_in", "q_input", "k_input", "v_input"]

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
