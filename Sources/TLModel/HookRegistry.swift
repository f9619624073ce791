// The one table of hook points: for every hook, its TransformerLens name, the axes and shape of its
// activation as a function of the config, which axes a patching sweep may index, whether it is an
// optional hook (switched on like TransformerLens's set_use_*), and in which families it fires.
// HookNames (firing order), the cache-memory estimate, patching's head counts and the language's
// `hooks` listing all read this table, so a family adds its hooks here once.

/// A named axis of an activation.
public enum HookAxis: String, Sendable {
    case batch, pos
    case headIndex = "head_index", kvHeadIndex = "kv_head_index"
    case dHead = "d_head", dModel = "d_model", dMLP = "d_mlp", dVocab = "d_vocab"
    case queryPos = "query_pos", keyPos = "key_pos", one = "1"

    /// This axis's length for a run of `batch` sequences of `positions` tokens.
    public func size(_ c: ModelConfig, batch: Int, positions: Int) -> Int {
        switch self {
        case .batch: return batch
        case .pos, .queryPos, .keyPos: return positions
        case .headIndex: return c.nHeads
        case .kvHeadIndex: return c.kvHeads
        case .dHead: return c.dHead
        case .dModel: return c.dModel
        case .dMLP: return c.dMLP
        case .dVocab: return c.dVocab
        case .one: return 1
        }
    }
}

/// Which optional-hook switch enables a hook (nil: always fires).
public enum OptionalHookSwitch: Sendable {
    case attnResult, mlpIn, attnIn, splitQKVInput

    func isOn(_ o: OptionalHooks) -> Bool {
        switch self {
        case .attnResult: return o.attnResult
        case .mlpIn: return o.mlpIn
        case .attnIn: return o.attnIn
        case .splitQKVInput: return o.splitQKVInput
        }
    }
}

/// One hook point.
public struct HookSpec: Sendable {
    /// Name within its scope: "hook_embed", "attn.hook_q" (a block's), "ln_final.hook_scale".
    public let name: String
    /// Whether it belongs to every block (then its full name is "blocks.L." + name).
    public let perBlock: Bool
    public let axes: [HookAxis]
    /// The switch that turns it on, for TransformerLens's optional hooks.
    public let optional: OptionalHookSwitch?
    /// Whether a model of this config fires it at all.
    let present: @Sendable (ModelConfig) -> Bool

    /// Full name in block `layer` (ignored for global hooks).
    public func fullName(layer: Int) -> String { perBlock ? "blocks.\(layer).\(name)" : name }

    /// Shape of its activation.
    public func shape(_ c: ModelConfig, batch: Int, positions: Int) -> [Int] {
        axes.map { $0.size(c, batch: batch, positions: positions) }
    }

    /// The axes a patching sweep may index besides the layer: positions, and query or key/value heads.
    public var patchAxes: [HookAxis] { axes.filter { [.pos, .queryPos, .headIndex, .kvHeadIndex].contains($0) } }
}

public enum HookRegistry {
    private static func global(_ name: String, _ axes: [HookAxis], when present: @escaping @Sendable (ModelConfig) -> Bool = { _ in true }) -> HookSpec {
        HookSpec(name: name, perBlock: false, axes: axes, optional: nil, present: present)
    }
    private static func block(_ name: String, _ axes: [HookAxis], optional: OptionalHookSwitch? = nil,
                              when present: @escaping @Sendable (ModelConfig) -> Bool = { _ in true }) -> HookSpec {
        HookSpec(name: name, perBlock: true, axes: axes, optional: optional, present: present)
    }

    static let bpd: [HookAxis] = [.batch, .pos, .dModel]
    static let scale: [HookAxis] = [.batch, .pos, .one]
    static let perHeadResid: [HookAxis] = [.batch, .pos, .headIndex, .dModel]
    static let perKVHeadResid: [HookAxis] = [.batch, .pos, .kvHeadIndex, .dModel]

