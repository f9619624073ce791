// The AMX bf16 products behind `set matmul=high|medium`, against Double loops. Bounds are relative
// to Σ|a·b| (the size of the terms, which is what rounding errors scale with). Medium rounds each
// operand to bf16 once (relative 2⁻⁹ each): |error| ≤ 2⁻⁸·Σ|a·b|. High drops lo·lo and rounds
// each lo to bf16 (about 2⁻¹⁸ each): |error| ≤ 2·10⁻⁵·Σ|a·b| with room for Float32 summation.
// Measured here: high 1.4–3.6·10⁻⁶, medium 0.7–1.4·10⁻³. Skipped on CPUs without AMX-BF16.
import XCTest
@testable import TLTensor

final class ReducedPrecisionTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(AMX.available, "this CPU has no AMX-BF16 (or the kernel did not grant the tile state)")
    }

    /// Largest |c − exact| / Σ|a·b| over the output, and whether columns beyond n were left alone.
    func worstRelativeError(m: Int, k: Int, n: Int, precision: MatmulPrecision, seed: UInt64) throws -> Double {
        let lda = k + 3, ldc = n + 5
        let a = pseudoRandom(m * lda, seed: seed), w = pseudoRandom(k * n, seed: seed + 1, scale: 0.1)
        let packed = try XCTUnwrap(BF16Matrix(w, rows: k, columns: n, withLo: precision == .high))
        XCTAssertEqual(packed.hasLo, precision == .high, "medium packs no lo halves")
        var c = [Float](repeating: 7, count: m * ldc)
        a.withUnsafeBufferPointer { ap in c.withUnsafeMutableBufferPointer { cp in
            packed.multiply(m: m, a: ap.baseAddress!, lda: lda, c: cp.baseAddress!, ldc: ldc, precision: precision)
        } }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, size = 0.0
                for t in 0..<k {
                    let term = Double(a[i * lda + t]) * Double(w[t * n + j])
                    exact += term
                    size += abs(term)
                }
                worst = max(worst, abs(Double(c[i * ldc + j]) - exact) / max(size, 1e-30))
            }
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 7, "m=\(m) n=\(n): column \(j) beyond n written") }
        }
        return worst
    }

    func testBothPrecisionsOverTileEdges() throws {
        // Rows, k and columns that are and are not multiples of the 16 × 32 tiles and the 32-row,
        // 32-column blocks; 300 rows cross the kernel's row chunk; one row is generation's case.
        for (m, k, n) in [(1, 64, 32), (5, 33, 17), (16, 64, 40), (20, 70, 48), (37, 100, 70), (64, 256, 96), (300, 96, 48), (3, 5, 1)] {
            let high = try worstRelativeError(m: m, k: k, n: n, precision: .high, seed: UInt64(m * 31 + k))
            let medium = try worstRelativeError(m: m, k: k, n: n, precision: .medium, seed: UInt64(m * 31 + k))
            XCTAssertLessThanOrEqual(high, 2e-5, "high (bf16×3), m=\(m) k=\(k) n=\(n)")
            XCTAssertLessThanOrEqual(medium, 3.9e-3, "medium (bf16), m=\(m) k=\(k) n=\(n)")
            // The lo terms must matter: medium alone is far coarser than high on random data.
            if k >= 32 { XCTAssertGreaterThan(medium, 20 * high, "m=\(m) k=\(k) n=\(n): high should be much finer than medium") }
        }
    }

    func testPrecisionIsTheBoundEngineContexts() throws {
        for p in MatmulPrecision.allCases {
            EngineContext(matmul: p).run { XCTAssertEqual(MatmulPrecision.current, p) }
        }
        XCTAssertEqual(MatmulPrecision.current, EngineContext.processDefault.matmul, "nothing leaks out of a run")
    }

    func testEnvironmentIsReadIntoTheContextOnlyWhereAsked() {
        let parsed = EngineContext(environment: ["TLSH_SMALL_GEMM": "0", "TLSH_PACKED_ROWS": "96", "TLSH_HUGE_PAGES": "0",
                                                 "TLSH_AMX": "0", "TLSH_MEMORY_LIMIT_BYTES": "12345", "TLSH_MATMUL": "medium"])
        XCTAssertEqual(parsed.kernels.smallGEMMMaxRows, 0)
        XCTAssertEqual(parsed.kernels.packedMaxRows, 96)
        XCTAssertFalse(parsed.kernels.hugePages)
        XCTAssertFalse(parsed.kernels.amx)
        XCTAssertEqual(parsed.memoryLimitBytes, 12345)
        XCTAssertEqual(parsed.matmul, .highest, "medium needs AMX, which TLSH_AMX=0 turned off")
        XCTAssertEqual(EngineContext(environment: [:]), EngineContext(), "no variables: the defaults")
        parsed.run { XCTAssertEqual(PackedMatrix.maxRows, 96) }
    }
}
