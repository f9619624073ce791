// WeightMatrix: every route of every product (OpenBLAS, Float32 panels, 16-bit panels, AMX bf16 at
// high and medium where the CPU has it; full width, per-head column and row blocks, transposed)
// against its naive `referenceProduct`, with the route asserted so that no case silently tests
// another path.
import XCTest
@testable import TLModel
import TLTensor

final class WeightMatrixTests: XCTestCase {
    // W [70, 130]: a partial last panel (130 = 2·64 + 2) and rows that are not a tile multiple.
    let rows = 70, columns = 130

    func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
    }

    func matrix(dtype: WeightDType = .f32, panels: Bool = true, panelsOnly: Bool = false) -> WeightMatrix {
        WeightMatrix(random(rows * columns, seed: 7), rows: rows, columns: columns, dtype: dtype, panels: panels, panelsOnly: panelsOnly,
                     permission: ReducedPrecisionPermission(config: ModelConfig(nLayers: 1, dModel: 70, nHeads: 7, dMLP: 130, nCtx: 16, dVocab: 130)))
    }

    /// Largest |a − b| relative to the largest |b|.
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        let scale = b.map(abs).max() ?? 1
        return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-6)
    }

    /// x·W for `m` rows through `multiply`, checked against the reference.
    func checkFullWidth(_ w: WeightMatrix, m: Int, route: WeightMatrix.Route, tolerance: Float, _ what: String) {
        XCTAssertEqual(w.route(rows: m), route, what)
        let x = random(m * rows, seed: UInt64(m))
        var out = [Float](repeating: .nan, count: m * columns)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in w.multiply(m: m, a: xs.baseAddress!, lda: rows, c: o.baseAddress!, ldc: columns) }
        }
        let error = relativeError(out, w.referenceProduct(x, m: m))
        XCTAssertLessThan(error, tolerance, "\(what), m = \(m)")
    }

    func testFullWidthProductsOnEveryRoute() throws {
        let float = matrix()
        // Panels take every row count when packedMaxRows allows (the default with AVX-512; without
        // it, up to 48 rows), and their tiles are right on either kind of CPU.
        EngineContext.current.with { $0.kernels.packedMaxRows = Int.max }.run {
            for m in [1, 5, 48, 200] { checkFullWidth(float, m: m, route: .panels, tolerance: 1e-6, "Float32 panels") }
        }
        XCTAssertEqual(EngineContext.KernelChoices().packedMaxRows, EngineContext.KernelChoices.cpuHasAVX512 ? Int.max : 48)
        // Without panels (too little memory), or past packedMaxRows, OpenBLAS reads the floats.
        for m in [1, 5, 200] { checkFullWidth(matrix(panels: false), m: m, route: .openBLAS, tolerance: 1e-6, "no panels") }
        EngineContext.current.with { $0.kernels.packedMaxRows = 8 }.run {
            checkFullWidth(float, m: 5, route: .panels, tolerance: 1e-6, "panels below packedMaxRows")
            checkFullWidth(float, m: 20, route: .openBLAS, tolerance: 1e-6, "OpenBLAS past packedMaxRows")
        }
        // 16-bit panels are the only copy: every row count and precision uses them, against the
        // rounded weights (the reference reads the same widened values).
        for dtype in [WeightDType.bf16, .f16] {
            let half = matrix(dtype: dtype)
            XCTAssertTrue(half.floats.isEmpty, "\(dtype) keeps no Float32 copy")
            for m in [1, 5, 200] { checkFullWidth(half, m: m, route: .panels, tolerance: 1e-5, "\(dtype) panels") }
            if AMX.available {
                EngineContext(matmul: .medium).run { checkFullWidth(half, m: 200, route: .panels, tolerance: 1e-5, "\(dtype) ignores matmul=") }
            }
        }
        // Float32 panels kept as the only copy (a model too big for two): every row count uses
        // them, whatever packedMaxRows says, and the Float32 form unpacks to the same floats.
        let only = matrix(panelsOnly: true)
        XCTAssertTrue(only.floats.isEmpty && only.panelsOnly, "panelsOnly keeps no row-major copy")
        XCTAssertEqual(only.float32, float.float32)
        // A single column (a token's unembedding direction) from each form, without unpacking.
        for j in [0, 1, 63, 64, columns - 1] {
            let expected = (0..<rows).map { float.float32[$0 * columns + j] }
            XCTAssertEqual(float.column(j), expected, "column \(j), Float32")
            XCTAssertEqual(only.column(j), expected, "column \(j), panels only")
            let half = matrix(dtype: .bf16)
            XCTAssertEqual(half.column(j), (0..<rows).map { half.float32[$0 * columns + j] }, "column \(j), bf16 panels")
        }
        EngineContext.current.with { $0.kernels.packedMaxRows = 8 }.run {
            for m in [1, 5, 200] { checkFullWidth(only, m: m, route: .panels, tolerance: 1e-6, "Float32 panels only") }
        }
        // The half-precision panels really round: compared with the Float32 matrix they differ.
        XCTAssertGreaterThan(relativeError(matrix(dtype: .bf16).float32, float.float32), 1e-4)
    }

    func testReducedPrecisionRoutesOnAMX() throws {
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16")
        let float = matrix()
        EngineContext(matmul: .high).run {
            // "high" keeps products with few rows on the Float32 panels (both stream as many bytes).
            checkFullWidth(float, m: 5, route: .panels, tolerance: 1e-6, "high, few rows")
            checkFullWidth(float, m: 200, route: .tiles(.high), tolerance: 1e-4, "high, many rows")
            checkFullWidth(matrix(panels: false), m: 5, route: .tiles(.high), tolerance: 1e-4, "high without panels")
        }
        XCTAssertTrue(float.hasReducedCopy)
        EngineContext(matmul: .medium).run {
            checkFullWidth(float, m: 5, route: .tiles(.medium), tolerance: 2e-2, "medium")
            checkFullWidth(float, m: 200, route: .tiles(.medium), tolerance: 2e-2, "medium")
        }
        // Where the copies would not fit (1 kB), the products stay Float32 and nothing is packed.
        let capped = matrix()
        EngineContext(matmul: .medium, memoryLimitBytes: 1000).run {
            checkFullWidth(capped, m: 5, route: .panels, tolerance: 1e-6, "medium without room")
        }
        XCTAssertFalse(capped.hasReducedCopy)
    }

    func testTransposedAndPerHeadBlocksMatchTheReference() {
        for dtype in [WeightDType.f32, .bf16, .f16] {
            let w = matrix(dtype: dtype), m = 9
            // dY·Wᵀ over the full width.
            let dY = random(m * columns, seed: 3)
            var out = [Float](repeating: .nan, count: m * rows)
            dY.withUnsafeBufferPointer { g in
                out.withUnsafeMutableBufferPointer { o in w.multiplyTransposed(m: m, a: g.baseAddress!, lda: columns, c: o.baseAddress!, ldc: rows) }
            }
            XCTAssertLessThan(relativeError(out, w.referenceProduct(dY, m: m, transposed: true)), 1e-5, "\(dtype) transposed")

            // Column blocks (W_Q[h] in W_QKV: 3 heads of 40 from column 10) and row blocks (W_O[h]:
            // 7 heads of 10 rows), each plain and transposed, on dense per-head inputs.
            let cases: [(WeightMatrix.Blocks, String)] = [(.columns(from: 10, width: 40, count: 3), "columns"),
                                                          (.rows(width: 10, count: 7), "rows")]
            for (blocks, name) in cases {
                for transposed in [false, true] {
                    let blockRows = blocks.axis == .columns ? rows : blocks.width
                    let blockColumns = blocks.axis == .columns ? blocks.width : columns
                    let (k, n) = transposed ? (blockColumns, blockRows) : (blockRows, blockColumns)
                    let x = random(m * k * blocks.count, seed: 11)
                    var out = [Float](repeating: .nan, count: m * n * blocks.count)
                    x.withUnsafeBufferPointer { xs in
                        out.withUnsafeMutableBufferPointer { o in
                            w.multiplyBlocks(blocks, transposed: transposed, m: m, a: xs.baseAddress!, aStride: k, lda: k * blocks.count,
                                             c: o.baseAddress!, cStride: n, ldc: n * blocks.count)
                        }
                    }
                    let expected = w.referenceProduct(x, m: m, blocks: blocks, transposed: transposed)
                    XCTAssertLessThan(relativeError(out, expected), 1e-5, "\(dtype) \(name) blocks, transposed: \(transposed)")
                }
            }

            // A few listed columns (logits of chosen tokens).
            let x = random(m * rows, seed: 5), picked = [129, 0, 64]
            let full = w.referenceProduct(x, m: m)
            let expected = (0..<m).flatMap { r in picked.map { full[r * columns + $0] } }
            XCTAssertLessThan(relativeError(w.product(Tensor(shape: [m, rows], data: x), columns: picked), expected), 1e-5, "\(dtype) picked columns")
            // ... and their gradient: g [m, 3] · W[:, picked]ᵀ, added to what is there.
            let g = random(m * picked.count, seed: 13)
            var sparse = [Float](repeating: 1, count: m * rows)
            g.withUnsafeBufferPointer { gs in
                sparse.withUnsafeMutableBufferPointer { o in
                    for r in 0..<m { w.addTransposed(columns: picked, gs.baseAddress! + r * picked.count, to: o.baseAddress! + r * rows) }
                }
            }
            var dense = [Float](repeating: 0, count: m * columns)
            for r in 0..<m { for (c, col) in picked.enumerated() { dense[r * columns + col] = g[r * picked.count + c] } }
            let viaFull = w.referenceProduct(dense, m: m, transposed: true).map { $0 + 1 }
            XCTAssertLessThan(relativeError(sparse, viaFull), 1e-5, "\(dtype) picked columns, transposed")
        }
    }

    func testTheReferenceIsTheProductItClaims() {
        // A 2×3 W by hand: the reference must not share a bug with the routes it checks.
        let w = WeightMatrix([1, 2, 3, 4, 5, 6], rows: 2, columns: 3, panels: false)
        XCTAssertEqual(w.referenceProduct([1, 10], m: 1), [41, 52, 63])
        XCTAssertEqual(w.referenceProduct([1, 10, 100], m: 1, transposed: true), [321, 654])
        // Per block its own input: columns 1 and 2 of W; rows 0 and 1 of W, transposed.
        XCTAssertEqual(w.referenceProduct([1, 10, 1, 10], m: 1, blocks: .columns(from: 1, width: 1, count: 2)), [52, 63])
        XCTAssertEqual(w.referenceProduct([1, 10, 100, 1, 10, 100], m: 1, blocks: .rows(width: 1, count: 2), transposed: true), [321, 654])
    }
}
