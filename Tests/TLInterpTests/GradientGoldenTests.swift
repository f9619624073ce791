// The backward pass and attribution patching against torch autograd through TransformerLens 3.9
// (tools/goldens/gradients.py), plus a finite-difference check of the gradients themselves.
import XCTest
import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class GradientGoldenTests: XCTestCase {
    struct Fixture {
        let grads: Golden
        let model: HookedTransformer
        var clean: [Int] { grads.meta["clean_tokens"] as! [Int] }
        var corrupt: [Int] { grads.meta["corrupted_tokens"] as! [Int] }
        var metric: PatchMetric { .logitDiff(answer: grads.meta["t1"] as! Int, wrong: grads.meta["t2"] as! Int) }
        /// Golden keys under `prefix`, without it.
        func names(_ prefix: String) -> [String] {
            (grads.meta["keys"] as! [String: Any]).keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
        }
    }

    func fixture(_ name: String) throws -> Fixture {
        let g = try Golden(name)
        return Fixture(grads: try Golden(name, file: "gradients.safetensors"), model: try HookedTransformer.load(directory: g.hfDirectory))
    }

    /// max |a − b| ≤ rtol · max|b| + atol for every hook's gradient.
    func assertGradientsMatch(_ run: GradientRun, _ f: Fixture, prefix: String, expectMissing: (String) -> Bool = { _ in false },
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let names = f.names(prefix)
        XCTAssertGreaterThan(names.count, 20, "too few golden gradients under \(prefix)", file: file, line: line)
        for name in names {
            let want = try f.grads.tensor(prefix + name)
            guard let got = run.gradients[name] else { XCTFail("no gradient for \(name)", file: file, line: line); continue }
            let scale = want.data.map(abs).max() ?? 0
            assertClose(got, want, tol: 1e-4 * scale + 1e-6, "\(f.grads.name) \(prefix)\(name)", file: file, line: line)
        }
        for name in run.gradients.keys where !names.contains(name) {
            XCTAssertTrue(expectMissing(name), "\(name): a gradient TransformerLens does not have", file: file, line: line)
        }
    }

    func testEveryHookGradientMatchesAutograd() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let diff = try f.model.gradients(tokens: [f.corrupt]) { try f.metric.logitGradient(logits: $0, tokens: [f.corrupt]) }
            XCTAssertEqual(f.metric.value(logits: diff.logits, tokens: f.corrupt), Float(f.grads.meta["logit_diff_corrupted"] as! Double), accuracy: 1e-4)
            try assertGradientsMatch(diff, f, prefix: "grad/logit_diff/")
            let loss = try f.model.gradients(tokens: [f.clean]) { try PatchMetric.loss.logitGradient(logits: $0, tokens: [f.clean]) }
            try assertGradientsMatch(loss, f, prefix: "grad/loss/")
            let t1 = f.grads.meta["t1"] as! Int
            let prob = try f.model.gradients(tokens: [f.clean]) { try PatchMetric.probability(token: t1).logitGradient(logits: $0, tokens: [f.clean]) }
            try assertGradientsMatch(prob, f, prefix: "grad/prob/")
        }
    }

    func testStopGradientAtLayerNormScalesMatchesDetach() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            var o = GradientOptions()
            o.stopGradient = { $0.hasSuffix("hook_scale") }
            let run = try f.model.gradients(tokens: [f.corrupt], options: o) { try f.metric.logitGradient(logits: $0, tokens: [f.corrupt]) }
            // TransformerLens never reaches a detached hook_scale's backward hook; tlsh records it.
            try assertGradientsMatch(run, f, prefix: "grad_frozen_ln/logit_diff/", expectMissing: { $0.hasSuffix("hook_scale") })
        }
    }

    /// Backward hooks read and replace gradients; a stop at the logits leaves nothing upstream.
    func testGradientHooksReplaceAndStop() throws {
        let f = try fixture("tiny-a")
        let seed = { (logits: Tensor) in try f.metric.logitGradient(logits: logits, tokens: [f.corrupt]) }
        let plain = try f.model.gradients(tokens: [f.corrupt], seed: seed)
        var o = GradientOptions()
        var seen: [String] = []
        o.hooks = [GradientHook(.predicate { $0.hasSuffix("hook_resid_post") }) { g, point in seen.append(point.name) },
                   GradientHook(name: "blocks.1.hook_mlp_out") { g, _ in g = g * 2 }]
        let doubled = try f.model.gradients(tokens: [f.corrupt], options: o, seed: seed)
        XCTAssertEqual(seen, ["blocks.1.hook_resid_post", "blocks.0.hook_resid_post"], "reverse firing order")
        // resid_mid = skip + MLP input path; doubling the MLP's output gradient doubles the MLP path only.
        let skip = plain.gradients["blocks.1.hook_resid_post"]!
        let viaMLP = try plain.gradients["blocks.1.hook_resid_mid"]! - skip
        assertClose(doubled.gradients["blocks.1.hook_resid_mid"]!, try skip + viaMLP * 2, tol: 1e-5, "replaced gradient flows on")
        for (name, cut) in [("unembed.hook_out", "hook_embed"), ("blocks.1.hook_resid_pre", "blocks.0.hook_resid_post")] {
            var stop = GradientOptions()
            stop.stopGradient = { $0 == name }
            let stopped = try f.model.gradients(tokens: [f.corrupt], options: stop, seed: seed)
            XCTAssertEqual(stopped.gradients[cut]!.data.map(abs).max(), 0, "nothing upstream of \(name)")
            XCTAssertEqual(stopped.gradients[name], plain.gradients[name], "the gradient at \(name) itself is kept")
        }
    }

    func testOptionalHooksGradientsMatchAutograd() throws {
        let f = try fixture("tiny-a")
        f.model.optionalHooks = OptionalHooks(attnResult: true, mlpIn: true, attnIn: true, splitQKVInput: true)
        defer { f.model.optionalHooks = OptionalHooks() }
        let run = try f.model.gradients(tokens: [f.corrupt]) { try f.metric.logitGradient(logits: $0, tokens: [f.corrupt]) }
        try assertGradientsMatch(run, f, prefix: "grad_optional/logit_diff/")
    }

    func testInputGradientsWithoutOptionalHooksEqualSplitInputs() throws {
        let f = try fixture("tiny-a")
        var o = GradientOptions()
        o.inputGradients = true
        let run = try f.model.gradients(tokens: [f.corrupt], options: o) { try f.metric.logitGradient(logits: $0, tokens: [f.corrupt]) }
        for l in 0..<2 {
            for which in ["q", "k", "v"] {
                let key = "blocks.\(l).hook_\(which)_input"
                let want = try f.grads.tensor("grad_optional/logit_diff/" + key)
                assertClose(run.gradients[key]!, want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, key)
            }
            let key = "blocks.\(l).hook_mlp_in"
            assertClose(run.gradients[key]!, try f.grads.tensor("grad_optional/logit_diff/" + key), tol: 1e-5, key)
        }
        // The plain gradients are unchanged by recording the inputs'.
        try assertGradientsMatch(run, f, prefix: "grad/logit_diff/", expectMissing: { $0.hasSuffix("_input") || $0.hasSuffix("mlp_in") })
    }

    func testAttributionMatchesTheDemoComputation() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let atp = try AttributionPatcher(model: f.model, clean: f.clean, corrupt: f.corrupt, metric: f.metric)
            let cases: [(String, String, [AttributionAxis])] = [
                ("resid_pre", "layer_pos", [.layer, .pos]), ("resid_mid", "layer_pos", [.layer, .pos]),
                ("resid_post", "layer_pos", [.layer, .pos]), ("attn_out", "layer_pos", [.layer, .pos]),
                ("mlp_out", "layer_pos", [.layer, .pos]), ("resid_post", "layer", [.layer]),
                ("z", "layer_head", [.layer, .head]), ("z", "layer_pos_head", [.layer, .pos, .head]),
                ("q", "layer_head", [.layer, .head]), ("k", "layer_pos_head", [.layer, .pos, .head]),
                ("v", "layer_pos_head", [.layer, .pos, .head]), ("pattern", "layer_head", [.layer, .head]),
                ("pattern", "layer_head_dest", [.layer, .head, .dest]),
                ("pattern", "layer_head_dest_src", [.layer, .head, .dest, .src]),
                ("post", "layer_neuron", [.layer, .neuron]), ("pre", "layer_pos_neuron", [.layer, .pos, .neuron]),
            ]
            for (act, key, axes) in cases {
                let want = try f.grads.tensor("attrib/\(act)/\(key)")
                let got = try atp.attribute(activation: act, axes: axes).values
                assertClose(got, want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, "\(name) attrib \(act) \(key)")
            }
            // AtP*'s QK fix against a brute-force recomputation of the softmax.
            for act in ["q", "k"] {
                for (key, axes) in [("layer_pos_head", [AttributionAxis.layer, .pos, .head]), ("layer_head", [.layer, .head])] {
                    let want = try f.grads.tensor("attrib_qk_fix/\(act)/\(key)")
                    let got = try atp.attributeQKFixed(activation: act, axes: axes).values
                    assertClose(got, want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, "\(name) QK fix \(act) \(key)")
                }
            }
            // A range picks rows out of the full grid.
            let part = try atp.attribute(activation: "resid_post", axes: [.layer, .pos], ranges: [.layer: [1], .pos: [-1, 0]]).values
            let full = try atp.attribute(activation: "resid_post", axes: [.layer, .pos]).values
            XCTAssertEqual(part.shape, [1, 2])
            XCTAssertEqual(part.data[0], full[1, f.clean.count - 1])
            XCTAssertEqual(part.data[1], full[1, 0])
        }
    }

    /// Directional finite differences: (m(x + εv) − m(x − εv)) / 2ε against g·v, with x an
    /// activation moved by a forward hook, for random directions v at several hook points. The
    /// engine computes in Float32, so the differences are taken in Float32 runs and combined in
    /// Double, with Richardson extrapolation over two step sizes.
    func testGradientsAgreeWithFiniteDifferences() throws {
        let f = try fixture("tiny-a")
        let tokens = f.corrupt, metric = f.metric
        let run = try f.model.gradients(tokens: [tokens]) { try metric.logitGradient(logits: $0, tokens: [tokens]) }
        var rng = SystemRandomNumberGenerator()
        for name in ["hook_embed", "blocks.0.attn.hook_q", "blocks.0.attn.hook_pattern", "blocks.0.ln2.hook_normalized",
                     "blocks.1.mlp.hook_pre", "blocks.1.attn.hook_v", "blocks.1.hook_resid_mid", "ln_final.hook_normalized"] {
            let g = run.gradients[name]!
            var v = Tensor(shape: g.shape, data: (0..<g.count).map { _ in Float.random(in: -1...1, using: &rng) })
            if name.hasSuffix("hook_pattern") {  // stay on the causal triangle, where the forward uses the pattern
                let P = g.shape[2]
                for i in 0..<v.count where (i % P) > (i / P) % P { v.data[i] = 0 }
            }
            func metricAt(_ step: Float) throws -> Double {
                var o = RunOptions()
                o.hooks = [ForwardHook(name: name) { act, _ in act = try act + v * step }]
                return Double(metric.value(logits: try f.model.run(tokens: [tokens], options: o).logits!, tokens: tokens))
            }
            // Central differences at ε and ε/2, combined by Richardson extrapolation (error O(ε⁴)).
            func central(_ eps: Float) throws -> Double { (try metricAt(eps) - metricAt(-eps)) / Double(2 * eps) }
            let numeric = (4 * (try central(5e-3)) - (try central(1e-2))) / 3
            var analytic: Double = 0
            for i in 0..<g.count { analytic += Double(g.data[i]) * Double(v.data[i]) }
            XCTAssertEqual(analytic, numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(name): autograd-free check")
        }
    }

    func testEdgeAttributionMatchesAutograd() throws {
        for name in ["tiny-a", "tiny-b"] {
            let f = try fixture(name)
            let info = f.grads.meta["eap"] as! [String: Any]
            for (key, steps, on) in [("eap", nil, .inputs), ("eap_ig3", 3, .inputs), ("eap_ig3_act", 3, .activations)] as [(String, Int?, EdgeIntegration)] {
                let scores = try EdgeAttribution.scores(model: f.model, clean: f.clean, corrupt: f.corrupt, metric: f.metric, steps: steps, integration: on)
                XCTAssertEqual(scores.senders.map(\.name), info["senders"] as! [String])
                XCTAssertEqual(scores.receivers.map(\.name), info["receivers"] as! [String])
                let want = try f.grads.tensor("eap/\(key)")
                assertClose(scores.matrix, want, tol: 1e-4 * (want.data.map(abs).max() ?? 0) + 1e-6, "\(name) \(key)")
            }
        }
    }

    /// Running a circuit: all edges give the clean metric, none the corrupt metric; a selected
    /// circuit is pruned to edges on paths from input to logits.
    func testCircuitEvaluationAndPruning() throws {
        let f = try fixture("tiny-a")
        let scores = try EdgeAttribution.scores(model: f.model, clean: f.clean, corrupt: f.corrupt, metric: f.metric)
        let all = Set(scores.edges.map(\.name))
        let full = try EdgeAttribution.evaluate(model: f.model, circuit: all, clean: f.clean, corrupt: f.corrupt, metric: f.metric)
        let none = try EdgeAttribution.evaluate(model: f.model, circuit: [], clean: f.clean, corrupt: f.corrupt, metric: f.metric)
        XCTAssertEqual(full, scores.cleanValue, accuracy: 1e-4)
        XCTAssertEqual(none, scores.corruptValue, accuracy: 1e-4)
        XCTAssertGreaterThan(abs(scores.cleanValue - scores.corruptValue), 0.1)
        let circuit = EdgeAttribution.circuit(scores, top: 20)
        XCTAssertFalse(circuit.edges.isEmpty)
        XCTAssertLessThanOrEqual(circuit.edges.count, 20)
        let froms = Set(circuit.edges.map(\.from.component)), tos = Set(circuit.edges.map(\.to.component))
        XCTAssertTrue(froms.contains("input") && tos.contains("logits"))
        for e in circuit.edges {
            XCTAssertTrue(e.from.component == "input" || tos.contains(e.from.component), "\(e.name): sender not fed by the circuit")
            XCTAssertTrue(e.to.component == "logits" || froms.contains(e.to.component), "\(e.name): receiver feeds nothing")
        }
        // The optional-hook switches used to run the circuit are restored.
        XCTAssertEqual(f.model.optionalHooks, OptionalHooks())
    }
}
