// Matrix products with very few rows (one token at a time in generation, the short suffixes that
// patching recomputes): x[m×k] · W[k×n] with m ≤ 4. These only have to stream W from memory once,
// but OpenBLAS repacks W on every call, which costs more than the product. This kernel walks W in
// storage order — row i of W is added, scaled by x[r, i], into each output row — so W streams
// sequentially (prefetch-friendly, one pass) while the output block stays in cache. Two threads
// take alternate halves of the columns. Each output is a k-long sum in ascending k.
import Foundation

enum SmallBatchGEMM {
    /// Largest row count routed here; above it OpenBLAS's packed kernels win.
    /// `TLSH_SMALL_GEMM=0` routes everything to OpenBLAS (for comparisons).
    static let maxRows = ProcessInfo.processInfo.environment["TLSH_SMALL_GEMM"] == "0" ? 0 : 4

    /// C[m×n] = A[m×k] · B[k×n], all row-major with leading dimensions; C is overwritten.
    static func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let workers = n >= 2048 ? 2 : 1
        // Column blocks small enough that m output rows of one block stay in L1/L2.
        let block = max(64, min(n, 16384 / max(m, 1)))
        let (ai, bi, ci) = (Int(bitPattern: a), Int(bitPattern: b), Int(bitPattern: c))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let a = UnsafePointer<Float>(bitPattern: ai)!, b = UnsafePointer<Float>(bitPattern: bi)!
            let c = UnsafeMutablePointer<Float>(bitPattern: ci)!
            let first = n * w / workers, last = n * (w + 1) / workers
            var start = first
            while start < last {
                let width = min(block, last - start)
                for r in 0..<m { (c + r * ldc + start).initialize(repeating: 0, count: width) }
                for i in 0..<k {
                    let row = b + i * ldb + start
                    for r in 0..<m {
                        axpy(a[r * lda + i], row, c + r * ldc + start, width)
                    }
                }
                start += width
            }
        }
    }

    /// y[0..<n] += alpha · x[0..<n]
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = SIMD16<Float>(repeating: alpha)
        var j = 0
        while j + 16 <= n {
            let xv = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
            let yv = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: yv + a * xv, as: SIMD16<Float>.self)
            j += 16
        }
        while j < n { y[j] += alpha * x[j]; j += 1 }
    }
}
