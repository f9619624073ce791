// The nnsight worker's reductions and generation runs against the Swift engine's (process=false):
// the logit lens decode of every residual point, log-softmax, top-k, pick with rank (a loss's
// next-token log-probabilities, a lens row tracking the final row's top token), and greedy
// generation plain, steered at every position and steered at the prompt only. Within 1e-4 of each
// tensor's largest magnitude (at least 1); token ids exactly. Needs a Python with nnsight.
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class NNsightReductionParityTests: XCTestCase {
    func testReductionsAndGenerationGiveTheSwiftEnginesResults() throws {
        let python = try NNsightPython.require()
        var env = ProcessInfo.processInfo.environment
        env["TLSH_NNSIGHT_PYTHON"] = python
        let worker = try NNsightEnvironment(environment: env).startWorker()
        defer { worker.shutdown() }
        let fixtures: [(String, URL?)] = [("llama-a", Golden.familiesRoot), ("gemma2-a", Golden.familiesRoot), ("pythia-a", Golden.familiesRoot),
                                          ("qwen3-a", Golden.familiesRoot), ("tiny-a", nil)]
        for (name, root) in fixtures {
            let g = try root.map { try Golden(name, root: $0) } ?? Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
            try worker.call("load", ["model": .string(g.hfDirectory.path)])
            let c = model.config, L = c.nLayers
            let tokens = Array(sequence(g).prefix(8))
            var reads: [InterventionPlan.Read] = []
            // The lens at every residual point: whole decoded rows at two positions, top 3, and the track.
            var hooks = (0..<L).map { "blocks.\($0).hook_resid_pre" } + ["blocks.\(L - 1).hook_resid_post"]
            if model.hookNames.contains("blocks.0.hook_resid_mid") { hooks += (0..<L).map { "blocks.\($0).hook_resid_mid" } }
            let last = "blocks.\(L - 1).hook_resid_post"
            for h in hooks {
                var full = InterventionPlan.Read(h, positions: [0, -1]); full.reduce = .init(decode: true, logSoftmax: true)
                var top = InterventionPlan.Read(h, positions: [-1]); top.key = h + " top"; top.reduce = .init(decode: true, logSoftmax: true, topK: 3)
                var track = InterventionPlan.Read(h, positions: [0, -1]); track.key = h + " track"; track.reduce = .init(decode: true, logSoftmax: true, pick: .argmaxOf(last))
                reads += [full, top, track]
            }
            // loss (log-softmax, pick the next tokens), and test (raw pick with rank, top 4 logits).
            var loss = InterventionPlan.Read("logits", positions: Array(0..<7)); loss.key = "loss"
            loss.reduce = .init(logSoftmax: true, pick: .columns(Array(tokens.dropFirst())))
            var answer = InterventionPlan.Read("logits", positions: [-1]); answer.key = "answer"; answer.reduce = .init(pick: .columns([tokens[3]]))
            var top = InterventionPlan.Read("logits", positions: [-1]); top.key = "top"; top.reduce = .init(topK: 4)
            reads += [loss, answer, top]
            // Generation: plain, steered at every position, steered at the prompt only.
            let v = Tensor(shape: [c.dModel], data: (0..<c.dModel).map { (Float($0 % 5) - 2) * 10 })
            var runs = [InterventionPlan.Run(tokens: tokens, reads: reads)]
            for mode in 0..<3 {
                var w = InterventionPlan.Write("blocks.0.hook_resid_post", .add, value: .tensor(v))
                w.promptOnly = mode == 2
                var run = InterventionPlan.Run(tokens: Array(tokens.prefix(5)), writes: mode == 0 ? [] : [w])
                run.generate = .init(newTokens: 6, eos: nil, sampling: .greedy)
                runs.append(run)
            }
            let plan = InterventionPlan(runs: runs)
            let started = Date()
            let reply = try worker.call("execute", ["plan": PlanWire.encode(plan)])
            let seconds = Date().timeIntervalSince(started)
            let viaWorker = try PlanWire.decodeResult(reply, expectedRuns: plan.runs.count)
            let viaSwift = try plan.execute(on: model)
            XCTAssertEqual(Set(viaWorker.runs[0].keys), Set(viaSwift.runs[0].keys), name)
            for (key, b) in viaSwift.runs[0] {
                guard let a = viaWorker.runs[0][key] else { XCTFail("\(name): \(key) missing"); continue }
                XCTAssertEqual(a.shape, b.shape, "\(name) \(key)")
                guard a.count == b.count else { continue }
                if key.hasSuffix(" top") || key == "top" {
                    // (value, index) pairs: indices exactly, values within tolerance.
                    let n = a.count / 2
                    XCTAssertEqual((0..<n).map { Int(a.data[2 * $0 + 1]) }, (0..<n).map { Int(b.data[2 * $0 + 1]) }, "\(name) \(key) indices")
                    let scale = max(1, b.data.enumerated().filter { $0.offset % 2 == 0 }.map { abs($0.element) }.max()!)
                    for i in 0..<n { XCTAssertEqual(a.data[2 * i], b.data[2 * i], accuracy: 1e-4 * scale, "\(name) \(key)") }
                } else if key.hasSuffix(" track") || key == "loss" || key == "answer" {
                    // (value, rank) pairs.
                    let n = a.count / 2
                    XCTAssertEqual((0..<n).map { Int(a.data[2 * $0 + 1]) }, (0..<n).map { Int(b.data[2 * $0 + 1]) }, "\(name) \(key) ranks")
                    for i in 0..<n { XCTAssertEqual(a.data[2 * i], b.data[2 * i], accuracy: 1e-4 * max(1, abs(b.data[2 * i])), "\(name) \(key)") }
                } else {
                    let d = a.maxAbsDifference(b), scale = max(1, b.data.map(abs).max()!)
                    XCTAssertLessThanOrEqual(d, 1e-4 * scale, "\(name) \(key): max |nnsight − swift| = \(d)")
                }
            }
            for i in 1..<4 {
                XCTAssertEqual(viaWorker.runs[i]["generated"]?.data, viaSwift.runs[i]["generated"]?.data, "\(name) generation \(i)")
            }
            XCTAssertNotEqual(viaSwift.runs[1]["generated"]?.data, viaSwift.runs[2]["generated"]?.data, "\(name): steering changes the text")
            print("\(name): \(plan.runs.count) runs, reply \((try? PlanWire.line(reply ?? .null).count) ?? 0) B, \(String(format: "%.2f", seconds)) s")
        }
    }

    /// The same kind of plan (lens reductions, a loss, a sampled, steered generation) becomes the
    /// request nnsight would send to NDIF: its session code reaches only picklable module-level
    /// functions and plain data (not sent: no network here).
    func testReductionAndGenerationPlansBecomeNDIFRequests() throws {
        let python = try NNsightPython.require()
        var env = ProcessInfo.processInfo.environment
        env["TLSH_NNSIGHT_PYTHON"] = python
        let worker = try NNsightEnvironment(environment: env).startWorker()
        defer { worker.shutdown() }
        let g = try Golden("llama-a", root: Golden.familiesRoot)
        try worker.call("load", ["model": .string(g.hfDirectory.path), "remote": .bool(true), "request_only": .bool(true),
                                 "host": .string("https://ndif.example")])
        let tokens = Array(sequence(g).prefix(6))
        var lens = InterventionPlan.Read("blocks.1.hook_resid_pre", positions: [-1]); lens.reduce = .init(decode: true, logSoftmax: true, topK: 3)
        var track = InterventionPlan.Read("blocks.0.hook_resid_pre", positions: [-1]); track.key = "t"
        track.reduce = .init(decode: true, logSoftmax: true, pick: .argmaxOf("blocks.1.hook_resid_pre"))
        var loss = InterventionPlan.Read("logits", positions: Array(0..<5)); loss.reduce = .init(logSoftmax: true, pick: .columns(Array(tokens.dropFirst())))
        var w = InterventionPlan.Write("blocks.1.hook_resid_post", .add, value: .tensor(Tensor(shape: [64], data: .init(repeating: 1, count: 64))))
        w.promptOnly = true
        var gen = InterventionPlan.Run(tokens: tokens, writes: [w])
        gen.generate = .init(newTokens: 20, eos: 2, sampling: .sample(temperature: 0.7, topK: nil, topP: 0.9, freqPenalty: 0, seed: 1))
        let plan = InterventionPlan(runs: [.init(tokens: tokens, reads: [lens, track, loss]), gen])
        let request = try XCTUnwrap(try worker.call("request", ["plan": PlanWire.encode(plan)]))
        XCTAssertEqual(request["url"]?.string, "https://ndif.example/request")
        let bytes = try XCTUnwrap(request["payload_bytes"]?.wholeNumber)
        XCTAssertGreaterThan(bytes, 0)
        print("NDIF request for lens + loss + a 20-token sampled, steered generation: \(bytes) B")
    }
}
