// The plan features behind loss, test, lens and generate on nnsight — server-side reductions
// (logit-lens decode, log-softmax, top-k, pick with rank) and generation runs — executed on the
// Swift engine equal the engine's own LogitLens.compute, crossEntropyLoss and Generator, on
// several families (no Python). The nnsight worker's side is NNsightParityTests.
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class PlanReductionTests: XCTestCase {
    static let models: [(name: String, root: URL?)] = [("llama-a", Golden.familiesRoot), ("gemma2-a", Golden.familiesRoot),
                                                      ("pythia-a", Golden.familiesRoot), ("tiny-a", nil)]

    func load(_ name: String, _ root: URL?) throws -> (Golden, HookedTransformer) {
        let g = try root.map { try Golden(name, root: $0) } ?? Golden(name)
        return (g, try HookedTransformer.load(directory: g.hfDirectory, processing: .none))
    }

    func testLensReductionsEqualLogitLensCompute() throws {
        for (name, root) in Self.models {
            let (g, model) = try load(name, root)
            let tokens = Array(sequence(g).prefix(7))
            let (_, cache) = try model.runWithCache(tokens: [tokens])
            for point in LogitLens.Point.allCases {
                if point == .resid_mid && !model.hookNames.contains("blocks.0.hook_resid_mid") { continue }
                let positions = [1, -1]
                let lens = try LogitLens.compute(cache: cache, positions: positions, at: point)
                let L = model.config.nLayers
                let rows: [(String, String)] = {
                    switch point {
                    case .resid_post: return (0..<L).map { ("blocks.\($0).hook_resid_pre", "\($0)_pre") } + [("blocks.\(L - 1).hook_resid_post", "final_post")]
                    case .resid_pre: return (0..<L).map { ("blocks.\($0).hook_resid_pre", "\($0)_pre") }
                    case .resid_mid: return (0..<L).map { ("blocks.\($0).hook_resid_mid", "\($0)_mid") }
                    }
                }()
                XCTAssertEqual(rows.map(\.1), lens.labels)
                let last = rows.last!.1
                var reads: [InterventionPlan.Read] = []
                for (hook, label) in rows {
                    var full = InterventionPlan.Read(hook, positions: positions); full.key = label
                    full.reduce = .init(decode: true, logSoftmax: true)
                    var top = InterventionPlan.Read(hook, positions: positions); top.key = label + " top"
                    top.reduce = .init(decode: true, logSoftmax: true, topK: 3)
                    var track = InterventionPlan.Read(hook, positions: positions); track.key = label + " track"
                    track.reduce = .init(decode: true, logSoftmax: true, pick: .argmaxOf(last))
                    reads += [full, top, track]
                }
                let r = try InterventionPlan(runs: [.init(tokens: tokens, reads: reads)]).execute(on: model).runs[0]
                let V = model.config.dVocab
                for (row, (_, label)) in rows.enumerated() {
                    let got = try XCTUnwrap(r[label])
                    XCTAssertEqual(got.shape, [1, 2, V])
                    let want = Array(lens.logProbs.data[(row * 2 * V)..<((row + 1) * 2 * V)])
                    assertClose(got, Tensor(shape: [1, 2, V], data: want), tol: 1e-5, "\(name) \(point) \(label)")
                    let top = try XCTUnwrap(r[label + " top"])
                    XCTAssertEqual(top.shape, [1, 2, 3, 2])
                    for col in 0..<2 {
                        let expected = lens.top(layer: row, position: col, k: 3)
                        XCTAssertEqual((0..<3).map { Int(top.data[(col * 3 + $0) * 2 + 1]) }, expected.map(\.token), "\(name) \(label) top")
                        let final = lens.top(layer: rows.count - 1, position: col, k: 1)[0].token
                        let track = lens.track(token: final, position: col)[row]
                        let pick = try XCTUnwrap(r[label + " track"])
                        XCTAssertEqual(expf(pick.data[2 * col]), track.prob, accuracy: 1e-6)
                        XCTAssertEqual(Int(pick.data[2 * col + 1]), track.rank)
                    }
                }
            }
        }
    }

    func testLossAndAnswerReductionsEqualTheEngine() throws {
        for (name, root) in Self.models {
            let (g, model) = try load(name, root)
            let tokens = Array(sequence(g).prefix(9))
            let logits = try model.run(tokens: [tokens]).logits!
            let loss = crossEntropyLoss(logits: logits, tokens: [tokens])
            var read = InterventionPlan.Read("logits", positions: Array(0..<8))
            read.reduce = .init(logSoftmax: true, pick: .columns(Array(tokens.dropFirst())))
            var raw = InterventionPlan.Read("logits", positions: [-2, -1]); raw.key = "raw"
            raw.reduce = .init(pick: .columns([tokens[2], tokens[3]]))
            var top = InterventionPlan.Read("logits", positions: [-1]); top.key = "top"
            top.reduce = .init(topK: 4)
            let r = try InterventionPlan(runs: [.init(tokens: tokens, reads: [read, raw, top])]).execute(on: model).runs[0]
            let pairs = try XCTUnwrap(r["logits"])
            XCTAssertEqual(pairs.shape, [1, 8, 2])
            let per = (0..<8).map { -pairs.data[2 * $0] }
            assertClose(Tensor(shape: [8], data: per), loss.perToken.reshaped([-1]), tol: 1e-6, "\(name) per-token loss")
            let V = logits.shape[2]
            for (i, p) in [7, 8].enumerated() {
                let row = Array(logits.data[(p * V)..<((p + 1) * V)])
                let t = tokens[2 + i]
                XCTAssertEqual(r["raw"]!.data[2 * i], row[t])
                XCTAssertEqual(Int(r["raw"]!.data[2 * i + 1]), row.filter { $0 > row[t] }.count, "\(name) rank")
            }
            let last = Tensor(shape: [V], data: Array(logits.data[(8 * V)...]))
            XCTAssertEqual((0..<4).map { Int(r["top"]!.data[2 * $0 + 1]) }, last.topK(4).map(\.index))
            XCTAssertEqual((0..<4).map { r["top"]!.data[2 * $0] }, last.topK(4).map(\.value))
        }
    }

    func testGenerationRunsEqualTheGenerator() throws {
        for (name, root) in Self.models {
            let (g, model) = try load(name, root)
            let prompt = Array(sequence(g).prefix(5))
            let d = model.config.dModel
            let v = Tensor(shape: [d], data: (0..<d).map { (Float($0 % 5) - 2) * 10 })
            let hook = "blocks.0.hook_resid_post"
            let gen = Generator(model: model)
            let plain = try gen.generate(prompt: prompt, maxNewTokens: 6, eos: 1)
            let steered = try gen.generate(prompt: prompt, maxNewTokens: 6, eos: 1, hooks: [steeringHook(name: hook, vector: v.data, coefficient: 1)])
            let promptOnly = try gen.generate(prompt: prompt, maxNewTokens: 6, eos: 1, promptOnlyHooks: [steeringHook(name: hook, vector: v.data, coefficient: 1)])
            let sampling = Sampling.sample(temperature: 0.9, topK: 20, topP: 0.9, seed: 7)
            let sampled = try gen.generate(prompt: prompt, maxNewTokens: 6, sampling: sampling, eos: 1)
            var runs: [InterventionPlan.Run] = []
            for (writes, s) in [([InterventionPlan.Write](), Sampling.greedy), ([.init(hook, .add, value: .tensor(v))], .greedy),
                                ([{ var w = InterventionPlan.Write(hook, .add, value: .tensor(v)); w.promptOnly = true; return w }()], .greedy),
                                ([], sampling)] {
                var run = InterventionPlan.Run(tokens: prompt, writes: writes)
                run.generate = .init(newTokens: 6, eos: 1, sampling: s)
                runs.append(run)
            }
            let r = try InterventionPlan(runs: runs).execute(on: model)
            let made = r.runs.map { $0[InterventionPlan.Generation.resultKey]!.data.map { Int($0) } }
            XCTAssertEqual(made, [plain, steered, promptOnly, sampled], name)
            XCTAssertNotEqual(plain, steered, "\(name): the steering vector changes the text")
        }
    }

    func testReductionPlansThatCannotRunAreRefused() {
        var twice = InterventionPlan.Read("logits")
        twice.reduce = .init(topK: 2)
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], reads: [.init("logits"), twice])]).validate(), "two reads named logits")
        var both = InterventionPlan.Read("logits"); both.reduce = .init(topK: 2, pick: .columns([1]))
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], reads: [both])]).validate())
        var decodeLogits = InterventionPlan.Read("logits"); decodeLogits.reduce = .init(decode: true)
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], reads: [decodeLogits])]).validate())
        var dangling = InterventionPlan.Read("logits"); dangling.reduce = .init(pick: .argmaxOf("nothing"))
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], reads: [dangling])]).validate())
        var gen = InterventionPlan.Run(tokens: [1], reads: [.init("logits")]); gen.generate = .init(newTokens: 2)
        XCTAssertThrowsError(try InterventionPlan(runs: [gen]).validate(), "a generation reads nothing")
        var w = InterventionPlan.Write("blocks.0.hook_resid_post", .add, value: .tensor(Tensor(shape: [1], data: [1]))); w.promptOnly = true
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], writes: [w])]).validate(), "prompt_only outside a generation")
    }

    func testReductionAndGenerationWireForm() throws {
        var read = InterventionPlan.Read("blocks.0.hook_resid_pre", positions: [-1]); read.key = "0_pre"
        read.reduce = .init(decode: true, logSoftmax: true, topK: 5)
        var pick = InterventionPlan.Read("logits", positions: [0, 1]); pick.reduce = .init(logSoftmax: true, pick: .columns([4, 9]))
        var track = InterventionPlan.Read("blocks.0.hook_resid_pre", positions: [-1]); track.key = "t"
        track.reduce = .init(decode: true, logSoftmax: true, pick: .argmaxOf("0_pre"))
        var w = InterventionPlan.Write("blocks.0.hook_resid_post", .add, value: .tensor(Tensor(shape: [1], data: [1]))); w.promptOnly = true
        var gen = InterventionPlan.Run(tokens: [1, 2], writes: [w])
        gen.generate = .init(newTokens: 3, eos: 50256, sampling: .sample(temperature: 0.5, topK: 4, topP: nil, freqPenalty: 0, seed: 11))
        let json = try JSON.parse(try PlanWire.line(PlanWire.encode(InterventionPlan(runs: [.init(tokens: [1, 2, 3], reads: [read, pick, track]), gen]))).dropLast())
        let runs = try XCTUnwrap(json["runs"]?.array)
        let reads = try XCTUnwrap(runs[0]["reads"]?.array)
        XCTAssertEqual(reads[0]["key"]?.string, "0_pre")
        XCTAssertEqual(reads[0]["reduce"]?["decode"]?.bool, true)
        XCTAssertEqual(reads[0]["reduce"]?["log_softmax"]?.bool, true)
        XCTAssertEqual(reads[0]["reduce"]?["top_k"]?.wholeNumber, 5)
        XCTAssertNil(reads[1]["key"])
        XCTAssertEqual(reads[1]["reduce"]?["pick"]?["columns"], .numbers([4, 9]))
        XCTAssertEqual(reads[2]["reduce"]?["pick"]?["argmax_of"]?.string, "0_pre")
        XCTAssertNil(runs[0]["generate"])
        let g = try XCTUnwrap(runs[1]["generate"])
        XCTAssertEqual(g["new_tokens"]?.wholeNumber, 3)
        XCTAssertEqual(g["eos"]?.wholeNumber, 50256)
        XCTAssertEqual(g["sampling"]?["temperature"]?.number, 0.5)
        XCTAssertEqual(g["sampling"]?["top_k"]?.wholeNumber, 4)
        XCTAssertEqual(g["sampling"]?["seed"]?.wholeNumber, 11)
        XCTAssertNil(g["sampling"]?["top_p"])
        XCTAssertEqual(runs[1]["writes"]?.array?[0]["prompt_only"]?.bool, true)
        var greedy = InterventionPlan.Run(tokens: [1]); greedy.generate = .init(newTokens: 1)
        let gj = PlanWire.encode(InterventionPlan(runs: [greedy]))
        XCTAssertEqual(gj["runs"]?.array?[0]["generate"]?["sampling"]?["greedy"]?.bool, true)
        XCTAssertNil(gj["runs"]?.array?[0]["generate"]?["eos"])
    }
}

/// A fixture's test tokens: GPT-2 goldens keep them under tokens.seq_a, the family goldens as a list.
func sequence(_ g: Golden) -> [Int] { (g.meta["tokens"] as? [Int]) ?? g.seqA }
