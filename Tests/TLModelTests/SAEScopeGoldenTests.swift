// Gemma Scope, Gemma Scope 2 and Llama Scope SAEs against sae-lens's own converters
// (tools/goldens/sae_scopes.py): the files are read from their release layouts, then encode,
// decode, forward and the spliced run must equal what SAE.from_pretrained produced.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class SAEScopeGoldenTests: XCTestCase {
    /// 1e-5 relative to the golden's largest magnitude (at least 1e-5 absolute): Float32 sums in
    /// another order differ in the last bits of values that reach tens.
    func close(_ a: Tensor, _ b: Tensor, _ what: String, ignoreShape: Bool = false) {
        let scale = max(1, b.data.map { abs($0) }.max() ?? 0)
        assertClose(a, b, tol: 1e-5 * scale, what, ignoreShape: ignoreShape)
    }
    static let root = Golden.root.deletingLastPathComponent().appendingPathComponent("sae_scopes")
    static let cases = ["gemma_scope_res", "gemma_scope_mlp", "gemma_scope_embedding", "gemma_scope_2_res",
                        "gemma_scope_2_transcoder", "llama_scope_res"]

    func meta(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("\(name)/meta.json"))) as! [String: Any]
    }

    func testEveryCaseIsCovered() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.root.path)
            .filter { !$0.hasPrefix(".") && $0 != "hub" && !$0.hasSuffix(".json") }
        XCTAssertEqual(Set(onDisk), Set(Self.cases))
    }

    func testScopeLayoutsMatchSAELensConverters() throws {
        let model = try HookedTransformer.load(directory: try Golden("tiny-a").hfDirectory)
        for name in Self.cases {
            let m = try meta(name)
            let golden = try SafeTensorsFile(path: Self.root.appendingPathComponent("\(name)/golden.safetensors").path)
            func tensor(_ key: String) throws -> Tensor { let (s, d) = try golden.tensor(key); return Tensor(shape: s, data: d) }
            let repo = m["repo"] as! String, folder = m["path"] as! String
            let dir = Self.root.appendingPathComponent("hub/\(repo)/\(folder)")
            let nsf = (m["norm_scaling_factor"] as? NSNumber)?.doubleValue
            let sae = try SparseAutoencoder.load(directory: dir, origin: SAEOrigin(repo: repo, folder: folder), normScalingFactor: nsf)
            // The cfg SAELens derived (hook, model, architecture, widths, folded normalization).
            let cfg = m["config"] as! [String: Any]
            XCTAssertEqual(sae.config.hookName, cfg["hook_name"] as? String, name)
            XCTAssertEqual(sae.config.hookNameOut, cfg["hook_name_out"] as? String, name)
            XCTAssertEqual(sae.config.modelName, cfg["model_name"] as? String, name)
            XCTAssertEqual(sae.config.architecture.rawValue, cfg["architecture"] as? String, name)
            XCTAssertEqual(sae.config.dIn, cfg["d_in"] as? Int, name)
            XCTAssertEqual(sae.config.dSae, cfg["d_sae"] as? Int, name)
            XCTAssertEqual(sae.config.normalization.rawValue, cfg["normalize_activations"] as? String, name)
            XCTAssertEqual(sae.config.applyBDecToInput, cfg["apply_b_dec_to_input"] as? Bool, name)
            // The same result from the bare path: a local copy that keeps the release's names.
            let local = try SparseAutoencoder.load(directory: dir, origin: nil)
            XCTAssertEqual(local.config.hookName, sae.config.hookName, "\(name) from its path")

            let x = try tensor("x")
            let (rows, lead) = try sae.rows(of: x)
            let e = sae.encode(rows)
            close(e.post.reshaped(lead + [sae.config.dSae]), try tensor("encode"), "\(name) encode")
            close(sae.decode(e.post, encoding: e).output, try tensor("decode"), "\(name) decode", ignoreShape: true)
            close(sae.forward(rows), try tensor("forward"), "\(name) forward", ignoreShape: true)
            let keys = m["keys"] as! [String]
            guard !keys.isEmpty else { continue }
            try sae.checkCompatible(with: model)
            let splice = SAESplice(sae)
            let (logits, cache) = try model.runWithCache(tokens: [m["tokens"] as! [Int]], hooks: splice.hooks(for: model))
            splice.insertRecorded(into: cache, model: model)
            close(logits, try tensor("spliced/logits"), "\(name) spliced logits")
            for key in keys {
                guard let got = cache[key] else { XCTFail("\(name): no \(key)"); continue }
                close(got, try tensor("spliced/\(key)"), "\(name) \(key)")
            }
        }
    }

    /// SAELens derives a Gemma Scope SAE's hook and model from its repo id and folder alone.
    func testGemmaScopeNamesMatchSAELensDerivation() throws {
        let top = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("config_derivation.json"))) as! [String: Any]
        let cases = top["cases"] as! [[String: Any]]
        XCTAssertGreaterThan(cases.count, 10)
        for c in cases {
            let o = SAEOrigin(repo: c["repo"] as! String, folder: c["folder"] as! String)
            let (hook, model) = try SparseAutoencoder.gemmaScopeNames(o)
            XCTAssertEqual(hook, c["hook_name"] as? String, "\(o)")
            XCTAssertEqual(model, c["model_name"] as? String, "\(o)")
        }
    }

    func testNpzReaderRefusesCorruptArchives() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-npz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Self.root.appendingPathComponent("hub/google/gemma-scope-2b-pt-mlp/layer_0/width_16k/average_l0_119/params.npz")
        var bytes = try Data(contentsOf: source)
        XCTAssertEqual(try NumpyArchive.read(npz: source.path).count, 5)
        let truncated = dir.appendingPathComponent("t.npz")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        XCTAssertThrowsError(try NumpyArchive.read(npz: truncated.path)) { XCTAssertTrue("\($0)".contains("not a readable NumPy archive"), "\($0)") }
        bytes[200] ^= 0xFF  // inside the first deflated member
        let flipped = dir.appendingPathComponent("f.npz")
        try bytes.write(to: flipped)
        XCTAssertThrowsError(try NumpyArchive.read(npz: flipped.path))
    }
}
