// SAEs and transcoders against SAELens 6 (tools/goldens/saes.py): encode, decode, forward, and the
// spliced forward's logits and hook_sae_* values (HookedSAETransformer), with and without the
// error term and with features ablated, for every architecture and cfg option the fixtures cover.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class SAEGoldenTests: XCTestCase {
    /// Float32 with a different summation order than torch.
    let tol: Float = 1e-4

    static let root = Golden.root.deletingLastPathComponent().appendingPathComponent("sae")

    struct Case {
        let name: String
        let meta: [String: Any]
        let golden: SafeTensorsFile
        let sae: SparseAutoencoder
        let model: HookedTransformer
        var tokens: [Int] { meta["tokens"] as! [Int] }
        func tensor(_ key: String) throws -> Tensor {
            let (shape, data) = try golden.tensor(key)
            return Tensor(shape: shape, data: data)
        }
        func keys(_ kind: String) -> [String] { (meta["keys"] as! [String: Any])[kind] as! [String] }

        /// The fixture `name` under `root` (meta.json, golden.safetensors, sae/) with the golden
        /// model it names, found under `modelRoot` (also read by SAEFamilyGoldenTests and SAESparseTests).
        static func load(_ name: String, root: URL = SAEGoldenTests.root, modelRoot: URL = Golden.root) throws -> Case {
            let dir = root.appendingPathComponent(name)
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json"))) as! [String: Any]
            let golden = try SafeTensorsFile(path: dir.appendingPathComponent("golden.safetensors").path)
            let model = try HookedTransformer.load(directory: try Golden(meta["model"] as! String, root: modelRoot).hfDirectory)
            let sae = try SparseAutoencoder.load(directory: dir.appendingPathComponent("sae"))
            return Case(name: name, meta: meta, golden: golden, sae: sae, model: model)
        }
    }

    func load(_ name: String) throws -> Case { try Case.load(name) }

    static let cases = ["standard", "standard_nobdec_ln", "standard_cnr_f16", "standard_avg_only_in", "gated", "jumprelu_bf16",
                        "topk", "topk_rescale", "batchtopk", "hook_z", "transcoder", "jumprelu_transcoder", "skip_transcoder"]

    func testEveryCaseIsCovered() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.root.path).filter { $0 != "multi" && !$0.hasPrefix(".") }
        XCTAssertEqual(Set(onDisk), Set(Self.cases), "a fixture without a test, or a test without a fixture")
    }

    func testEncodeDecodeAndForwardMatchSAELens() throws {
        for name in Self.cases {
            let c = try load(name)
            try c.sae.checkCompatible(with: c.model)
            let x = try c.tensor("x")
            // The model's own activation at the input hook is the one SAELens encoded.
            let (_, cache) = try c.model.runWithCache(tokens: [c.tokens])
            assertClose(cache[c.model.firedHookName(c.sae.config.hookName)]!, x, tol: tol, "\(name) x")
            let (rows, lead) = try c.sae.rows(of: x)
            let e = c.sae.encode(rows)
            assertClose(e.post.reshaped(lead + [c.sae.config.dSae]), try c.tensor("encode"), tol: tol, "\(name) encode")
            let decoded = c.sae.decode(e.post, encoding: e).output
            assertClose(decoded, try c.tensor("decode"), tol: tol, "\(name) decode", ignoreShape: true)
            assertClose(c.sae.forward(rows), try c.tensor("forward"), tol: tol, "\(name) forward", ignoreShape: true)
            // A test that cannot fail is a defect: the fixtures must have features that fire and
            // features that do not.
            let active = e.post.data.filter { $0 > 0 }.count
            XCTAssertTrue(active > 0 && active < e.post.count, "\(name): \(active) active of \(e.post.count)")
        }
    }

    func testSplicedRunsMatchHookedSAETransformer() throws {
        for name in Self.cases {
            let c = try load(name)
            for (kind, useError) in [("spliced", false), ("spliced_error", true)] {
                let splice = SAESplice(c.sae, useErrorTerm: useError)
                let (logits, cache) = try c.model.runWithCache(tokens: [c.tokens], hooks: splice.hooks(for: c.model))
                splice.insertRecorded(into: cache, model: c.model)
                assertClose(logits, try c.tensor("\(kind)/logits"), tol: tol, "\(name) \(kind) logits")
                let expected = c.keys(kind)
                XCTAssertEqual(expected.count, useError ? 6 : 5, "\(name) \(kind) keys")
                for key in expected {
                    guard let got = cache[key] else { XCTFail("\(name) \(kind): no \(key)"); continue }
                    assertClose(got, try c.tensor("\(kind)/\(key)"), tol: tol, "\(name) \(kind) \(key)")
                }
                // The hook_sae_* entries sit just before the hook they replace, in firing order.
                let anchor = c.model.firedHookName(c.sae.config.outputHook)
                let i = cache.keys.firstIndex(of: anchor)!
                XCTAssertEqual(Array(cache.keys[(i - expected.count)..<i]), expected, "\(name) \(kind) key order")
            }
            let ablate = c.meta["ablate"] as! [Int]
            let splice = SAESplice(c.sae, useErrorTerm: true, ablate: ablate)
            var o = RunOptions()
            o.hooks = splice.hooks(for: c.model)
            let logits = try c.model.run(tokens: [c.tokens], options: o).logits!
            assertClose(logits, try c.tensor("ablated/logits"), tol: tol, "\(name) ablated logits")
            XCTAssertTrue(logits.maxAbsDifference(try c.tensor("spliced_error/logits")) > 1e-3, "\(name): ablation changed nothing")
        }
    }

    func testTwoSAEsSplicedAtOnce() throws {
        let dir = Self.root.appendingPathComponent("multi")
        let golden = try SafeTensorsFile(path: dir.appendingPathComponent("golden.safetensors").path)
        let standard = try load("standard"), topk = try load("topk")
        let splices = [SAESplice(standard.sae), SAESplice(topk.sae)]
        let model = standard.model
        let (logits, cache) = try model.runWithCache(tokens: [standard.tokens], hooks: splices.flatMap { $0.hooks(for: model) })
        for s in splices { s.insertRecorded(into: cache, model: model) }
        let (shape, data) = try golden.tensor("spliced/logits")
        assertClose(logits, Tensor(shape: shape, data: data), tol: tol, "multi logits")
        for key in golden.tensors.keys where key != "spliced/logits" {
            let (s, d) = try golden.tensor(key)
            let name = String(key.dropFirst("spliced/".count))
            guard let got = cache[name] else { XCTFail("multi: no \(name)"); continue }
            assertClose(got, Tensor(shape: s, data: d), tol: tol, "multi \(name)")
        }
    }

    func testMismatchedModelsAreRefusedBeforeAnythingRuns() throws {
        let tinyA = try HookedTransformer.load(directory: try Golden("tiny-a").hfDirectory)
        // blocks.2 does not exist in the 2-layer tiny-a.
        let deep = try load("standard_avg_only_in").sae
        XCTAssertThrowsError(try deep.checkCompatible(with: tinyA)) { e in
            XCTAssertTrue("\(e)".contains("does not exist"), "\(e)")
        }
        // A d_model-64 SAE on the d_model-96 tiny-b.
        let tinyB = try HookedTransformer.load(directory: try Golden("tiny-b").hfDirectory)
        XCTAssertThrowsError(try load("standard").sae.checkCompatible(with: tinyB)) { e in
            XCTAssertTrue("\(e)".contains("d_in is 64") && "\(e)".contains("width 96"), "\(e)")
        }
    }

    func testConfigErrorsNameTheProblem() throws {
        func parse(_ json: String) -> String {
            do { _ = try SAEConfig.parse(json: Data(json.utf8), path: "cfg.json"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(parse(#"{"d_in": 4, "d_sae": 8}"#).contains("names no hook"))
        XCTAssertTrue(parse(#"{"d_in": 4, "d_sae": 8, "architecture": "matryoshka", "metadata": {"hook_name": "blocks.0.hook_resid_pre"}}"#).contains("not supported"))
        XCTAssertTrue(parse(#"{"d_in": 4, "d_sae": 8, "architecture": "topk", "metadata": {"hook_name": "h"}}"#).contains("needs a positive k"))
        XCTAssertTrue(parse("not json").contains("not valid JSON"))
        // The pre-6.0 flat form: hook_point at the top level, topk from activation_fn_kwargs.
        let old = try SAEConfig.parse(json: Data(#"{"d_in": 4, "d_sae": 8, "hook_point": "blocks.3.attn.hook_z", "activation_fn_str": "topk", "activation_fn_kwargs": {"k": 3}, "normalize_activations": false, "model_name": "gpt2-small"}"#.utf8), path: "cfg.json")
        XCTAssertEqual(old.architecture, .topk)
        XCTAssertEqual(old.k, 3)
        XCTAssertEqual(old.hookName, "blocks.3.attn.hook_z")
        XCTAssertTrue(old.reshapeHookZ)
        XCTAssertEqual(old.normalization, .none)
        XCTAssertEqual(old.modelName, "gpt2-small")
    }
}
