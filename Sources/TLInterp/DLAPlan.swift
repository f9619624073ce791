// Direct logit attribution as a plan, for engines where the weights are not here (nnsight, NDIF):
// one run of the cache's tokens whose reads are projected onto the unembedding direction where the
// model runs (InterventionPlan.Summary.unembed), so the reply is a few floats per component — per
// head, per block output, per neuron — and the final norm's scale at the position.
// The numbers are DirectLogitAttribution.attribute's (TransformerLens's logit_attrs over
// decompose_resid / stack_head_results / stack_neuron_results): centre (LayerNorm models), divide
// by ln_final's scale at the position, dot with W_U[:, token] − W_U[:, wrong]; the centring is moved
// onto the direction (centre(x)·w = x·centre(w)); the scale, computed there too, divides here.
import TLModel
import TLTensor

public struct DLAPlan: Sendable {
    public let plan: InterventionPlan
    let config: ModelConfig
    let embedHooks: [(hook: String, label: String)]
    let neuronLayer: Int?
    let finalHook: String

    /// `hookNames`: the model's hook points (whether it has hook_pos_embed).
    public init(config: ModelConfig, hookNames: [String], tokens: [Int], token: Int, wrong: Int?, position: Int, neuronLayer: Int?) throws {
        let P = tokens.count
        guard position >= -P && position < P else { throw TLInterpError.invalidArgument("position \(position) is out of range for \(P) tokens") }
        for t in [token] + (wrong.map { [$0] } ?? []) where t < 0 || t >= config.dVocab {
            throw TLInterpError.invalidArgument("token id \(t) is outside the vocabulary (0..<\(config.dVocab))")
        }
        let u = InterventionPlan.Unembed(tokens: [token] + (wrong.map { [$0] } ?? []), coefficients: wrong == nil ? [1] : [1, -1],
                                         center: config.normalizationType == .layerNorm)
        func through(_ t: InterventionPlan.Unembed.Through) -> InterventionPlan.Summary { var v = u; v.through = t; return .unembed(v) }
        // embed is the first residual component; without a positional embedding it equals
        // blocks.0.hook_resid_pre (which nnsight maps for every family, Gemma's scaled embedding too).
        let hasPos = hookNames.contains("hook_pos_embed")
        let embeds: [(String, String)] = hasPos ? [("hook_embed", "embed"), ("hook_pos_embed", "pos_embed")] : [("blocks.0.hook_resid_pre", "embed")]
        let at = [position]
        var reads = embeds.map { InterventionPlan.Read($0.0, positions: at, summary: .unembed(u)) }
        for l in 0..<config.nLayers {
            reads.append(.init("blocks.\(l).attn.hook_z", positions: at, summary: through(.heads)))
            reads.append(.init("blocks.\(l).hook_attn_out", positions: at, summary: .unembed(u)))
            if neuronLayer == l { reads.append(.init("blocks.\(l).mlp.hook_post", positions: at, summary: through(.neurons))) }
            reads.append(.init("blocks.\(l).hook_mlp_out", positions: at, summary: .unembed(u)))
        }
        finalHook = "blocks.\(config.nLayers - 1).hook_resid_post"
        reads.append(.init(finalHook, positions: at, summary: .normScale(center: config.normalizationType == .layerNorm, eps: config.eps)))
        plan = InterventionPlan(runs: [.init(tokens: tokens, reads: reads)])
        self.config = config
        self.embedHooks = embeds.map { (hook: $0.0, label: $0.1) }
        self.neuronLayer = neuronLayer
    }

    /// The attribution from the plan's results (on any engine).
    public func attribution(_ result: PlanResult) throws -> LogitAttribution {
        let r = result.runs[0]
        func get(_ hook: String) throws -> Tensor {
            guard let t = r[hook] else { throw TLInterpError.invalidArgument("the plan's reply has no \(hook)") }
            return t
        }
        // ln_final's scale at the position (TransformerLens's ln_final.hook_scale).
        let scaleRead = try get(finalHook)
        guard scaleRead.count == 1, let scale = scaleRead.data.first, scale > 0 else {
            throw TLInterpError.invalidArgument("the final norm's scale came back as \(scaleRead.shape)")
        }
        let L = config.nLayers, H = config.nHeads
        var heads = [Float]()
        var components: [(label: String, value: Float)] = try embedHooks.map { ($0.label, try get($0.hook).data[0] / scale) }
        var neurons: Tensor?
        for l in 0..<L {
            let h = try get("blocks.\(l).attn.hook_z")
            guard h.count == H else { throw TLInterpError.invalidArgument("layer \(l)'s head attribution has \(h.count) values, not \(H)") }
            heads += h.data.map { $0 / scale }
            components.append(("\(l)_attn_out", try get("blocks.\(l).hook_attn_out").data[0] / scale))
            components.append(("\(l)_mlp_out", try get("blocks.\(l).hook_mlp_out").data[0] / scale))
            if neuronLayer == l {
                let n = try get("blocks.\(l).mlp.hook_post")
                neurons = Tensor(shape: [config.dMLP], data: n.data.map { $0 / scale })
            }
        }
        let total = components.reduce(0) { $0 + $1.value }
        return LogitAttribution(heads: Tensor(shape: [L, H], data: heads), components: components, neurons: neurons,
                                neuronLayer: neuronLayer, total: total)
    }
}
