// The sparse forms of SAE feature activations (SAESparse.swift) against the dense encode and
// SAELens's goldens: the blocked sparse encode, the sparse decode, a splice that records nothing,
// and the run that stops at the SAE's hook.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class SAESparseTests: XCTestCase {
    let tol: Float = 1e-4

    /// SAEGoldenTests's fixtures (tools/goldens/saes.py).
    func load(_ name: String) throws -> SAEGoldenTests.Case { try SAEGoldenTests.Case.load(name) }

    func testSparseEncodeAndDecodeMatchSAELensForEveryArchitecture() throws {
        for name in SAEGoldenTests.cases {
            let c = try load(name)
            let (rows, lead) = try c.sae.rows(of: try c.tensor("x"))
            let dense = c.sae.encode(rows)
            // Blocks of 48 features: the fixtures' 128 features cross two block edges, the last block partial.
            for width in [48, SparseAutoencoder.sparseEncodeBlock] {
                let e = c.sae.encodeSparse(rows, blockFeatures: width)
                XCTAssertEqual(e.acts.rows, rows.shape[0], name)
                assertClose(e.acts.dense(), dense.post, tol: 1e-6, "\(name) sparse encode (\(width)) vs dense")
                assertClose(e.acts.dense().reshaped(lead + [c.sae.config.dSae]), try c.tensor("encode"), tol: tol, "\(name) sparse encode")
                XCTAssertEqual(e.acts.nonZeros, dense.post.data.filter { $0 != 0 }.count, name)
                let decoded = c.sae.decode(e.acts, encoding: e)
                assertClose(decoded.output, try c.tensor("decode"), tol: tol, "\(name) sparse decode", ignoreShape: true)
                assertClose(decoded.recons, c.sae.decode(dense.post, encoding: dense).recons, tol: 1e-5, "\(name) sparse recons (the dense decode multiplies when many fire)")
            }
            assertClose(try c.sae.features(of: try c.tensor("x")), try c.tensor("encode"), tol: tol, "\(name) features(of:)")
        }
    }

    func testSpliceThatRecordsNothingGivesTheSameLogits() throws {
        for name in SAEGoldenTests.cases {
            let c = try load(name)
            for (kind, useError, ablate) in [("spliced", false, []), ("spliced_error", true, []), ("ablated", true, c.meta["ablate"] as! [Int])] {
                let splice = SAESplice(c.sae, useErrorTerm: useError, ablate: ablate)
                splice.records = false
                var o = RunOptions()
                o.hooks = splice.hooks(for: c.model)
                let logits = try c.model.run(tokens: [c.tokens], options: o).logits!
                assertClose(logits, try c.tensor("\(kind)/logits"), tol: tol, "\(name) \(kind) logits, not recorded")
                XCTAssertTrue(splice.recorded.isEmpty, name)
            }
        }
    }

    func testActivationAtAHookStopsThereWithTheCachedValue() throws {
        let c = try load("standard")
        let (_, cache) = try c.model.runWithCache(tokens: [c.tokens])
        let last = c.model.config.nLayers - 1
        for hook in [c.sae.config.hookName, "hook_embed", "blocks.0.attn.hook_z", "blocks.\(last).hook_resid_post", "blocks.0.mlp.hook_in"] {
            let got = try c.model.activation(at: hook, tokens: [c.tokens])
            XCTAssertEqual(got, cache[c.model.firedHookName(hook)]!, hook)
        }
        // A hook that stops the run must not leave later hooks firing.
        var fired: [String] = []
        c.model.registeredHooks = [ForwardHook(.predicate { _ in true }) { _, point in fired.append(point.name) }]
        defer { c.model.registeredHooks = [] }
        _ = try c.model.activation(at: "blocks.0.hook_resid_mid", tokens: [c.tokens])
        XCTAssertEqual(fired.last, "blocks.0.hook_resid_mid")
        XCTAssertThrowsError(try c.model.activation(at: "blocks.0.hook_nonsense", tokens: [c.tokens]))
    }

    func testCompressedRowsRoundTripAndAblate() {
        let dense = Tensor(shape: [3, 5], data: [0, 1.5, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, -1, 0])
        let s = SparseFeatureActivations(dense: dense)
        XCTAssertEqual(s.rowStarts, [0, 2, 2, 4])
        XCTAssertEqual(s.indices, [1, 4, 0, 3])
        XCTAssertEqual(s.dense(), dense)
        XCTAssertEqual(s.column(4), [2, 0, 0])
        XCTAssertEqual(s.column(0), [0, 0, 3])
        let ablated = s.removing(features: [1, 0])
        XCTAssertEqual(ablated.dense(), Tensor(shape: [3, 5], data: [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0]))
        XCTAssertLessThan(s.bytes, 3 * 5 * 4 + 64)
    }
}
