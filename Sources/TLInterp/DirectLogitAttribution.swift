// Direct logit attribution: how much each component writes toward a token's logit (or a logit
// difference) at one position, through the final LayerNorm's cached scale — TransformerLens's
// logit_attrs over decompose_resid / stack_head_results / stack_neuron_results.
import TLModel
import TLTensor

/// Attribution of one prediction to the model's components.
public struct LogitAttribution: Sendable {
    /// Per head, [n_layers, n_heads].
    public var heads: Tensor
    /// Per block output: labels `embed`, `pos_embed`, `0_attn_out`, `0_mlp_out`, … with values.
    public var components: [(label: String, value: Float)]
    /// Per neuron of `neuronLayer` (when asked for), [d_mlp].
    public var neurons: Tensor?
    public var neuronLayer: Int?
    /// The total logit (difference) the components add up to, minus the constant biases' share.
    public var total: Float

    /// All head and block components, largest attribution first.
    public func ranked() -> [(label: String, value: Float)] {
        var rows = components
        let H = heads.shape[1]
        for i in 0..<heads.count { rows.append(("L\(i / H)H\(i % H)", heads.data[i])) }
        return rows.sorted { abs($0.value) > abs($1.value) }
    }
}

public enum DirectLogitAttribution {
    /// Attributes logit(token) − logit(wrong) at `position` of batch item 0 of `cache`.
    public static func attribute(cache: ActivationCache, token: Int, wrong: Int? = nil, position: Int = -1,
                                 neuronLayer: Int? = nil) throws -> LogitAttribution {
        let model = cache.model
        let slice = PosSlice.index(position)
        let headStack = try cache.stackHeadResults(posSlice: slice)
        let headAttrs = try cache.logitAttrs(headStack.tensor, token: token, incorrectToken: wrong, posSlice: slice)
        let L = model.config.nLayers, H = model.config.nHeads
        let heads = Tensor(shape: [L, H], data: Array(headAttrs.data.prefix(L * H)))
        let blocks = try cache.decomposeResid(posSlice: slice)
        let blockAttrs = try cache.logitAttrs(blocks.tensor, token: token, incorrectToken: wrong, posSlice: slice)
        let components = zip(blocks.labels, blockAttrs.data).map { ($0, $1) }
        var neurons: Tensor?
        if let n = neuronLayer {
            let l = try model.resolveLayer(n)
            let stack = try cache.stackNeuronResults(layer: l + 1, posSlice: slice)
            let attrs = try cache.logitAttrs(stack.tensor, token: token, incorrectToken: wrong, posSlice: slice)
            let dMLP = model.config.dMLP
            neurons = Tensor(shape: [dMLP], data: Array(attrs.data.suffix(dMLP)))
        }
        let total = blockAttrs.data.reduce(0, +)
        return LogitAttribution(heads: heads, components: components, neurons: neurons, neuronLayer: neuronLayer, total: total)
    }
}
