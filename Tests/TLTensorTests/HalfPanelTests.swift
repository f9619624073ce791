// The 16-bit weight panels behind `model NAME dtype=bf16|f16` (Sources/TLKernels/halfgemm.c): the
// packed product against a Double product of the rounded weights, over row counts that take both
// kernel paths (widening inside the tile for ≤ 12 rows, a widened scratch panel above) and widths
// with partial panels; the naive reference kernel against the same Double product; rounding.
// Bound: |c − exact| ≤ 1e-6 · Σ|a·w| + 1e-30 (Float32 accumulation of k ≤ 300 terms; the weights
// themselves are exact in the Double product, so only summation rounding remains).
import XCTest
@testable import TLTensor

final class HalfPanelTests: XCTestCase {
    func roundedWeights(_ w: [Float], _ dtype: WeightDType) -> [Float] { w.map { dtype.rounded($0) } }

    /// Largest |c − exact| / Σ|a·w| of the packed product (and checks C's extra columns untouched).
    func worstError(dtype: WeightDType, m: Int, k: Int, n: Int, seed: UInt64) throws -> Double {
        let lda = k + 3, ldc = n + 5
        let a = pseudoRandom(m * lda, seed: seed), w = pseudoRandom(k * n, seed: seed + 1, scale: 0.1)
        let packed = try XCTUnwrap(PackedMatrix(w, rows: k, columns: n, dtype: dtype))
        XCTAssertEqual(packed.dtype, dtype)
        let r = roundedWeights(w, dtype)
        var c = [Float](repeating: 7, count: m * ldc)
        a.withUnsafeBufferPointer { ap in c.withUnsafeMutableBufferPointer { cp in
            packed.multiply(m: m, a: ap.baseAddress!, lda: lda, c: cp.baseAddress!, ldc: ldc)
        } }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, size = 0.0
                for t in 0..<k {
                    let term = Double(a[i * lda + t]) * Double(r[t * n + j])
                    exact += term; size += abs(term)
                }
                worst = max(worst, abs(Double(c[i * ldc + j]) - exact) / max(size, 1e-30))
            }
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 7, "\(dtype) m=\(m) n=\(n): column \(j) beyond n written") }
        }
        return worst
    }

    func testPackedHalfProductEqualsDoubleProductOfRoundedWeights() throws {
        var worst = 0.0
        for dtype in [WeightDType.bf16, .f16] {
            for (m, k, n) in [(1, 5, 1), (1, 64, 300), (2, 130, 64), (6, 77, 129), (7, 64, 63), (12, 33, 200),
                              (13, 130, 130), (40, 96, 257), (200, 300, 70)] {
                let e = try worstError(dtype: dtype, m: m, k: k, n: n, seed: UInt64(m * 1000 + n))
                XCTAssertLessThanOrEqual(e, 1e-6, "\(dtype) m=\(m) k=\(k) n=\(n)")
                worst = max(worst, e)
            }
        }
        print("16-bit panels: worst |c − exact| / Σ|a·w| = \(worst)")
    }

    /// The product really reads 16-bit values: against the unrounded weights it is off by about
    /// the format's precision (a mutation that kept Float32 weights would make this fail).
    func testProductUsesTheRoundedWeights() throws {
        let k = 64, n = 64
        let a = pseudoRandom(k, seed: 3), w = pseudoRandom(k * n, seed: 4, scale: 0.1)
        for (dtype, least) in [(WeightDType.bf16, 1e-4), (.f16, 1e-6)] {
            let packed = try XCTUnwrap(PackedMatrix(w, rows: k, columns: n, dtype: dtype))
            var c = [Float](repeating: 0, count: n)
            a.withUnsafeBufferPointer { ap in c.withUnsafeMutableBufferPointer { cp in
                packed.multiply(m: 1, a: ap.baseAddress!, lda: k, c: cp.baseAddress!, ldc: n)
            } }
            var off = 0.0
            for j in 0..<n {
                var exact = 0.0
                for t in 0..<k { exact += Double(a[t]) * Double(w[t * n + j]) }
                off = max(off, abs(Double(c[j]) - exact))
            }
            XCTAssertGreaterThan(off, least, "\(dtype): the product should differ from the Float32 one")
        }
    }

    func testReferenceKernelEqualsDoubleProduct() throws {
        for dtype in [WeightDType.bf16, .f16] {
            let (m, k, n) = (3, 70, 45)
            let a = pseudoRandom(m * k, seed: 9), w = pseudoRandom(k * n, seed: 10, scale: 0.1)
            let c = dtype.referenceProduct(m: m, k: k, n: n, a: a, b: w.map { dtype.bits($0) })
            let r = roundedWeights(w, dtype)
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, size = 0.0
                    for t in 0..<k { let term = Double(a[i * k + t]) * Double(r[t * n + j]); exact += term; size += abs(term) }
                    XCTAssertEqual(Double(c[i * n + j]), exact, accuracy: 1e-6 * size, "\(dtype) reference [\(i), \(j)]")
                }
            }
        }
    }

    func testUnpackedPanelsAreTheRoundedMatrix() throws {
        for dtype in WeightDType.allCases {
            let (k, n) = (37, 150)
            let w = pseudoRandom(k * n, seed: 11)
            let packed = try XCTUnwrap(PackedMatrix(w, rows: k, columns: n, dtype: dtype))
            XCTAssertEqual(packed.unpacked(), roundedWeights(w, dtype), "\(dtype)")
            XCTAssertEqual(packed.bytes, k * 192 * dtype.byteWidth, "\(dtype): three 64-column panels")
        }
    }

    func testRounding() {
        // 1/3: bf16 0x3EAB (0.333984375), f16 0x3555 (0.333251953125); ties go to even.
        XCTAssertEqual(WeightDType.bf16.bits(1.0 / 3), 0x3EAB)
        XCTAssertEqual(WeightDType.f16.bits(1.0 / 3), 0x3555)
        XCTAssertEqual(WeightDType.bf16.rounded(1 + 0x1p-8), 1)  // halfway, even below
        XCTAssertEqual(WeightDType.bf16.rounded(1 + 3 * 0x1p-8), 1 + 0x1p-6)  // halfway, even above
        XCTAssertEqual(WeightDType.f16.rounded(65504), 65504)
        XCTAssertEqual(WeightDType.f16.rounded(70000), .infinity)
        XCTAssertEqual(WeightDType.f16.rounded(0x1p-24), 0x1p-24)  // smallest subnormal
        XCTAssertEqual(WeightDType.f16.rounded(0x1p-26), 0)
        XCTAssertTrue(WeightDType.f16.rounded(.nan).isNaN)
        XCTAssertTrue(WeightDType.bf16.rounded(.nan).isNaN)
        XCTAssertEqual(WeightDType.f32.rounded(1.0 / 3), 1.0 / 3)
    }
}
