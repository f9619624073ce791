// dla, induction and detect plans through the nnsight worker against the same plans on the Swift
// engine (process=false), on every family fixture and GPT-2's tiny-a: the worker projects onto the
// unembedding (through W_O per head and W_out per neuron) and reduces attention patterns it
// recomputes from the attention function's q and k (.source), and sends back only those numbers.
// Needs a Python with nnsight (NNsightPython); skipped with the reason printed otherwise.
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class NNsightAnalysisParityTests: XCTestCase {
    func startWorker() throws -> PlanWorker {
        let python = try NNsightPython.require()
        var env = ProcessInfo.processInfo.environment
        env["TLSH_NNSIGHT_PYTHON"] = python
        return try NNsightEnvironment(environment: env).startWorker()
    }

    func run(_ plan: InterventionPlan, on worker: PlanWorker) throws -> (PlanResult, Int) {
        let reply = try worker.call("execute", ["plan": PlanWire.encode(plan)])
        let bytes = try reply.map { try $0.bytes().count } ?? 0
        return (try PlanWire.decodeResult(reply, expectedRuns: plan.runs.count), bytes)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, relative: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1, b.map(abs).max() ?? 0)
        let d = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(d, relative * scale, "\(what): max |nnsight − swift| = \(d) (scale \(scale))", file: file, line: line)
    }

    func testAnalysisPlansGiveTheSwiftEnginesNumbersOnEveryFamily() throws {
        let worker = try startWorker()
        defer { worker.shutdown() }
        for name in NNsightParityTests.families + ["tiny-a"] {
            let (model, tokens, answer, wrong) = try AnalysisPlanTests.fixture(name)
            _ = try worker.call("load", ["model": .string(try AnalysisPlanTests.golden(name).hfDirectory.path)])
            // Gemma (1): transformers' tanh GELU against tlsh's erf one (NNsightParityTests.tolerance).
            let relative: Float = name.hasPrefix("gemma-") ? 3e-3 : 1e-4
            let L = model.config.nLayers

            let dp = try DLAPlan(config: model.config, hookNames: model.hookNames, tokens: tokens, token: answer, wrong: wrong,
                                 position: -1, neuronLayer: L - 1)
            let (viaWorker, replyBytes) = try run(dp.plan, on: worker)
            let a = try dp.attribution(viaWorker), b = try dp.attribution(try dp.plan.execute(on: model))
            assertClose(a.heads.data, b.heads.data, "\(name) dla heads", relative: relative)
            assertClose(a.components.map(\.value), b.components.map(\.value), "\(name) dla components", relative: relative)
            assertClose(a.neurons!.data, b.neurons!.data, "\(name) dla neurons", relative: relative)
            print("\(name): dla reply \(replyBytes) B for \(dp.plan.runs[0].reads.count) reads")

            let length = min(6, (model.config.nCtx - 1) / 2)
            let ind = HeadScorePlan.induction(config: model.config, tokens: HeadDetector.repeatedRandomTokens(length: length, seed: 3, bos: 1, vocab: model.config.dVocab),
                                              length: length)
            let ia = try HeadScorePlan.inductionResult(try run(ind, on: worker).0, config: model.config)
            let ib = try HeadScorePlan.inductionResult(try ind.execute(on: model), config: model.config)
            assertClose(ia.scores.data, ib.scores.data, "\(name) induction scores", relative: relative)
            assertClose(ia.lossPerToken.data, ib.lossPerToken.data, "\(name) induction loss", relative: relative)

            let repeated = Array(tokens.prefix(5)) + Array(tokens.prefix(5))
            for (kind, measure, bos) in [(HeadPattern.duplicateToken, ErrorMeasure.mul, true), (.previousToken, .abs, false), (.induction, .mul, false)] {
                let p = try HeadScorePlan.detect(config: model.config, tokens: repeated, pattern: kind, excludeBOS: bos, excludeCurrentToken: false, measure: measure)
                let scores = { (r: PlanResult) in try HeadScorePlan.detectScores(r, config: model.config, tokens: repeated, pattern: kind, excludeBOS: bos,
                                                                                 excludeCurrentToken: false, measure: measure) }
                assertClose(try scores(try run(p, on: worker).0).data, try scores(try p.execute(on: model)).data, "\(name) detect \(kind) \(measure)", relative: relative)
            }
        }
    }

    /// Writes through the new views (a head of q, k and v: one projection's output, GPT-2's c_attn
    /// split, GPT-NeoX's per-head split; the MLP's pre and post) reach the model as on the Swift engine.
    func testWritesToAttentionAndMLPInternalsEqualTheSwiftEngine() throws {
        let worker = try startWorker()
        defer { worker.shutdown() }
        for name in NNsightParityTests.families + ["tiny-a"] {
            let g = try AnalysisPlanTests.golden(name)
            let (model, tokens, _, _) = try AnalysisPlanTests.fixture(name)
            _ = try worker.call("load", ["model": .string(g.hfDirectory.path)])
            let c = model.config, L = c.nLayers
            let headRow = Tensor(shape: [c.dHead], data: (0..<c.dHead).map { Float($0 % 5) * 0.2 - 0.3 })
            let mlpRow = Tensor(shape: [c.dMLP], data: (0..<c.dMLP).map { Float($0 % 7) * 0.1 - 0.2 })
            let plan = InterventionPlan(runs: [.init(tokens: tokens, reads: [.init("logits"), .init("blocks.0.attn.hook_q"), .init("blocks.0.mlp.hook_post")],
                                                     writes: [.init("blocks.0.attn.hook_q", positions: [1], head: c.nHeads - 1, value: .tensor(headRow)),
                                                              .init("blocks.0.attn.hook_v", .add, positions: [0, 2], head: 0, value: .tensor(headRow)),
                                                              .init("blocks.\(L - 1).attn.hook_k", .add, head: 0, value: .tensor(headRow)),
                                                              .init("blocks.0.mlp.hook_pre", .add, positions: [1], value: .tensor(mlpRow)),
                                                              .init("blocks.\(L - 1).mlp.hook_post", positions: [2], value: .tensor(mlpRow))])])
            let a = try run(plan, on: worker).0, b = try plan.execute(on: model)
            let gap = name.hasPrefix("gemma-") ? Float(g.meta["hf_vs_tl_unprocessed_logits_max_abs"] as? Double ?? 0) : 0
            for (hook, t) in b.runs[0] {
                let scale = max(1, t.data.map(abs).max() ?? 0)
                let d = a.runs[0][hook]!.maxAbsDifference(t)
                XCTAssertLessThanOrEqual(d, (name.hasPrefix("gemma-") && hook != "logits" ? 3e-3 : 1e-4) * scale + (hook == "logits" ? gap : 0),
                                         "\(name) \(hook) after writes: max |nnsight − swift| = \(d)")
            }
            XCTAssertGreaterThan(b.runs[0]["logits"]!.maxAbsDifference(try model.run(tokens: [tokens]).logits!), 1e-3, "\(name): the writes changed the logits")
        }
    }

    /// The remote path (nnsight's RemoteBackend, not sent) serialises sessions that read patterns
    /// through .source and project onto the unembedding.
    func testAnalysisPlansBecomeNDIFRequests() throws {
        let worker = try startWorker()
        defer { worker.shutdown() }
        let g = try Golden("tiny-a")
        _ = try worker.call("load", ["model": .string(g.hfDirectory.path), "request_only": .bool(true), "host": .string("https://ndif.example.org")])
        let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
        let tokens = Array(g.seqA.prefix(8))
        let dp = try DLAPlan(config: model.config, hookNames: model.hookNames, tokens: tokens, token: 1, wrong: 2, position: -1, neuronLayer: 0)
        let ind = HeadScorePlan.induction(config: model.config, tokens: [1] + Array(tokens.prefix(4)) + Array(tokens.prefix(4)), length: 4)
        for (what, plan) in [("dla", dp.plan), ("induction", ind)] {
            let req = try XCTUnwrap(try worker.call("request", ["plan": PlanWire.encode(plan)]))
            let bytes = try XCTUnwrap(req["payload_bytes"]?.wholeNumber)
            XCTAssertGreaterThan(bytes, 0)
            print("NDIF request payload for \(what): \(bytes) B")
        }
    }
}
