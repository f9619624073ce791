// The only caller of OpenBLAS in the package. Everything above works with Swift buffers.
internal import CBLAS

/// Matrix multiplication and BLAS thread control.
public enum BLAS {
    /// The threads numeric work uses: the current `EngineContext`'s. OpenBLAS itself stays on one
    /// thread; large products are split over `Parallel`'s workers instead (see Parallel.swift).
    public static var threads: Int { Parallel.width }
    /// The OpenBLAS kernel set in use (e.g. "SkylakeX"), chosen once before the first BLAS call;
    /// see BLASKernels for when and why it differs from OpenBLAS's own choice.
    public static var coreName: String { BLASKernels.coreName }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, with leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if !transA && !transB && alpha == 1 && beta == 0 && m <= SmallBatchGEMM.maxRows && n >= 16 {
            // Few rows against a matrix: read it in place instead of letting OpenBLAS repack it.
            SmallBatchGEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
            return
        }
        _ = BLASKernels.coreName
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        // Large products: one single-threaded OpenBLAS call per worker on a block of C's rows
        // (or of its columns when there are few rows), each block a multiple of 64.
        let workers = m * n * k >= 1 << 22 ? Parallel.width : 1
        let byRows = m >= 128 * workers
        let extent = byRows ? m : n
        Parallel.forEachChunk(of: (extent + 63) / 64, chunks: workers) { units in
            let first = units.lowerBound * 64, last = min(extent, units.upperBound * 64)
            if byRows {  // rows [first, last) of op(A) and C
                let aBlock = transA ? a + first : a + first * lda
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(last - first), Int32(n), Int32(k), alpha, aBlock, Int32(lda), b, Int32(ldb),
                            beta, c + first * ldc, Int32(ldc))
            } else {  // columns [first, last) of op(B) and C
                let bBlock = transB ? b + first * ldb : b + first
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(last - first), Int32(k), alpha, a, Int32(lda), bBlock, Int32(ldb),
                            beta, c + first, Int32(ldc))
            }
        }
    }

    /// y[m] = alpha · op(A) · x + beta · y for a row-major A[rows×cols].
    public static func sgemv(trans: Bool = false, rows: Int, cols: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                             beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        guard rows > 0, cols > 0 else { return }
        _ = BLASKernels.coreName
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols), alpha, a,
                    Int32(lda), x, 1, beta, y, 1)
    }
}

extension Tensor {
    /// Matrix product over the last two axes with leading axes broadcast-free (equal or absent on
    /// `other`): [..., m, k] @ [k, n] or [..., m, k] @ [..., k, n].
    public func matmul(_ other: Tensor) throws -> Tensor {
        guard rank >= 2, other.rank >= 2 else {
            if rank >= 1 && other.rank == 1 {  // matrix-vector
                return try matmul(other.reshaped([other.count, 1])).reshaped(Array(shape.dropLast()))
            }
            if rank == 1 && other.rank >= 2 {
                return try reshaped([1, count]).matmul(other).reshaped(Array(other.shape.dropLast(2)) + [other.shape.last!])
            }
            throw TLTensorError.shapeMismatch("matmul needs matrices, got \(shape) and \(other.shape)")
        }
        let m = shape[rank - 2], k = shape[rank - 1]
        let k2 = other.shape[other.rank - 2], n = other.shape[other.rank - 1]
        guard k == k2 else { throw TLTensorError.shapeMismatch("matmul inner dimensions differ: \(shape) @ \(other.shape)") }
        let batch = shape.dropLast(2).reduce(1, *)
        let otherBatch = other.shape.dropLast(2).reduce(1, *)
        guard otherBatch == 1 || Array(other.shape.dropLast(2)) == Array(shape.dropLast(2)) else {
            throw TLTensorError.shapeMismatch("matmul batch dimensions differ: \(shape) @ \(other.shape)")
        }
        var out = [Float](repeating: 0, count: batch * m * n)
        data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { c in
                    for i in 0..<batch {
                        BLAS.sgemm(m: m, n: n, k: k, a: a.baseAddress! + i * m * k, lda: k,
                                   b: b.baseAddress! + (otherBatch == 1 ? 0 : i * k * n), ldb: n,
                                   c: c.baseAddress! + i * m * n, ldc: n)
                    }
                }
            }
        }
        return Tensor(shape: Array(shape.dropLast(2)) + [m, n], data: out)
    }
}
