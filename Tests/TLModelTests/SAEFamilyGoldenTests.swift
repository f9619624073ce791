// SAEs and transcoders on family models (Llama-like llama-a: RMSNorm, grouped-query attention;
// Gemma-2 gemma2-a: pre and post norms, soft-caps, local/global layers) against SAELens's
// HookedSAETransformer (tools/goldens/saes.py --families-only → Tests/Fixtures/sae_families):
// encode, decode, forward, and the spliced forward's logits and hook_sae_* values.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class SAEFamilyGoldenTests: XCTestCase {
    /// 1e-4 relative to each tensor's largest magnitude (at least 1), as the family goldens:
    /// Gemma-2's activations reach 60, where Float32 rounding alone gives 1e-4 absolute.
    let tol: Float = 1e-4

    static let root = Golden.root.deletingLastPathComponent().appendingPathComponent("sae_families")
    static let cases = ["llama_standard", "llama_topk_hook_z", "llama_transcoder", "gemma2_jumprelu", "gemma2_standard_mlp_cnr"]

    typealias Case = SAEGoldenTests.Case

    static func load(_ name: String) throws -> Case { try Case.load(name, root: root, modelRoot: Golden.familiesRoot) }

    func close(_ a: Tensor, _ b: Tensor, _ what: String, ignoreShape: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        let bound = tol * max(1, b.data.reduce(0) { max($0, abs($1)) })
        assertClose(a, b, tol: bound, what, ignoreShape: ignoreShape, file: file, line: line)
    }

    func testEveryCaseIsCovered() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.root.path).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(Set(onDisk), Set(Self.cases), "a fixture without a test, or a test without a fixture")
    }

    func testEncodeDecodeAndForwardMatchSAELens() throws {
        for name in Self.cases {
            let c = try Self.load(name)
            try c.sae.checkCompatible(with: c.model)
            let x = try c.tensor("x")
            let (_, cache) = try c.model.runWithCache(tokens: [c.tokens])
            close(cache[c.model.firedHookName(c.sae.config.hookName)]!, x, "\(name) x")
            let (rows, lead) = try c.sae.rows(of: x)
            let e = c.sae.encode(rows)
            close(e.post.reshaped(lead + [c.sae.config.dSae]), try c.tensor("encode"), "\(name) encode")
            close(c.sae.decode(e.post, encoding: e).output, try c.tensor("decode"), "\(name) decode", ignoreShape: true)
            close(c.sae.forward(rows), try c.tensor("forward"), "\(name) forward", ignoreShape: true)
            let active = e.post.data.filter { $0 > 0 }.count
            XCTAssertTrue(active > 0 && active < e.post.count, "\(name): \(active) active of \(e.post.count)")
        }
    }

    func testSplicedRunsMatchHookedSAETransformer() throws {
        for name in Self.cases {
            let c = try Self.load(name)
            for (kind, useError) in [("spliced", false), ("spliced_error", true)] {
                let splice = SAESplice(c.sae, useErrorTerm: useError)
                let (logits, cache) = try c.model.runWithCache(tokens: [c.tokens], hooks: splice.hooks(for: c.model))
                splice.insertRecorded(into: cache, model: c.model)
                close(logits, try c.tensor("\(kind)/logits"), "\(name) \(kind) logits")
                let expected = c.keys(kind)
                XCTAssertEqual(expected.count, useError ? 6 : 5, "\(name) \(kind) keys")
                for key in expected {
                    guard let got = cache[key] else { XCTFail("\(name) \(kind): no \(key)"); continue }
                    close(got, try c.tensor("\(kind)/\(key)"), "\(name) \(kind) \(key)")
                }
            }
            // Splicing without the error term changes the logits: the comparison above can fail.
            XCTAssertTrue(try c.tensor("spliced/logits").maxAbsDifference(try c.tensor("spliced_error/logits")) > 1e-3, "\(name): splicing changed nothing")
            let splice = SAESplice(c.sae, useErrorTerm: true, ablate: c.meta["ablate"] as! [Int])
            var o = RunOptions()
            o.hooks = splice.hooks(for: c.model)
            close(try c.model.run(tokens: [c.tokens], options: o).logits!, try c.tensor("ablated/logits"), "\(name) ablated logits")
        }
    }
}

/// Decoding sums the active features' decoder rows when activations are sparse; it must equal the
/// dense product W_dec · acts (the TopK goldens, k = 8 of 128, also take this path).
final class SAESparseDecodeTests: XCTestCase {
    func testSparseDecodeEqualsDenseProduct() throws {
        let dir = SAEFamilyGoldenTests.root.appendingPathComponent("llama_standard/sae")
        let sae = try SparseAutoencoder.load(directory: dir)
        let c = sae.config, rows = 5
        var acts = [Float](repeating: 0, count: rows * c.dSae)
        for r in 0..<rows { for f in [r, 7 + r, 100 - r] { acts[r * c.dSae + f] = Float(r + 1) * 0.5 + Float(f) * 0.01 } }
        let sparse = sae.decode(Tensor(shape: [rows, c.dSae], data: acts)).recons
        var dense = try Tensor(shape: [rows, c.dSae], data: acts).matmul(Tensor(shape: [c.dSae, c.dOut], data: sae.wDec))
        for r in 0..<rows { for j in 0..<c.dOut { dense.data[r * c.dOut + j] += sae.bDec[j] } }
        assertClose(sparse, dense, tol: 1e-5, "sparse decode")
        XCTAssertTrue(dense.data.contains { abs($0) > 0.1 })
    }
}
