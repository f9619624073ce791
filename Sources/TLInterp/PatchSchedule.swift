// How a patching sweep's runs are batched: staggered across layers, grouped by position window.
//
// A run that patches block l's activation is the corrupted run up to block l, so it starts there
// from the corrupted cache's residual; a patch at one position leaves earlier positions as they
// were (causality), so it recomputes only the window from that position on, reading earlier keys
// and values from the corrupted cache. Runs with the same window go through the blocks as one
// batch that grows as the blocks reach each run's first layer: the weights stream once per window
// instead of once per run (a per-layer sweep on a 1B model was 16 weight streams, now it is one),
// and no block computes a row that the patch cannot have changed.
//
// `patchedMetric` (one run per index) is the naive reference this must equal (PatchScheduleTests).
import TLModel
import TLTensor

extension Patcher {
    /// One patched run of a sweep, placed in the schedule.
    struct ScheduledRun {
        /// Its place in the sweep's flat (row-major) output.
        var slot: Int
        var index: PatchIndex
        var hookName: String
        var clean: Tensor
        var layout: ActivationLayout
        /// The first block it runs: the patched block, or for resid_post the next one (nLayers for
        /// the last block's resid_post: then only the unembedding runs).
        var entry: Int
        /// resid_post patches are applied to the run's input instead of at a hook.
        var patchesInput: Bool
        /// First query position it recomputes: its patch position (0 when it patches every
        /// position, or when the metric reads every position's logits).
        var windowStart: Int
    }

    /// Places `indices` (already resolved to non-negative values) into runs.
    func schedule(activation: String, indices: [PatchIndex]) throws -> [ScheduledRun] {
        let P = seqLength
        // The window must still hold the position whose logits the metric reads.
        let metricPosition = metric.position.map { $0 < 0 ? $0 + P : $0 }
        var targets: [Int: (hookName: String, clean: Tensor, layout: ActivationLayout)] = [:]
        return try indices.enumerated().map { slot, index in
            let l = try model.resolveLayer(index.layer)
            if targets[l] == nil { targets[l] = try target(activation, layer: l) }
            let (hookName, clean, layout) = targets[l]!
            var start = 0
            if let p = index.pos, metric != .loss { start = p < 0 ? p + P : p }
            guard start >= 0 && start < P else {
                throw TLInterpError.invalidArgument("position \(index.pos!) is out of range for \(P) tokens")
            }
            if let metricPosition, metricPosition >= 0 { start = min(start, metricPosition) }
            let isResidPost = hookName == "blocks.\(l).hook_resid_post"
            return ScheduledRun(slot: slot, index: index, hookName: hookName, clean: clean, layout: layout,
                                entry: isResidPost ? l + 1 : l, patchesInput: isResidPost, windowStart: start)
        }
    }

    /// The metric of every run, batched: runs grouped by window, each group in batches of at most
    /// `rowBudget` rows, each batch staggered across the blocks. Returned in `runs`' slot order.
    func scheduledMetrics(_ runs: [ScheduledRun], monitor: WorkMonitor, done: inout Int, total: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: runs.count)
        let byWindow = Dictionary(grouping: runs, by: \.windowStart)
        for start in byWindow.keys.sorted() {
            let group = byWindow[start]!.sorted { ($0.entry, $0.slot) < ($1.entry, $1.slot) }
            let perBatch = max(1, rowBudget / (seqLength - start))
            for batchStart in stride(from: 0, to: group.count, by: perBatch) {
                try monitor.checkCancelled()
                let batch = Array(group[batchStart..<min(batchStart + perBatch, group.count)])
                let metrics = try staggeredMetrics(batch, windowStart: start)
                for (run, value) in zip(batch, metrics) { out[run.slot] = value }
                done += batch.count
                monitor.progress?(done, total)
            }
        }
        return out
    }

    /// The metrics of `runs` (sorted by entry block, all with window `start`) from one pass over the
    /// blocks: before each run's entry block it joins the batch with the corrupted residual there
    /// (its own window), and the batch runs on to the next entry block.
    func staggeredMetrics(_ runs: [ScheduledRun], windowStart start: Int) throws -> [Float] {
        let L = model.config.nLayers, P = seqLength, W = P - start, d = model.config.dModel
        var entries: [Int] = []
        for run in runs where entries.last != run.entry { entries.append(run.entry) }
        var resid = Tensor(shape: [0, W, d], data: [])  // [batch so far, W, d]
        var joined = 0
        var logits: Tensor?
        for (i, entry) in entries.enumerated() {
            let joining = runs[joined...].prefix { $0.entry == entry }
            // The corrupted residual before block `entry` (after the last block for entry L), in the window.
            let base = try (entry == L ? corruptCache.get("resid_post", layer: L - 1) : corruptCache.get("resid_pre", layer: entry))
                .slice(axis: 1, start: start, end: P)
            var data = resid.data
            data.reserveCapacity(data.count + joining.count * W * d)
            for run in joining {
                var input = base
                if run.patchesInput {
                    try apply(&input, clean: run.clean, index: run.index, layout: ActivationLayout(pos: 1, head: nil, src: nil), start: start)
                }
                data += input.data
            }
            let firstNew = joined
            joined += joining.count
            resid = Tensor(shape: [joined, W, d], data: data)

            let next = i + 1 < entries.count ? entries[i + 1] : nil
            var o = RunOptions()
            o.startAtLayer = entry
            if let next { o.stopAtLayer = next } else { metric.restrict(&o, sequenceLength: P, startPosition: start) }
            if start > 0 && entry < L {
                o.kvCache = try KVCache(prefixOf: corruptCache, length: start, copies: joined, layers: entry..<(next ?? L))
            }
            // The joining runs that patch inside block `entry`, by hook: batch element firstNew + k is
            // joining run k.
            let hooked = joining.enumerated().filter { !$0.element.patchesInput }
            for hookName in Set(hooked.map(\.element.hookName)).sorted() {
                let members = hooked.filter { $0.element.hookName == hookName }.map { (firstNew + $0.offset, $0.element) }
                o.hooks.append(ForwardHook(name: hookName) { [self] act, _ in
                    for (b, run) in members {
                        var one = try act.gather(axis: 0, indices: [b])
                        try apply(&one, clean: run.clean, index: run.index, layout: run.layout, start: start)
                        try act.scatter(axis: 0, indices: [b], values: one)
                    }
                })
            }
            let output = try model.run(residual: resid, options: o)
            if next != nil { resid = output.residual! } else { logits = output.logits! }
        }
        guard let logits else { return [] }
        return try (0..<runs.count).map { b in
            metric.evaluate(try logits.gather(axis: 0, indices: [b]), tokens: corruptTokens, restricted: metric.restrictsLogits)
        }
    }
}
