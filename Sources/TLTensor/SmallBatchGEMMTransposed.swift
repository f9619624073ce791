// x[m×k] · Wᵀ for a row-major W[n×k] and few rows m: the backward pass's products with a weight's
// transpose. OpenBLAS repacks W on every call (in the attribution benchmark's profile its copy
// routine took two thirds as long as its kernel); tlk_gemm_nt (Sources/TLKernels/gemm_nt.c) reads
// W's rows in place, each once. The workers take disjoint ranges of W's rows (C's columns).
import Foundation
internal import TLKernels

extension BLAS {
    /// C[m×n] = A[m×k] · Bᵀ for B [n×k] row-major (leading dimension ldb); C is overwritten. Up to
    /// the small-product row limit (`kernels.smallGEMMMaxRows`) tlk_gemm_nt, above it OpenBLAS.
    public static func timesTransposed(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                       b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard m <= SmallBatchGEMM.maxRows, k > 0 else {
            sgemm(transB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        // Split W's rows over the workers once there is enough work to pay for the hand-off.
        let workers = m * n * k >= 1 << 21 ? Parallel.width : 1
        Parallel.forEachChunk(of: (n + 63) / 64, chunks: workers) { units in
            tlk_gemm_nt(m, n, k, a, lda, b, ldb, c, ldc, units.lowerBound * 64, min(n, units.upperBound * 64))
        }
    }
}
