// AtP*'s GradDrop (Kramár et al. 2024, "AtP*: An efficient and scalable method for localizing LLM
// behaviour to components", §3.1.2): attribution patching can miss a node whose direct and
// indirect effects cancel in the gradient. GradDrop recomputes the estimate L times, the ℓ-th time
// with the gradient through layer ℓ's contribution to the residual stream dropped (layer ℓ's
// output held constant: a stop-gradient at blocks.ℓ.hook_attn_out and blocks.ℓ.hook_mlp_out),
// and combines the L estimates as
//     GradDrop(n) = 1/(L − 1) · Σ_ℓ |AtP_ℓ(n)|,
// where a node inside layer ℓ (or layer ℓ's output itself) has AtP_ℓ(n) = 0, so every node
// averages L − 1 estimates. Absolute values: an effect hidden by cancellation in the full gradient
// shows up in the estimates where one of the cancelling paths is cut.
// This is the paper's c_AtP+GD(n) = E[1/(L − 1) Σ_ℓ |I_AtP+GD_ℓ(n)|] for one prompt pair, with
// I_AtP+GD_ℓ the AtP estimate under a backward pass whose gradient through layer ℓ's residual-stream
// contribution (attention and MLP outputs together) is zeroed. The paper writes AtP as a patch of
// the noise value into the clean run (gradient at the clean run); tlsh keeps attrib's orientation
// (the clean value into the corrupt run, gradient at the corrupt run), the same estimator with the
// two runs' roles as in `attrib`.
import Foundation
import TLModel
import TLTensor

extension AttributionPatcher {
    /// The GradDrop attribution over the same axes as `attribute`: non-negative scores, one
    /// corrupted-run backward pass per layer.
    public func attributeGradDrop(activation: String, axes: [AttributionAxis], ranges: [AttributionAxis: [Int]] = [:],
                                  stopGradient: ((String) -> Bool)? = nil,
                                  isCancelled: (() -> Bool)? = nil) throws -> AttributionResult {
        let L = model.config.nLayers
        guard L >= 2 else {
            throw TLInterpError.invalidArgument("GradDrop averages over the other layers and needs a model with at least 2 layers; drop graddrop=")
        }
        var total: Tensor?
        var template: AttributionResult?
        for dropLayer in 0..<L {
            let dropped: Set<String> = ["blocks.\(dropLayer).hook_attn_out", "blocks.\(dropLayer).hook_mlp_out"]
            let patcher = try AttributionPatcher(model: model, clean: cleanTokens, corrupt: corruptTokens, metric: metric,
                                                 cleanCache: cleanCache, cleanLogits: cleanLogits, cleanLogitColumns: cleanLogitColumns,
                                                 stopGradient: { dropped.contains($0) || (stopGradient?($0) ?? false) },
                                                 isCancelled: isCancelled)
            var r = try patcher.attribute(activation: activation, axes: axes, ranges: ranges)
            // The dropped outputs themselves: layer ℓ's output held constant has no effect.
            let rowSize = r.values.count / max(1, r.values.shape[0])
            for (row, l) in r.axisValues[0].enumerated() {
                let hook = activation.contains(".") ? activation : HookNames.actName(activation, layer: l)
                if dropped.contains(hook) {
                    for i in row * rowSize..<(row + 1) * rowSize { r.values.data[i] = 0 }
                }
            }
            let magnitude = Tensor(shape: r.values.shape, data: r.values.data.map { abs($0) })
            total = try total.map { try $0 + magnitude } ?? magnitude
            template = template ?? r
        }
        guard var result = template, let total else { throw TLInterpError.invalidArgument("GradDrop computed nothing") }
        result.values = Tensor(shape: total.shape, data: total.data.map { $0 / Float(L - 1) })
        result.activation = activation + " (GradDrop)"
        return result
    }
}