    /// Every hook point in TransformerLens's firing order (HookedTransformer.forward, TransformerBlock,
    /// Attention, MLP/GatedMLP, the norms, Unembed).
    public static let specs: [HookSpec] = [
        global("hook_embed", bpd),
        global("hook_pos_embed", bpd, when: { !$0.isRotary }),
        block("hook_resid_pre", bpd),
        block("hook_attn_in", perHeadResid, optional: .attnIn),
        block("hook_q_input", perHeadResid, optional: .splitQKVInput),
        block("hook_k_input", perKVHeadResid, optional: .splitQKVInput),
        block("hook_v_input", perKVHeadResid, optional: .splitQKVInput),
        block("ln1.hook_scale", scale),
        block("ln1.hook_normalized", bpd),
        block("attn.hook_q", [.batch, .pos, .headIndex, .dHead]),
        block("attn.hook_k", [.batch, .pos, .kvHeadIndex, .dHead]),
        block("attn.hook_v", [.batch, .pos, .kvHeadIndex, .dHead]),
        // Qwen3's q/k norms: TransformerLens fires them on rows flattened to [batch·pos·heads, …].
        block("attn.q_norm.hook_scale", [.batch, .pos, .headIndex, .one], when: { $0.useQKNorm }),
        block("attn.q_norm.hook_normalized", [.batch, .pos, .headIndex, .dHead], when: { $0.useQKNorm }),
        block("attn.k_norm.hook_scale", [.batch, .pos, .kvHeadIndex, .one], when: { $0.useQKNorm }),
        block("attn.k_norm.hook_normalized", [.batch, .pos, .kvHeadIndex, .dHead], when: { $0.useQKNorm }),
        block("attn.hook_rot_q", [.batch, .pos, .headIndex, .dHead], when: { $0.isRotary }),
        block("attn.hook_rot_k", [.batch, .pos, .kvHeadIndex, .dHead], when: { $0.isRotary }),
        block("attn.hook_attn_scores", [.batch, .headIndex, .queryPos, .keyPos]),
        block("attn.hook_pattern", [.batch, .headIndex, .queryPos, .keyPos]),
        block("attn.hook_z", [.batch, .pos, .headIndex, .dHead]),
        block("attn.hook_result", perHeadResid, optional: .attnResult),
        block("ln1_post.hook_scale", scale, when: { $0.useNormalizationBeforeAndAfter }),
        block("ln1_post.hook_normalized", bpd, when: { $0.useNormalizationBeforeAndAfter }),
        block("hook_attn_out", bpd),
        block("hook_resid_mid", bpd, when: { !$0.parallelAttnMLP }),
        block("hook_mlp_in", bpd, optional: .mlpIn),
        block("ln2.hook_scale", scale),
        block("ln2.hook_normalized", bpd),
        block("mlp.hook_pre", [.batch, .pos, .dMLP]),
        block("mlp.hook_pre_linear", [.batch, .pos, .dMLP], when: { $0.gatedMLP }),
        block("mlp.hook_post", [.batch, .pos, .dMLP]),
        block("ln2_post.hook_scale", scale, when: { $0.useNormalizationBeforeAndAfter }),
        block("ln2_post.hook_normalized", bpd, when: { $0.useNormalizationBeforeAndAfter }),
        block("hook_mlp_out", bpd),
        block("hook_resid_post", bpd),
        global("ln_final.hook_scale", scale),
        global("ln_final.hook_normalized", bpd),
        global("unembed.hook_in", bpd),
        global("unembed.hook_out", [.batch, .pos, .dVocab]),
    ]

    /// Whether `spec` fires for this config with these optional hooks.
    static func fires(_ spec: HookSpec, _ c: ModelConfig, _ optional: OptionalHooks) -> Bool {
        spec.present(c) && (spec.optional.map { $0.isOn(optional) } ?? true)
    }

    /// The spec of a full hook name (`blocks.3.attn.hook_k` → attn.hook_k), nil for an unknown name.
    public static func spec(for fullName: String) -> HookSpec? {
        if fullName.hasPrefix("blocks.") {
            let rest = fullName.dropFirst(7).drop { $0.isNumber }
            guard rest.hasPrefix(".") else { return nil }
            let local = String(rest.dropFirst())
            return specs.first { $0.perBlock && $0.name == local }
        }
        return specs.first { !$0.perBlock && $0.name == fullName }
    }

    /// How many heads a per-head activation has (query heads, or key/value heads under grouped-query
    /// attention); nil when the hook has no head axis.
    public static func headCount(of fullName: String, config c: ModelConfig) -> Int? {
        guard let s = spec(for: fullName) else { return nil }
        if s.axes.contains(.kvHeadIndex) { return c.kvHeads }
        if s.axes.contains(.headIndex) { return c.nHeads }
        return nil
    }
}

extension HookNames {
    /// Every hook name a model of `config` fires, in firing (cache-insertion) order.
    public static func all(config: ModelConfig, optional: OptionalHooks = OptionalHooks()) -> [String] {
        let live = HookRegistry.specs.filter { HookRegistry.fires($0, config, optional) }
        let head = live.prefix { !$0.perBlock }
        let blocks = live.filter(\.perBlock)
        let tail = live.drop { !$0.perBlock }.filter { !$0.perBlock }
        var names = head.map(\.name)
        for l in 0..<config.nLayers { names += blocks.map { $0.fullName(layer: l) } }
        return names + tail.map(\.name)
    }
}
