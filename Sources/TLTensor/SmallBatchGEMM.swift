// Matrix products with few rows (generation's one token, short prompts, the suffixes patching
// recomputes): x[m×k] · W[k×n]. These only have to stream W from memory once, but OpenBLAS repacks
// W on every call, which costs more than the product itself. tlk_gemm_nn (Sources/TLKernels/gemm.c)
// reads W in place, 64 columns at a time, keeping each panel in cache across the row tiles; the
// workers take disjoint column ranges.
import Foundation
internal import TLKernels

enum SmallBatchGEMM {
    /// Largest row count routed here; above it OpenBLAS's packed kernels win (docs/PERFORMANCE.md).
    /// The engine context's `kernels.smallGEMMMaxRows` (`TLSH_SMALL_GEMM=N`; 0 routes everything to
    /// OpenBLAS).
    static var maxRows: Int { EngineContext.current.kernels.smallGEMMMaxRows }

    /// C[m×n] = A[m×k] · B[k×n], all row-major with leading dimensions; C is overwritten.
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Split columns over the workers in whole 64-column panels once there is enough work to pay
        // for the hand-off (about 100 µs of single-core work).
        let workers = m * n * k >= 1 << 21 ? Parallel.width : 1
        Parallel.forEachChunk(of: (n + 63) / 64, chunks: workers) { panels in
            tlk_gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, panels.lowerBound * 64, min(n, panels.upperBound * 64))
        }
    }
}
