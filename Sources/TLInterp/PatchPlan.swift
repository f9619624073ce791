// Activation patching as one InterventionPlan: run 0 is the clean prompt (it reads every patched
// activation whole, not sent back), run 1 the corrupt prompt, then one corrupt run per grid cell
// whose write copies the clean run's cells. Every run reads only what the metric needs (one
// position's logits, the metric's columns). On nnsight the whole sweep is one session, one job.
import TLModel
import TLTensor

public struct PatchPlan: Sendable {
    public let plan: InterventionPlan
    public let activation: String
    public let axes: [PatchAxis]
    public let axisValues: [[Int]]
    let metric: PatchMetric

    /// Activations a plan can patch (what the nnsight worker maps for every family).
    public static let activations = ["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out", "z"]

    /// `axes` from layer, pos, head (head only for z); `ranges` as `Patcher.sweep` takes them.
    public init(config: ModelConfig, activation: String, axes: [PatchAxis], ranges: [PatchAxis: [Int]],
                clean: [Int], corrupt: [Int], metric: PatchMetric) throws {
        let short = activation.hasPrefix("hook_") ? String(activation.dropFirst(5)) : activation
        guard Self.activations.contains(short) else {
            throw TLInterpError.invalidArgument("patching \(activation) has no plan yet (nnsight maps \(Self.activations.joined(separator: ", "))); use `backend local` for it")
        }
        guard clean.count == corrupt.count else {
            throw TLInterpError.invalidArgument("clean and corrupt prompts must have the same number of tokens (\(clean.count) and \(corrupt.count))")
        }
        for axis in axes where ![.layer, .pos, .head].contains(axis) {
            throw TLInterpError.invalidArgument("a patch plan sweeps layer, pos and head, not \(axis.rawValue)")
        }
        if axes.contains(.head) && short != "z" { throw TLInterpError.invalidArgument("head= sweeps z (attn.hook_z), not \(short)") }
        let P = clean.count
        let full: [PatchAxis: Int] = [.layer: config.nLayers, .pos: P, .head: config.nHeads]
        let values = try axes.map { axis -> [Int] in
            let limit = full[axis]!
            let v = ranges[axis] ?? Array(0..<limit)
            for i in v where i < -limit || i >= limit {
                throw TLInterpError.invalidArgument("\(axis.rawValue)=\(i) is out of range: valid \(axis.noun) are 0…\(limit - 1) (negative counts from the end)")
            }
            return v.map { $0 < 0 ? $0 + limit : $0 }
        }
        let hookName = { (l: Int) in HookNames.actName(short, layer: l) }
        let metricRead = InterventionPlan.Read(InterventionPlan.logits, positions: metric.position.map { [$0] }, columns: metric.columns)
        let layerAxis = axes.firstIndex(of: .layer)
        let layers = layerAxis.map { values[$0] } ?? Array(0..<config.nLayers)
        var runs = [InterventionPlan.Run(tokens: clean, reads: layers.map { InterventionPlan.Read(hookName($0), keep: false) } + [metricRead]),
                    InterventionPlan.Run(tokens: corrupt, reads: [metricRead])]
        // Every cell of the grid in row-major order.
        let counts = values.map(\.count)
        var idx = [Int](repeating: 0, count: axes.count)
        for _ in 0..<counts.reduce(1, *) {
            var layer = 0, pos: Int?, head: Int?
            for (k, axis) in axes.enumerated() {
                let v = values[k][idx[k]]
                switch axis {
                case .layer: layer = v
                case .pos: pos = v
                case .head: head = v
                default: break
                }
            }
            let name = hookName(layer)
            runs.append(InterventionPlan.Run(tokens: corrupt, reads: [metricRead],
                                             writes: [InterventionPlan.Write(name, positions: pos.map { [$0] }, head: head, value: .read(run: 0, hook: name))]))
            var k = axes.count - 1
            while k >= 0 { idx[k] += 1; if idx[k] < counts[k] { break }; idx[k] = 0; k -= 1 }
        }
        self.plan = InterventionPlan(runs: runs)
        self.activation = short
        self.axes = axes
        self.axisValues = values
        self.metric = metric
    }

    /// The sweep's result from the plan's results, as `Patcher.sweep` reports it.
    public func result(_ r: PlanResult, normalize: Bool) throws -> PatchResult {
        guard r.runs.count == plan.runs.count else {
            throw TLInterpError.invalidArgument("the plan ran \(plan.runs.count) runs but \(r.runs.count) results came back")
        }
        func value(_ i: Int) throws -> Float {
            guard let logits = r.runs[i][InterventionPlan.logits] else { throw TLInterpError.invalidArgument("run \(i) sent back no logits") }
            return metric.evaluate(logits, tokens: plan.runs[i].tokens, restricted: metric.restrictsLogits)
        }
        let clean = try value(0), corrupt = try value(1)
        if normalize && abs(clean - corrupt) <= 1e-6 * max(1, abs(clean), abs(corrupt)) {
            throw TLInterpError.invalidArgument("normalize=true divides by (clean − corrupt), but the clean and corrupt metrics are equal "
                + "(clean \(clean), corrupt \(corrupt)); patch two prompts the metric tells apart, or leave normalize=false")
        }
        let cells = try (2..<plan.runs.count).map { i -> Float in
            let v = try value(i)
            return normalize ? (v - corrupt) / (clean - corrupt) : v
        }
        return PatchResult(activation: activation, axes: axes, axisValues: axisValues,
                           values: Tensor(shape: axisValues.map(\.count), data: cells), metric: metric,
                           cleanValue: clean, corruptValue: corrupt, normalized: normalize)
    }
}
