// The nnsight worker against the Swift engine with process=false, on every family's random-weight
// golden model and GPT-2's: the same plan (logits, hook reads, set/add writes at positions and
// heads, a patch sweep with cross-run references) gives the same numbers within 1e-4 of each
// tensor's largest magnitude (at least 1). Needs a Python with nnsight (NNsightPython); skipped
// with the reason printed otherwise. The NDIF path is checked up to the request it would send.
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class NNsightParityTests: XCTestCase {
    static let families = ["pythia-a", "pythia-b", "llama-a", "llama-b", "mistral-a", "mistral-b", "qwen2-a", "qwen2-b",
                           "qwen3-a", "qwen3-b", "gemma-a", "gemma-b", "gemma2-a", "gemma2-b"]

    func startWorker() throws -> PlanWorker {
        let python = try NNsightPython.require()
        var env = ProcessInfo.processInfo.environment
        env["TLSH_NNSIGHT_PYTHON"] = python
        return try NNsightEnvironment(environment: env).startWorker()
    }

    /// Within 1e-4 of the reference's largest magnitude (at least 1), plus `gap`.
    func assertRelClose(_ a: Tensor, _ b: Tensor, _ what: String, relative: Float = 1e-4, gap: Float = 0,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        guard a.count == b.count else { return }
        let scale = max(1, b.data.filter(\.isFinite).map(abs).max() ?? 0)  // attention scores hold −inf
        let d = a.maxAbsDifference(b)
        XCTAssertLessThanOrEqual(d, relative * scale + gap, "\(what): max |nnsight − swift| = \(d) (scale \(scale))", file: file, line: line)
    }

    /// Gemma (1): tlsh follows TransformerLens's erf GELU, transformers (so nnsight) the tanh form.
    /// Before layer 0's MLP the two agree at 1e-4; after it they differ by that gap, which the
    /// golden generator measured on the logits (meta.hf_vs_tl_unprocessed_logits_max_abs): logits get
    /// exactly that allowance, activations and metrics 3e-3 of their scale.
    func tolerance(_ g: Golden, _ hook: String) -> (relative: Float, gap: Float) {
        guard g.name.hasPrefix("gemma-") else { return (1e-4, 0) }
        let gap = Float(g.meta["hf_vs_tl_unprocessed_logits_max_abs"] as? Double ?? 0)
        if hook == "logits" { return (1e-4, gap) }
        let beforeFirstMLP = ["blocks.0.hook_resid_pre", "blocks.0.attn.hook_z", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid"]
        return beforeFirstMLP.contains(hook) ? (1e-4, 0) : (3e-3, 0)
    }

    func run(_ plan: InterventionPlan, on worker: PlanWorker) throws -> PlanResult {
        try PlanWire.decodeResult(try worker.call("execute", ["plan": PlanWire.encode(plan)]), expectedRuns: plan.runs.count)
    }

    func testPlansGiveTheSwiftEnginesNumbersOnEveryFamily() throws {
        let worker = try startWorker()
        defer { worker.shutdown() }
        var fixtures = Self.families.map { (name: $0, golden: try? Golden($0, root: Golden.familiesRoot)) }
        fixtures.append((name: "tiny-a", golden: try? Golden("tiny-a")))
        for (name, g) in fixtures {
            guard let g else { XCTFail("\(name): fixture missing"); continue }
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
            let loaded = try XCTUnwrap(try worker.call("load", ["model": .string(g.hfDirectory.path)]))
            let workerHooks = try XCTUnwrap(loaded["hooks"]?.array).compactMap(\.string)
            let c = model.config, L = c.nLayers
            let info = g.meta["interp"] as? [String: Any]
            let clean = info?["clean"] as? [Int] ?? Array(g.seqA.prefix(12))
            let corrupt = info?["corrupted"] as? [Int] ?? Array(g.seqB.prefix(clean.count))
            // Every hook the worker maps must be one the Swift engine fires (same names, same meaning).
            for h in workerHooks where h != "logits" { XCTAssertTrue(model.hookNames.contains(h), "\(name): worker hook \(h)") }

            // Reads of every mapped hook and the logits.
            let readAll = InterventionPlan(runs: [.init(tokens: clean, reads: workerHooks.map { .init($0) })])
            let viaWorker = try run(readAll, on: worker), viaSwift = try readAll.execute(on: model)
            for h in workerHooks {
                guard let a = viaWorker.runs[0][h], let b = viaSwift.runs[0][h] else { XCTFail("\(name): \(h) missing"); continue }
                let t = tolerance(g, h)
                assertRelClose(a, b, "\(name) \(h)", relative: t.relative, gap: t.gap)
            }

            // Writes: set a residual row from a tensor, add to one head of z, set attn_out from run 0.
            let row = Tensor(shape: [c.dModel], data: (0..<c.dModel).map { Float($0 % 7) * 0.1 - 0.3 })
            let headRow = Tensor(shape: [c.dHead], data: (0..<c.dHead).map { Float($0 % 5) * 0.2 })
            let writes = InterventionPlan(runs: [
                .init(tokens: clean, reads: [.init("blocks.\(L - 1).hook_attn_out", keep: false), .init("logits", positions: [-1])]),
                .init(tokens: corrupt, reads: [.init("logits"), .init("blocks.\(L - 1).hook_resid_post", positions: [2, -1])],
                      writes: [.init("blocks.0.hook_resid_post", positions: [1], value: .tensor(row)),
                               .init("blocks.0.attn.hook_z", .add, positions: [0, 3], head: c.nHeads - 1, value: .tensor(headRow)),
                               .init("blocks.\(L - 1).hook_attn_out", positions: [4], value: .read(run: 0, hook: "blocks.\(L - 1).hook_attn_out"))]),
            ])
            let w = try run(writes, on: worker), s = try writes.execute(on: model)
            for (i, run) in s.runs.enumerated() {
                for (k, v) in run {
                    let t = tolerance(g, k)
                    assertRelClose(w.runs[i][k]!, v, "\(name) writes run \(i) \(k)", relative: t.relative, gap: t.gap)
                }
            }
            XCTAssertGreaterThan(s.runs[1]["logits"]!.maxAbsDifference(try model.run(tokens: [corrupt]).logits!), 1e-3, "\(name): writes changed the logits")

            // A patch sweep: resid_pre over layer × position and z over layer × head, one session each.
            let t1 = info?["t1"] as? Int ?? 1, t2 = info?["t2"] as? Int ?? 2
            for (act, axes) in [("resid_pre", [PatchAxis.layer, .pos]), ("z", [.layer, .head])] {
                let pp = try PatchPlan(config: c, activation: act, axes: axes, ranges: [:], clean: clean, corrupt: corrupt,
                                       metric: .logitDiff(answer: t1, wrong: t2))
                let a = try pp.result(try run(pp.plan, on: worker), normalize: false)
                let b = try pp.result(try pp.plan.execute(on: model), normalize: false)
                let t = tolerance(g, "metric")
                assertRelClose(a.values, b.values, "\(name) patch \(act)", relative: t.relative, gap: t.gap)
            }
        }
    }

    /// backend ndif's path up to nnsight's client: the request for a sweep plan (its model key, its
    /// URL, its payload size) is built by nnsight's own RemoteBackend and not sent.
    func testTheNDIFRequestIsBuiltByNnsightsClient() throws {
        let worker = try startWorker()
        defer { worker.shutdown() }
        let g = try Golden("tiny-a")
        XCTAssertThrowsError(try worker.call("request", ["plan": PlanWire.encode(InterventionPlan(runs: [.init(tokens: [1], reads: [.init("logits")])]))])) { e in
            guard case PlanWorkerError.worker = e else { return XCTFail("\(e)") }  // no model yet
        }
        // request_only: the weights load here (LanguageModel would need the hub and tokenizer files,
        // which the random fixtures lack), and plans become the request nnsight's client would send.
        _ = try worker.call("load", ["model": .string(g.hfDirectory.path), "request_only": .bool(true), "host": .string("https://ndif.example.org")])
        let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
        let P = 6
        let pp = try PatchPlan(config: model.config, activation: "resid_pre", axes: [.layer, .pos], ranges: [:],
                               clean: Array(g.seqA.prefix(P)), corrupt: Array(g.seqB.prefix(P)), metric: .logitDiff(answer: 1, wrong: 2))
        let req = try XCTUnwrap(try worker.call("request", ["plan": PlanWire.encode(pp.plan)]))
        XCTAssertEqual(req["url"]?.string, "https://ndif.example.org/request")
        XCTAssertEqual(req["websocket"]?.string, "wss://ndif.example.org/subscribe")
        XCTAssertTrue((req["model_key"]?.string ?? "").contains("LanguageModel"), "\(req)")
        XCTAssertGreaterThan(req["payload_bytes"]?.wholeNumber ?? 0, 0)
        // The payload is nnsight's serialised session: it grows with the runs, not with d_model.
        let big = try PatchPlan(config: model.config, activation: "z", axes: [.layer, .pos, .head], ranges: [:],
                                clean: Array(g.seqA.prefix(P)), corrupt: Array(g.seqB.prefix(P)), metric: .logitDiff(answer: 1, wrong: 2))
        let bigReq = try XCTUnwrap(try worker.call("request", ["plan": PlanWire.encode(big.plan)]))
        let small = try XCTUnwrap(req["payload_bytes"]?.wholeNumber), large = try XCTUnwrap(bigReq["payload_bytes"]?.wholeNumber)
        print("NDIF request payload: \(pp.plan.runs.count) runs \(small) B, \(big.plan.runs.count) runs \(large) B")
        XCTAssertGreaterThan(large, small)
        // Such a model gives requests, not results.
        XCTAssertThrowsError(try worker.call("execute", ["plan": PlanWire.encode(pp.plan)])) { e in
            guard case PlanWorkerError.worker(let kind, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(kind, "bad_request")
        }
    }
}
