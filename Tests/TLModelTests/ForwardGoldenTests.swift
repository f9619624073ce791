// The engine against TransformerLens 3.9: cache keys in order, every cache entry, logits, weights,
// hooks, layer ranges and padding, for three fixture models (tied/untied, F32/F16, both key layouts).
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class ForwardGoldenTests: XCTestCase {
    /// Activations and logits: float32 with different summation order than torch.
    let tol: Float = 1e-4

    func testCacheKeysAndValuesMatchTransformerLens() throws {
        for name in goldenModels {
            let g = try Golden(name)
            for (kind, processing) in [("processed", ProcessingOptions.default), ("unprocessed", ProcessingOptions.none)] {
                let model = try HookedTransformer.load(directory: g.hfDirectory, processing: processing)
                let (logits, cache) = try model.runWithCache(tokens: [g.seqA])
                XCTAssertEqual(cache.keys, g.cacheKeys(kind), "\(name) \(kind): ordered cache keys")
                XCTAssertEqual(model.hookNames, g.cacheKeys(kind), "\(name) \(kind): hook name list")
                assertClose(logits, try g.tensor("\(kind)/logits"), tol: tol, "\(name) \(kind) logits")
                for key in cache.keys {
                    assertClose(cache[key]!, try g.tensor("\(kind)/cache/\(key)"), tol: tol, "\(name) \(kind) \(key)")
                }
                // A plain forward gives the same logits as the caching one.
                let plain = try model.run(tokens: [g.seqA]).logits!
                XCTAssertEqual(plain.data, logits.data, "\(name) \(kind): caching must not change the numbers")
            }
        }
    }

    func testLargeBatchesMatchTheGoldenLogitsOnPanelsAndThroughOpenBLAS() throws {
        // A batch of copies of seq_a long enough for the panel products to split rows into several
        // units, on three layouts: both copies (panels and row-major arrays); too little memory for
        // two, so the panels are the only copy and take every product; and panels turned off
        // (packedMaxRows 0), so OpenBLAS reads the arrays. Every copy must give TransformerLens's
        // logits each way.
        for name in goldenModels {
            let g = try Golden(name)
            let copies = 2 * PackedMatrix.streamingRows / g.seqA.count + 2
            let expected = try g.tensor("processed/logits")
            let layouts: [(String, EngineContext)] = [("two copies", EngineContext.current), ("panels only", EngineContext(memoryLimitBytes: 1000)),
                                                      ("OpenBLAS", EngineContext.current.with { $0.kernels.packedMaxRows = 0 })]
            for (layout, context) in layouts {
                let model = try context.run { try HookedTransformer.load(directory: g.hfDirectory) }
                XCTAssertEqual(model.panels(.qkv(0)) != nil, layout != "OpenBLAS", "\(name): panels with \(layout)")
                XCTAssertEqual(model.blocksArePanelsOnly, layout == "panels only", "\(name): \(layout)")
                let run = { try model.run(tokens: Array(repeating: g.seqA, count: copies)).logits! }
                let logits = try layout == "OpenBLAS" ? context.run(run) : run()
                for b in [0, copies / 2, copies - 1] {
                    assertClose(try logits.gather(axis: 0, indices: [b]), expected, tol: tol,
                                "\(name) copy \(b) of a \(copies)-sequence batch, \(layout)")
                }
            }
        }
    }

    func testReducedMatmulPrecisionsStayCloseToTransformerLens() throws {
        // `set matmul=high|medium` (AMX bf16 products): the same golden logits, to looser stated
        // tolerances, and at high the same top token at every position (these random fixture
        // models have near-ties that medium's 8 bits can flip). A batch past streamingRows makes
        // "high" use the tiles too (below it, it keeps the Float32 panels). Measured here: high
        // 0.6–1.7·10⁻⁴, medium 0.03–0.11 (Float32 stays under 10⁻⁴).
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        for name in goldenModels {
            let g = try Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            let expected = try g.tensor("processed/logits")
            let copies = PackedMatrix.streamingRows / g.seqA.count + 2
            var worst: [MatmulPrecision: Float] = [:]
            for (precision, tolerance) in [(MatmulPrecision.high, Float(1e-3)), (.medium, Float(0.25))] {
                let logits = try EngineContext(matmul: precision).run {
                    try model.run(tokens: Array(repeating: g.seqA, count: copies)).logits!
                }
                let first = try logits.gather(axis: 0, indices: [0])
                assertClose(first, expected, tol: tolerance, "\(name) matmul=\(precision)")
                worst[precision] = zip(first.data, expected.data).map { abs($0 - $1) }.max() ?? 0
                let V = expected.shape.last!
                for pos in 0..<g.seqA.count where precision == .high {
                    let mine = first.data[(pos * V)..<((pos + 1) * V)], theirs = expected.data[(pos * V)..<((pos + 1) * V)]
                    XCTAssertEqual(mine.indices.max { mine[$0] < mine[$1] }, theirs.indices.max { theirs[$0] < theirs[$1] },
                                   "\(name) matmul=\(precision): top token at position \(pos)")
                }
            }
            // The reduced paths really ran: medium is visibly coarser than high.
            XCTAssertGreaterThan(worst[.medium]!, 4 * worst[.high]!, "\(name): medium vs high")
        }
    }

    func testReducedPrecisionStaysFloat32WhereTheCopiesWouldNotFit() throws {
        // With less memory than the bf16 copies need (a 1 kB cap), the products stay Float32:
        // the same logits bit for bit, and nothing packed.
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        let g = try Golden(goldenModels[0])
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        let float32 = try EngineContext(matmul: .highest).run { try model.run(tokens: [g.seqA]).logits! }
        try EngineContext(matmul: .medium, memoryLimitBytes: 1000).run {
            XCTAssertFalse(model.reducedPrecisionFits(.medium))
            XCTAssertEqual(model.reducedPrecisionBytes(.high), 2 * model.reducedPrecisionBytes(.medium))
            XCTAssertEqual(try model.run(tokens: [g.seqA]).logits!.data, float32.data)
        }
        XCTAssertEqual(model.reducedCopies, 0, "no bf16 copy may be built")
    }

    func testProcessedWeightsMatchTransformerLensLayout() throws {
        for name in goldenModels {
            let g = try Golden(name)
            for (kind, processing) in [("processed", ProcessingOptions.default), ("unprocessed", ProcessingOptions.none)] {
                let model = try HookedTransformer.load(directory: g.hfDirectory, processing: processing)
                let prefix = "\(kind)/weights/"
                var checked = 0
                for key in g.file.tensors.keys where key.hasPrefix(prefix) {
                    let tlKey = String(key.dropFirst(prefix.count))
                    let mine = try model.parameter(tlKey)
                    assertClose(mine, try g.tensor(key), tol: 1e-5, "\(name) \(kind) \(tlKey)")
                    checked += 1
                }
                if name != "tiny-b" { XCTAssertGreaterThan(checked, 10, "\(name) \(kind): weight goldens present") }
            }
        }
    }

    func testHooksModifyActivationsLikeTransformerLens() throws {
        for name in goldenModels {
            let g = try Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            var o = RunOptions()
            o.hooks = [
                ForwardHook(name: "blocks.0.attn.hook_v") { v, _ in
                    let row = v.shape[2] * v.shape[3]
                    for i in 0..<row { v.data[3 * row + i] *= 0.5 }
                },
                ForwardHook(name: "blocks.1.hook_resid_pre") { r, _ in
                    let d = r.shape[2]
                    for i in 0..<d { r.data[2 * d + i] = 0 }
                },
            ]
            let logits = try model.run(tokens: [g.seqA], options: o).logits!
            assertClose(logits, try g.tensor("processed/hooked/logits"), tol: tol, "\(name) hooked logits")
            // Run-scoped hooks are gone afterwards.
            assertClose(try model.run(tokens: [g.seqA]).logits!, try g.tensor("processed/logits"), tol: tol, "\(name) after hooks")
        }
    }

    func testHookThatUnmasksAFutureKeyIsHonoured() throws {
        // A hook on hook_attn_scores that gives query 0 a finite score for key 1 (masked until
        // then): as in TransformerLens, softmax and pattern·v then cover that key, so query 0's
        // pattern splits between keys 0 and 1 and its z mixes their values.
        let g = try Golden(goldenModels[0])
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        var o = RunOptions()
        o.hooks = [ForwardHook(name: "blocks.0.attn.hook_attn_scores") { s, _ in
            s.data[1] = s.data[0]  // batch 0, head 0, query 0: key 1 gets key 0's score
        }]
        o.cacheFilter = { $0 == "blocks.0.attn.hook_pattern" || $0 == "blocks.0.attn.hook_z" || $0 == "blocks.0.attn.hook_v" }
        let out = try model.run(tokens: [g.seqA], options: o)
        let pattern = out.cache["blocks.0.attn.hook_pattern"]!, z = out.cache["blocks.0.attn.hook_z"]!, v = out.cache["blocks.0.attn.hook_v"]!
        XCTAssertEqual(pattern.data[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(pattern.data[1], 0.5, accuracy: 1e-6)
        let dh = z.shape[3], hd = z.shape[2] * dh
        for i in 0..<dh {  // head 0, query 0: z = (v[0] + v[1]) / 2
            XCTAssertEqual(z.data[i], (v.data[i] + v.data[hd + i]) / 2, accuracy: 1e-5)
        }
    }

    func testStartAndStopAtLayer() throws {
        for name in goldenModels {
            let g = try Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            var stop = RunOptions(); stop.stopAtLayer = 1
            let resid = try model.run(tokens: [g.seqA], options: stop).residual!
            assertClose(resid, try g.tensor("processed/stop_at_layer/resid"), tol: tol, "\(name) stop_at_layer")
            var start = RunOptions(); start.startAtLayer = 1
            let cached = try g.tensor("processed/cache/blocks.1.hook_resid_pre")
            let logits = try model.run(residual: cached, options: start).logits!
            assertClose(logits, try g.tensor("processed/start_at_layer/logits"), tol: tol, "\(name) start_at_layer")
        }
    }

    func testRightPaddedBatchWithAttentionMask() throws {
        for name in goldenModels {
            let g = try Golden(name)
            let model = try HookedTransformer.load(directory: g.hfDirectory)
            let bos = g.int("bos")
            let tokens = [g.seqA, Array(g.seqB.prefix(7)) + Array(repeating: bos, count: 5)]
            var o = RunOptions()
            o.attentionMask = [Array(repeating: 1, count: 12), Array(repeating: 1, count: 7) + Array(repeating: 0, count: 5)]
            let logits = try model.run(tokens: tokens, options: o).logits!
            assertClose(logits, try g.tensor("processed/padded/logits"), tol: tol, "\(name) padded batch")
        }
    }

    func testOptionalHooks() throws {
        let g = try Golden("tiny-a")
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        model.optionalHooks = OptionalHooks(attnResult: true, mlpIn: true, attnIn: true, splitQKVInput: true)
        let (logits, cache) = try model.runWithCache(tokens: [g.seqA])
        assertClose(logits, try g.tensor("processed/logits"), tol: tol, "logits with optional hooks on")
        XCTAssertEqual(cache.keys, g.cacheKeys("processed_optional"), "firing order with every optional hook on")
        for l in 0..<model.config.nLayers {
            for key in ["blocks.\(l).attn.hook_result", "blocks.\(l).hook_mlp_in", "blocks.\(l).hook_attn_in",
                        "blocks.\(l).hook_q_input", "blocks.\(l).hook_k_input", "blocks.\(l).hook_v_input"] {
                assertClose(cache[key]!, try g.tensor("processed/optional_cache/\(key)"), tol: tol, key)
            }
        }
        // The relative order of the enabled optional hooks matches TransformerLens's firing order.
        let tlOrder = g.cacheKeys("processed_optional").filter { cache.keys.contains($0) }
        XCTAssertEqual(cache.keys, tlOrder)
    }
}
