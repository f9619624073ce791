// grad, attrib and eap in the language on the embedded default model: the statements the issue's
// checks use, equality with the library, agreement with exact patching, and the induction circuit.
import Foundation
import XCTest
@testable import TLLang
import TLInterp
import TLModel
import TLTensor

final class GradientCommandTests: XCTestCase {
    func session(_ statements: String) throws -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = CapturingOutput()
        do { try s.execute(statements) } catch { XCTFail(error.rendered); throw error }
        return s
    }

    func result(_ s: Session, _ name: String) throws -> NamedTensor {
        guard case .result(_, let data?)? = s.variables[name] else { throw TLLangError.runtime("no result \(name)") }
        return data
    }

    func testTheIssueStatementsWorkAsWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-grad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let probe = try session("")
        let m = try probe.requireModel()
        let clean = try m.tokens("The Eiffel Tower is in the city of"), corrupt = try m.tokens("The Colosseum is in the city of")
        let list = { (ids: [Int]) in "[" + ids.map(String.init).joined(separator: ", ") + "]" }
        let s = try session("""
            clean = run \(list(clean)); corrupt = run \(list(corrupt)); metric = logit_diff " Paris" " Rome"
            g = grad corrupt
            save g "\(dir.path)/g.safetensors"
            a = attrib resid_post layer=* pos=*
            b = attrib z layer=* head=*
            save a "\(dir.path)/a.npy"
            """)
        let cfg = m.model.config, P = clean.count
        XCTAssertEqual(try result(s, "a").tensor.shape, [cfg.nLayers, P])
        XCTAssertEqual(try result(s, "a").axes, ["layer", "pos"])
        XCTAssertEqual(try result(s, "b").tensor.shape, [cfg.nLayers, cfg.nHeads])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a.npy").path))

        // g is the library's gradient cache, and the file holds it under TransformerLens names.
        let tok = m.tokenizer!
        let metric = PatchMetric.logitDiff(answer: try tok.toSingleToken(" Paris"), wrong: try tok.toSingleToken(" Rome"))
        let lib = try m.model.gradients(tokens: [corrupt]) { try metric.logitGradient(logits: $0, tokens: [corrupt]) }
        guard case .cache(let g)? = s.variables["g"] else { return XCTFail("g is not a cache") }
        XCTAssertEqual(g.cache.keys.count, m.model.hookNames.count)
        let file = try SafeTensorsFile(path: dir.appendingPathComponent("g.safetensors").path)
        for name in ["blocks.0.hook_resid_post", "blocks.\(cfg.nLayers - 1).attn.hook_pattern", "hook_embed"] {
            XCTAssertEqual(g.cache[name], lib.gradients[name], name)
            XCTAssertEqual(try file.tensor(name).1, lib.gradients[name]!.data, name)
        }
        // a equals the library's attribution grid.
        let atp = try AttributionPatcher(model: m.model, clean: clean, corrupt: corrupt, metric: metric)
        XCTAssertEqual(try result(s, "a").tensor.data, try atp.attribute(activation: "resid_post", axes: [.layer, .pos]).values.data)
    }

    /// On Paris/Rome, attribution patching ranks heads as exact patching does at the top.
    func testAttributionAgreesWithExactPatchingOnTheTopHeads() throws {
        let s = try session("""
            clean = run "The Eiffel Tower is in the city of"
            corrupt = run "The Colosseum is in the city of"
            metric = logit_diff " Paris" " Rome"
            a = attrib z layer=* head=*
            p = patch z layer=* head=*
            r = attrib resid_post layer=* pos=*
            q = patch resid_post layer=* pos=*
            """)
        let a = try result(s, "a").tensor.data, p = try result(s, "p").tensor.data
        let top = { (v: [Float]) in v.indices.max { v[$0] < v[$1] }! }
        XCTAssertEqual(top(a), top(p), "the most important head")
        // The last position's residual stream at the last layer restores the clean answer in both.
        let r = try result(s, "r").tensor, q = try result(s, "q").tensor
        XCTAssertEqual(top(r.data), top(q.data))
        // exact=true shows both, with their agreement; the data stays the attribution.
        try s.execute("x = attrib z layer=* head=* exact=true")
        guard case .result(let d, let data?)? = s.variables["x"] else { return XCTFail("attrib exact") }
        XCTAssertTrue(d.text.contains("correlation"), d.text)
        XCTAssertEqual(d.pictures.count, 2)
        XCTAssertEqual(data.tensor.data, a)
    }

    /// Tutorial 7's induction circuit: EAP-IG finds L0's previous-token head feeding L1's
    /// induction head through its keys, and the circuit recovers the clean behaviour.
    func testEAPFindsTheInductionCircuit() throws {
        let s = try session("""
            clean   = run " apple river stone music paper green apple river stone music paper"
            corrupt = run " apple river stone music sound green apple river stone music paper"
            metric  = logit_diff " green"
            """)
        let m = try s.requireModel()
        guard case .cache(let clean)? = s.variables["clean"], case .cache(let corrupt)? = s.variables["corrupt"],
              case .metric(let metric)? = s.variables["metric"] else { return XCTFail("setup") }
        let scores = try EdgeAttribution.scores(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric, steps: 10)
        let circuit = EdgeAttribution.circuit(scores, top: 10)
        XCTAssertTrue(circuit.edgeNames.contains("a0.h0->a1.h0<k>"), "\(circuit.edgeNames.sorted())")
        XCTAssertTrue(circuit.edgeNames.contains("a1.h0->logits"))
        let value = try EdgeAttribution.evaluate(model: m.model, circuit: circuit.edgeNames, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric)
        XCTAssertGreaterThan((value - scores.corruptValue) / (scores.cleanValue - scores.corruptValue), 0.8)
        try s.execute("e = eap top=10 steps=10")
        XCTAssertEqual(try result(s, "e").tensor.data, scores.matrix.data)
        // The first picture (what `save e "x.png"` writes) is the circuit drawn as a layered graph.
        guard case .result(let d, _)? = s.variables["e"], let first = d.pictures.first else { return XCTFail("eap shows no picture") }
        XCTAssertTrue(first.title.hasPrefix("circuit (EAP-IG"), first.title)
        let graph = Session.circuitGraph(circuit, title: "t")
        XCTAssertEqual(Set(graph.edges.map(\.name)), circuit.edgeNames)
        XCTAssertEqual(graph.nodes.first?.name, "input"); XCTAssertEqual(graph.nodes.last?.name, "logits")
        XCTAssertEqual(graph.nodes.first { $0.name == "a1.h0" }?.rowLabel, "L1 attn")
        let path = NSTemporaryDirectory() + "tlsh-circuit-\(UUID().uuidString).svg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try s.execute("save e \"\(path)\"")
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(svg.contains("a1.h0-&gt;logits") || svg.contains("a1.h0->logits"), "the saved SVG is the graph")
        XCTAssertTrue(svg.contains(">L1 attn<") && svg.contains(">embed<"), "rows labelled by layer")

        // ablation=mean: the faithfulness run feeds non-circuit edges their positional means, and 0 is
        // the mean-ablated empty circuit (its value is shown and saved).
        let meanValue = try EdgeAttribution.evaluate(model: m.model, circuit: circuit.edgeNames, clean: clean.tokens, corrupt: corrupt.tokens,
                                                     metric: metric.metric, ablation: .mean)
        let empty = try EdgeAttribution.evaluate(model: m.model, circuit: [], clean: clean.tokens, corrupt: corrupt.tokens,
                                                 metric: metric.metric, ablation: .mean)
        let json = NSTemporaryDirectory() + "tlsh-circuit-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: json) }
        try s.execute("m = eap top=10 steps=10 ablation=mean out=\"\(json)\"")
        guard case .result(let md, _)? = s.variables["m"] else { return XCTFail("no eap result") }
        XCTAssertTrue(md.text.contains("mean-ablated"), md.text)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        XCTAssertEqual(saved["ablation"] as? String, "mean")
        XCTAssertEqual(saved["circuit_metric"] as! Double, Double(meanValue), accuracy: 1e-5)
        XCTAssertEqual(saved["empty_circuit_metric"] as! Double, Double(empty), accuracy: 1e-5)
        XCTAssertEqual(saved["faithfulness"] as! Double, Double((meanValue - empty) / (scores.cleanValue - empty)), accuracy: 1e-4)
        XCTAssertNotEqual(empty, scores.corruptValue, "mean ablation is not the corrupt run")
        XCTAssertThrowsError(try s.execute("eap top=10 ablation=zero")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("ablation"), "\($0)") }
    }

    /// `graddrop=true` is AtP*'s GradDrop (checked against autograd in GradDropGoldenTests).
    func testGradDropOption() throws {
        let s = try session("""
            clean = run "The Eiffel Tower is in the city of"
            corrupt = run "The Colosseum is in the city of"
            metric = logit_diff " Paris" " Rome"
            g = attrib z layer=* head=* graddrop=true
            """)
        let m = try s.requireModel()
        guard case .cache(let clean)? = s.variables["clean"], case .cache(let corrupt)? = s.variables["corrupt"],
              case .metric(let metric)? = s.variables["metric"] else { return XCTFail("setup") }
        let atp = try AttributionPatcher(model: m.model, clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric)
        let want = try atp.attributeGradDrop(activation: "z", axes: [.layer, .head]).values.data
        let got = try result(s, "g").tensor.data
        XCTAssertEqual(got.count, want.count)
        for (a, b) in zip(got, want) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
        XCTAssertThrowsError(try s.execute("attrib q layer=* head=* graddrop=true qk_fix=true")) {
            XCTAssertTrue(($0 as! ExecutionError).rendered.contains("one at a time"), "\($0)")
        }
    }

    func testGradientErrorsNameTheProblem() throws {
        let s = try session("c = run \"The capital of France is\"\nd = run \"The capital of Italy\"")
        XCTAssertThrowsError(try s.execute("grad c")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("needs a metric"), "\($0)") }
        try s.execute("metric = logit_diff \" Paris\" \" Rome\"")
        XCTAssertThrowsError(try s.execute("grad c stop=5")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("stop="), "\($0)") }
        XCTAssertThrowsError(try s.execute("attrib resid_post clean=c corrupt=d")) {
            XCTAssertTrue(($0 as! ExecutionError).rendered.contains("same number of tokens"), "\($0)")
        }
        XCTAssertThrowsError(try s.execute("attrib resid_post head=* clean=c corrupt=c")) {
            XCTAssertTrue(($0 as! ExecutionError).rendered.contains("no head axis"), "\($0)")
        }
        XCTAssertThrowsError(try s.execute("eap clean=c corrupt=c top=0")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("top="), "\($0)") }
        XCTAssertThrowsError(try s.execute("eap clean=c corrupt=c steps=0")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("steps"), "\($0)") }
        XCTAssertThrowsError(try s.execute("attrib z head=* clean=c corrupt=c qk_fix=true")) {
            XCTAssertTrue(($0 as! ExecutionError).rendered.contains("q and k only"), "\($0)")
        }
        try s.execute("x = attrib k layer=* head=* clean=c corrupt=c qk_fix=true")
        // stop= detaches: with every LayerNorm scale stopped the gradient is the frozen-LN one.
        try s.execute("g = grad c stop=\"hook_scale\"")
        XCTAssertThrowsError(try s.execute("grad c scale=0")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("need at="), "\($0)") }
        XCTAssertThrowsError(try s.execute("grad c at=\"hook_z\"")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("scale=NUMBER or set="), "\($0)") }
        XCTAssertThrowsError(try s.execute("grad c at=\"hook_z\" scale=0 set=1")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("not both"), "\($0)") }
        XCTAssertThrowsError(try s.execute("grad c at=\"blocks.0.hook_resid_post\" set=g[\"blocks.0.attn.hook_pattern\"]")) {
            XCTAssertTrue(($0 as! ExecutionError).rendered.contains("values but the gradient at blocks.0.hook_resid_post"), "\($0)")
        }
        XCTAssertThrowsError(try s.execute("eap clean=c corrupt=c ig=activations")) { XCTAssertTrue(($0 as! ExecutionError).rendered.contains("needs steps="), "\($0)") }
    }

    /// The gradient cache's names filter, and backward hooks that replace a gradient (scale=, set=)
    /// against the library's GradientHook.
    func testGradientNamesFilterAndReplacement() throws {
        let s = try session("""
            c = run "The capital of France is"
            metric = logit_diff " Paris" " Rome"
            g = grad c
            r = grad c names="resid_post"
            z = grad c at="blocks.1.hook_attn_out" scale=0
            h = grad c at="blocks.1.hook_attn_out" scale=0.5
            w = grad c at="blocks.1.hook_resid_mid" set=g["blocks.1.hook_resid_mid"]
            """)
        guard case .cache(let g)? = s.variables["g"], case .cache(let r)? = s.variables["r"], case .cache(let z)? = s.variables["z"],
              case .cache(let h)? = s.variables["h"], case .cache(let w)? = s.variables["w"] else { return XCTFail("not caches") }
        let m = try s.requireModel(), L = m.model.config.nLayers
        XCTAssertEqual(Set(r.cache.keys), Set((0..<L).map { "blocks.\($0).hook_resid_post" }))
        XCTAssertEqual(r.cache["blocks.2.hook_resid_post"], g.cache["blocks.2.hook_resid_post"])
        // Scaling by 0 at layer 1's attention output: recorded as 0, and its inputs get no gradient through it.
        XCTAssertEqual(z.cache["blocks.1.hook_attn_out"]!.data.map(abs).max(), 0)
        XCTAssertEqual(z.cache["blocks.1.attn.hook_z"]!.data.map(abs).max(), 0)
        XCTAssertNotEqual(z.cache["blocks.0.hook_resid_post"], g.cache["blocks.0.hook_resid_post"])
        XCTAssertEqual(z.cache["blocks.2.hook_resid_post"], g.cache["blocks.2.hook_resid_post"])
        // 0.5 halves the attention's gradients exactly (everything upstream in that layer is linear in it).
        let gz = g.cache["blocks.1.attn.hook_z"]!.data, hz = h.cache["blocks.1.attn.hook_z"]!.data
        for i in 0..<gz.count { XCTAssertEqual(hz[i], gz[i] * 0.5, accuracy: 1e-6 * max(1, abs(gz[i]))) }
        // Setting a gradient to its own value changes nothing.
        XCTAssertEqual(w.cache["hook_embed"], g.cache["hook_embed"])
    }
}
