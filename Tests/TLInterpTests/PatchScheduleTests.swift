// The batched patch sweep (PatchSchedule.swift: runs staggered across layers, grouped by position
// window, split by a row budget) against its naive reference, one patched run per index
// (`Patcher.patchedMetric`), on GPT-2 and on families with rotary, grouped-query and
// sliding-window attention. The goldens (InterpGoldenTests, FamilyInterpTests) check both against
// TransformerLens; this checks the batching itself over granularities the goldens do not cover,
// such as the last block's resid_post, the loss metric and a batch split mid-sweep.
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class PatchScheduleTests: XCTestCase {
    /// The sweep's batched products sum in another order than one run's: Float32 rounding only.
    let tol: Float = 2e-5

    struct Case {
        let activation: String
        let axes: [PatchAxis]
    }

    let cases = [Case(activation: "resid_post", axes: [.layer, .pos]), Case(activation: "resid_post", axes: [.layer]),
                 Case(activation: "resid_pre", axes: [.layer, .pos]), Case(activation: "attn_out", axes: [.layer, .pos]),
                 Case(activation: "mlp_out", axes: [.layer]), Case(activation: "z", axes: [.layer, .pos, .head]),
                 Case(activation: "k", axes: [.layer, .head]), Case(activation: "v", axes: [.layer, .pos, .head]),
                 Case(activation: "pattern", axes: [.layer, .head, .dest, .src])]

    func model(_ name: String) throws -> HookedTransformer {
        let root = name.hasPrefix("tiny") ? Golden.root : Golden.familiesRoot
        return try HookedTransformer.load(directory: try Golden(name, root: root).hfDirectory)
    }

    /// Every index of a sweep, read back from the grid, equals its own unbatched run.
    func check(_ patcher: Patcher, _ c: Case, _ label: String) throws {
        let result = try patcher.sweep(activation: c.activation, axes: c.axes)
        let counts = result.axisValues.map(\.count)
        var idx = [Int](repeating: 0, count: counts.count)
        for flat in 0..<counts.reduce(1, *) {
            var index = PatchIndex(layer: 0)
            for (k, axis) in c.axes.enumerated() {
                let v = result.axisValues[k][idx[k]]
                switch axis {
                case .layer: index.layer = v
                case .pos, .dest: index.pos = v
                case .head: index.head = v
                case .src: index.src = v
                }
            }
            let reference = try patcher.patchedMetric(activation: c.activation, index: index)
            let got = result.values.data[flat]
            XCTAssertEqual(got, reference, accuracy: tol * max(1, abs(reference)), "\(label) \(c.activation) \(c.axes) at \(index)")
            var k = counts.count - 1
            while k >= 0 { idx[k] += 1; if idx[k] < counts[k] { break }; idx[k] = 0; k -= 1 }
        }
    }

    func testBatchedSweepEqualsOneRunPerIndex() throws {
        for name in ["tiny-a", "llama-a", "gemma2-a", "pythia-b"] {
            let m = try model(name)
            let P = 7, V = m.config.dVocab
            let clean = (0..<P).map { ($0 * 37 + 11) % V }, corrupt = (0..<P).map { ($0 * 53 + 5) % V }
            for metric in [PatchMetric.logitDiff(answer: 3 % V, wrong: 9 % V), .loss] {
                let patcher = try Patcher(model: m, clean: clean, corrupt: corrupt, metric: metric)
                // A budget of 3 rows splits most windows into batches of one run and short windows
                // into several runs; the default puts each window's runs in one batch.
                for budget in [2048, 3] {
                    patcher.rowBudget = budget
                    for c in cases where metric != .loss || c.axes.count <= 2 {
                        try check(patcher, c, "\(name) \(metric) budget \(budget)")
                    }
                }
            }
        }
    }

    /// Runs the caller already made (the session's clean and corrupt caches) give the same sweep as
    /// the patcher's own runs; a corrupted cache without the state patching restarts from (a
    /// names= run) is run again instead.
    func testGivenRunsGiveTheSameSweep() throws {
        let m = try model("llama-a")
        let clean = [5, 17, 3, 40, 9], corrupt = [5, 17, 8, 40, 9], metric = PatchMetric.logitDiff(answer: 3, wrong: 9)
        let own = try Patcher(model: m, clean: clean, corrupt: corrupt, metric: metric)
        let (cleanLogits, cleanCache) = try m.runWithCache(tokens: [clean])
        let (corruptLogits, corruptCache) = try m.runWithCache(tokens: [corrupt])
        let (_, partial) = try m.runWithCache(tokens: [corrupt], names: { $0.hasSuffix("hook_resid_post") })
        for given in [corruptCache, partial] {
            let p = try Patcher(model: m, clean: clean, corrupt: corrupt, metric: metric, cleanCache: cleanCache, cleanLogits: cleanLogits,
                                corruptCache: given, corruptLogits: corruptLogits)
            XCTAssertEqual(p.cleanValue, own.cleanValue, accuracy: tol)
            XCTAssertEqual(p.corruptValue, own.corruptValue, accuracy: tol)
            for c in cases.prefix(4) {
                let a = try p.sweep(activation: c.activation, axes: c.axes).values, b = try own.sweep(activation: c.activation, axes: c.axes).values
                XCTAssertLessThanOrEqual(a.maxAbsDifference(b), tol, "\(c.activation)")
            }
        }
    }
}
