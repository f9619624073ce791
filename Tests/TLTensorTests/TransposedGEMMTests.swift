// BLAS.timesTransposed (tlk_gemm_nt for few rows, OpenBLAS above) against a Double-precision loop:
// C = A · Bᵀ for B stored [n×k], over the kernel's 2-row and 4-column tiles, the 8-lane k steps and
// their tails, split over workers, with leading dimensions wider than the rows.
import XCTest
@testable import TLTensor

final class TransposedGEMMTests: XCTestCase {
    func check(m: Int, n: Int, k: Int, file: StaticString = #filePath, line: UInt = #line) {
        let lda = k + 3, ldb = k + 5, ldc = n + 2
        let a = pseudoRandom(m * lda, seed: UInt64(m * 1000 + k)), b = pseudoRandom(n * ldb, seed: UInt64(n * 7 + k + 1))
        var c = [Float](repeating: 42, count: m * ldc)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            BLAS.timesTransposed(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc)
        } } }
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for t in 0..<k { s += Double(a[i * lda + t]) * Double(b[j * ldb + t]) }
                XCTAssertEqual(Double(c[i * ldc + j]), s, accuracy: 1e-5 * Double(max(1, k / 64)), "m=\(m) n=\(n) k=\(k) at \(i),\(j)", file: file, line: line)
            }
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 42, "m=\(m) n=\(n) k=\(k): column \(j) beyond n written", file: file, line: line) }
        }
    }

    func testEveryTileShapeAndTail() {
        for m in [1, 2, 3, 11] { for n in [1, 3, 4, 5, 64, 130] { for k in [1, 7, 8, 9, 64] { check(m: m, n: n, k: k) } } }
    }

    func testSplitOverWorkersAndAboveTheSmallRowLimit() {
        check(m: 11, n: 3072 + 3, k: 768)  // enough work for every worker
        check(m: SmallBatchGEMM.maxRows + 1, n: 70, k: 33)  // OpenBLAS's side of the limit
    }
}
