// dla, induction and detect as plans (DLAPlan, HeadScorePlan, InterventionPlan.Summary) on the
// Swift engine, without Python: each equals the engine's own analysis (DirectLogitAttribution,
// HeadDetector) on unprocessed family models, and summaries have their wire form.
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class AnalysisPlanTests: XCTestCase {
    static let models = ["llama-a", "gemma2-a", "pythia-a", "qwen3-a", "tiny-a"]

    static func golden(_ name: String) throws -> Golden {
        name.hasPrefix("tiny") ? try Golden(name) : try Golden(name, root: Golden.familiesRoot)
    }

    /// (model, clean tokens, answer, wrong) of a fixture, loaded unprocessed.
    static func fixture(_ name: String) throws -> (HookedTransformer, [Int], Int, Int) {
        let g = try golden(name)
        let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
        let info = g.meta["interp"] as? [String: Any]
        let clean = info?["clean"] as? [Int] ?? Array(g.seqA.prefix(12))
        return (model, clean, info?["t1"] as? Int ?? 1, info?["t2"] as? Int ?? 2)
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, relative: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1, b.map(abs).max() ?? 0)
        let d = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(d, relative * scale, "\(what): max difference \(d) (scale \(scale))", file: file, line: line)
    }

    func testDLAPlanEqualsDirectLogitAttribution() throws {
        for name in Self.models {
            let (model, tokens, answer, wrong) = try Self.fixture(name)
            let (_, cache) = try model.runWithCache(tokens: [tokens])
            let L = model.config.nLayers
            for (w, pos, neurons) in [(Optional(wrong), -1, Optional(L - 1)), (nil, 2, Optional(0)), (Optional(wrong), 0, nil)] {
                let local = try DirectLogitAttribution.attribute(cache: cache, token: answer, wrong: w, position: pos, neuronLayer: neurons)
                let dp = try DLAPlan(config: model.config, hookNames: model.hookNames, tokens: tokens, token: answer, wrong: w,
                                     position: pos, neuronLayer: neurons)
                let viaPlan = try dp.attribution(try dp.plan.execute(on: model))
                let what = "\(name) wrong=\(w.map(String.init) ?? "-") pos=\(pos)"
                XCTAssertEqual(viaPlan.components.map(\.label), local.components.map(\.label), what)
                assertClose(viaPlan.components.map(\.value), local.components.map(\.value), "\(what) components")
                XCTAssertEqual(viaPlan.heads.shape, local.heads.shape, what)
                assertClose(viaPlan.heads.data, local.heads.data, "\(what) heads")
                assertClose([viaPlan.total], [local.total], "\(what) total")
                XCTAssertEqual(viaPlan.neurons?.shape, local.neurons?.shape, what)
                if let a = viaPlan.neurons, let b = local.neurons { assertClose(a.data, b.data, "\(what) neurons") }
            }
        }
    }

    func testInductionAndDetectPlansEqualHeadDetector() throws {
        for name in Self.models {
            let (model, tokens, _, _) = try Self.fixture(name)
            let length = min(6, (model.config.nCtx - 1) / 2)
            let local = try HeadDetector.induction(model: model, length: length, seed: 3, bos: 1)
            let plan = HeadScorePlan.induction(config: model.config, tokens: local.tokens, length: length)
            let viaPlan = try HeadScorePlan.inductionResult(try plan.execute(on: model), config: model.config)
            assertClose(viaPlan.scores.data, local.scores.data, "\(name) induction scores")
            XCTAssertEqual(viaPlan.scores.shape, local.scores.shape)
            assertClose(viaPlan.lossPerToken.data, local.lossPerToken.data, "\(name) induction loss")

            let repeated = Array(tokens.prefix(5)) + Array(tokens.prefix(5))
            for kind in HeadPattern.allCases {
                for measure in ErrorMeasure.allCases {
                    for (bos, current) in [(false, false), (true, false), (true, true)] {
                        let a = try HeadDetector.detect(model: model, tokens: repeated, pattern: kind, excludeBOS: bos,
                                                        excludeCurrentToken: current, measure: measure)
                        let p = try HeadScorePlan.detect(config: model.config, tokens: repeated, pattern: kind, excludeBOS: bos,
                                                         excludeCurrentToken: current, measure: measure)
                        let b = try HeadScorePlan.detectScores(try p.execute(on: model), config: model.config, tokens: repeated, pattern: kind,
                                                               excludeBOS: bos, excludeCurrentToken: current, measure: measure)
                        XCTAssertEqual(b.shape, a.shape)
                        assertClose(b.data, a.data, "\(name) detect \(kind) \(measure) bos=\(bos) current=\(current)")
                    }
                }
            }
        }
    }

    func testSummariesWireForm() throws {
        let w = Tensor(shape: [1, 2, 2], data: [1, 0, 0, 1])
        let plan = InterventionPlan(runs: [.init(tokens: [1, 2], reads: [
            .init("blocks.0.attn.hook_z", positions: [-1], summary: .unembed(.init(tokens: [5, 7], coefficients: [1, -1], center: true, through: .heads))),
            .init("blocks.0.attn.hook_pattern", summary: .stripe(offset: 1)),
            .init("blocks.1.attn.hook_pattern", summary: .weights(w)),
            .init("blocks.1.hook_resid_post", positions: [-1], summary: .normScale(center: true, eps: 0.5)),
        ])])
        let reads = try XCTUnwrap(PlanWire.encode(plan)["runs"]?.array?.first?["reads"]?.array)
        let u = try XCTUnwrap(reads[0]["summary"]?["unembed"])
        XCTAssertEqual(u["tokens"], .numbers([5, 7]))
        XCTAssertEqual(u["coefficients"]?.array?.compactMap(\.number), [1, -1])
        XCTAssertEqual(u["center"]?.bool, true)
        XCTAssertEqual(u["through"]?.string, "heads")
        XCTAssertEqual(reads[1]["summary"]?["stripe"]?.wholeNumber, 1)
        XCTAssertEqual(try PlanWire.decodeTensor(reads[2]["summary"]?["weights"]), w)
        XCTAssertEqual(reads[3]["summary"]?["norm_scale"]?["center"]?.bool, true)
        XCTAssertEqual(reads[3]["summary"]?["norm_scale"]?["eps"]?.number, 0.5)
        // A summarised read is no source for a later write.
        let bad = InterventionPlan(runs: [.init(tokens: [1], reads: [.init("blocks.0.hook_resid_post", summary: .stripe(offset: 0))]),
                                          .init(tokens: [1], writes: [.init("blocks.0.hook_resid_post", value: .read(run: 0, hook: "blocks.0.hook_resid_post"))])])
        XCTAssertThrowsError(try bad.validate())
        // Summaries on the wrong hook are refused by the engine.
        let (model, tokens, _, _) = try Self.fixture("llama-a")
        for s: InterventionPlan.Summary in [.stripe(offset: 0), .weights(Tensor(shape: [1, 1, 1], data: [1])),
                                            .unembed(.init(tokens: [1], coefficients: [1], center: false, through: .heads))] {
            let p = InterventionPlan(runs: [.init(tokens: tokens, reads: [.init("blocks.0.hook_resid_post", summary: s)])])
            XCTAssertThrowsError(try p.execute(on: model), "\(s)")
        }
    }
}
