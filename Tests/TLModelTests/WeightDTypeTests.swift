// `dtype=bf16|f16` on the family goldens (tools/goldens/families.py). A checkpoint stored in that
// dtype and loaded unprocessed holds exactly the same weights as in Float32, so its activations and
// logits must match TransformerLens's Float32 goldens at the Float32 tolerance (1e-4 relative to
// each tensor's largest magnitude). With processing, fold_ln and centring round the folded weights
// to the dtype once more, so the logits are compared with a relative tolerance (stated below).
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class WeightDTypeTests: XCTestCase {
    /// Checkpoints stored in 16 bits, by dtype.
    let stored: [(String, WeightDType)] = [("llama-b", .bf16), ("qwen3-b", .bf16), ("gemma2-b", .bf16),
                                           ("pythia-b", .f16), ("qwen2-b", .f16)]

    func golden(_ name: String) throws -> Golden { try Golden(name, root: Golden.familiesRoot) }
    func tokens(_ g: Golden) -> [Int] { g.meta["tokens"] as! [Int] }
    func largest(_ t: Tensor) -> Float { t.data.reduce(0) { $1.isFinite ? max($0, abs($1)) : $0 } }

    func testStoredDTypeUnprocessedMatchesTransformerLens() throws {
        for (name, dtype) in stored {
            let g = try golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none, dtype: dtype)
            XCTAssertEqual(model.dtype, dtype)
            let (logits, cache) = try model.runWithCache(tokens: [tokens(g)])
            for key in g.cacheKeys("unprocessed") {
                let expected = try g.tensor("unprocessed/cache/\(key)")
                guard let mine = cache[key] else { XCTFail("\(name): no \(key)"); continue }
                assertClose(mine, expected, tol: 1e-4 * max(1, largest(expected)), "\(name) \(dtype) \(key)")
            }
            let expected = try g.tensor("unprocessed/logits")
            assertClose(logits, expected, tol: 1e-4 * max(1, largest(expected)), "\(name) \(dtype) logits")
            print("\(name) dtype=\(dtype) unprocessed: max |logits − TL f32| \(logits.maxAbsDifference(expected))")
        }
    }

    /// Processed in bf16 / f16: the folded weights are rounded once more. Worst relative logit error
    /// (to max(1, max |TL|)) measured: bf16 0.004–0.014, f16 0.0005–0.0013; Gemma-2 (√d-scaled
    /// embeddings, soft-caps that bite at 3 on the logits) bf16 0.031–0.063, f16 0.003–0.0044.
    /// Bounds: 2e-2 (bf16, 8 significant bits) and 2e-3 (f16, 11 bits), four times that for Gemma-2.
    func testProcessedInHalfPrecisionIsCloseToFloat32() throws {
        for name in familyModels {
            let g = try golden(name)
            let expected = try g.tensor("processed/logits")
            let scale: Float = name.hasPrefix("gemma") ? 4 : 1
            for (dtype, bound) in [(WeightDType.bf16, 2e-2 * scale), (.f16, 2e-3 * scale)] {
                let model = try HookedTransformer.load(directory: g.hfDirectory, dtype: dtype)
                let logits = try model.run(tokens: [tokens(g)]).logits!
                let relative = logits.maxAbsDifference(expected) / max(1, largest(expected))
                XCTAssertLessThanOrEqual(relative, bound, "\(name) \(dtype)")
                print("\(name) dtype=\(dtype) processed: relative logit error \(relative)")
            }
        }
    }

    /// The per-head products (hook_result, split q/k/v inputs) use the same rounded weights as the
    /// fused ones, and the analyses see them through floatLayer.
    func testPerHeadPathsAndFloatLayerUseTheRoundedWeights() throws {
        let g = try golden("llama-b")
        let f32 = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
        let bf16 = try HookedTransformer.load(directory: g.hfDirectory, processing: .none, dtype: .bf16)
        // A BF16 checkpoint unprocessed: the widened matrices are the Float32 model's exactly.
        for l in 0..<f32.config.nLayers {
            let a = f32.floatLayer(l), b = bf16.floatLayer(l)
            XCTAssertEqual(a.wQKV, b.wQKV); XCTAssertEqual(a.wO, b.wO); XCTAssertEqual(a.wIn, b.wIn)
            XCTAssertEqual(a.wGate, b.wGate); XCTAssertEqual(a.wOut, b.wOut)
            XCTAssertTrue(bf16.weights.layers[l].wQKV.isEmpty, "no Float32 copy kept")
        }
        let plain = try bf16.run(tokens: [tokens(g)]).logits!
        bf16.optionalHooks = OptionalHooks(attnResult: true, splitQKVInput: true)
        let perHead = try bf16.run(tokens: [tokens(g)]).logits!
        assertClose(perHead, plain, tol: 1e-4 * max(1, largest(plain)), "per-head products in bf16")
        XCTAssertEqual(try bf16.parameter("blocks.0.attn.W_O"), try f32.parameter("blocks.0.attn.W_O"))
    }

    func testMemoryAccounting() throws {
        let g = try golden("llama-a")
        let f32 = try HookedTransformer.load(directory: g.hfDirectory)
        let bf16 = try HookedTransformer.load(directory: g.hfDirectory, dtype: .bf16)
        XCTAssertEqual(bf16.totalParameters, f32.totalParameters)
        let c = f32.config, d = c.dModel
        let matrices = c.nLayers * (d * c.qkvWidth + c.nHeads * c.dHead * d + 3 * d * c.dMLP)
        XCTAssertEqual(bf16.halfMatrixBytes, matrices * 2)
        // The panels round each width up to 64 columns.
        func padded(_ rows: Int, _ columns: Int) -> Int { rows * ((columns + 63) / 64 * 64) }
        let panels = c.nLayers * (padded(d, c.qkvWidth) + padded(c.nHeads * c.dHead, d) + 2 * padded(d, c.dMLP) + padded(c.dMLP, d))
        // W_U stays Float32, kept as its panels alone (read in place its few-row products crawl).
        let unembedPadding = (padded(d, c.dVocab) - d * c.dVocab) * 4
        XCTAssertEqual(bf16.weightBytes, f32.weightBytes - matrices * 4 + panels * 2 + unembedPadding, "each block matrix weight: 4 bytes → 2")
        XCTAssertEqual(bf16.panelBytes, 0, "no second Float32 copy of anything")
        XCTAssertTrue(bf16.unembedMatrix.panelsOnly && bf16.weights.wU.isEmpty, "W_U as Float32 panels only")
        XCTAssertEqual(try bf16.parameter("unembed.W_U"), try f32.parameter("unembed.W_U"))
    }
}
