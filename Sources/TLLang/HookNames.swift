/// One hook point of a TransformerLens-style model.
public struct HookName: Equatable, Sendable {
    /// The TransformerLens name, e.g. `blocks.3.attn.hook_pattern`.
    public var full: String
    /// The short name used with a layer index, e.g. `pattern` (as `cache.pattern[3]` or
    /// `cache["pattern", 3]`); `ln1.scale` style for LayerNorm hooks, whose TransformerLens
    /// short form needs a layer type.
    public var short: String
    /// The layer, or nil for hooks outside the blocks (`hook_embed`, `ln_final.hook_scale`).
    public var layer: Int?

    public init(full: String, short: String, layer: Int?) {
        self.full = full
        self.short = short
        self.layer = layer
    }
}

/// The hooks a standard GPT-2-style model fires by default, in TransformerLens firing order
/// (2 + 17 per layer + 2 names, as `run_with_cache` lists them in TransformerLens 2.x).
/// Gated hooks (`attn.hook_result`, `hook_q_input`, `hook_mlp_in`, ...) are left out because
/// they are off by default; `attnOnly` drops the MLP and second LayerNorm; `unembed` adds
/// TransformerLens 3.x's `unembed.hook_in`/`hook_out`.
public func hookNames(nLayers: Int, attnOnly: Bool = false, unembed: Bool = false) -> [HookName] {
    var names = [HookName(full: "hook_embed", short: "embed", layer: nil),
                 HookName(full: "hook_pos_embed", short: "pos_embed", layer: nil)]
    let attention = ["ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v",
                     "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out"]
    let mlp = ["hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out"]
    for layer in 0..<max(nLayers, 0) {
        let local = ["hook_resid_pre"] + attention + (attnOnly ? [] : mlp) + ["hook_resid_post"]
        for name in local {
            names.append(HookName(full: "blocks.\(layer).\(name)", short: shortHookName(name), layer: layer))
        }
    }
    names.append(HookName(full: "ln_final.hook_scale", short: "scale", layer: nil))
    names.append(HookName(full: "ln_final.hook_normalized", short: "normalized", layer: nil))
    if unembed {
        names.append(HookName(full: "unembed.hook_in", short: "unembed_in", layer: nil))
        names.append(HookName(full: "unembed.hook_out", short: "unembed_out", layer: nil))
    }
    return names
}

/// Short names in first-seen order, without duplicates (for `cache.` completion).
public func shortHookNames(_ hooks: [HookName]) -> [String] {
    var seen = Set<String>()
    return hooks.map(\.short).filter { seen.insert($0).inserted }
}

/// `attn.hook_pattern` → `pattern`, `hook_resid_pre` → `resid_pre`, `ln1.hook_scale` → `ln1.scale`.
private func shortHookName(_ local: String) -> String {
    let parts = local.split(separator: ".").map(String.init)
    let leaf = String(parts.last?.dropFirst("hook_".count) ?? "")
    if parts.count == 2, parts[0].hasPrefix("ln") { return "\(parts[0]).\(leaf)" }
    return leaf
}
