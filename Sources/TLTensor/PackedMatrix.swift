// A weight matrix stored a second time in 64-column panels (Sources/TLKernels/gemm.c), for
// products with up to `maxRows` rows: short prompts, patching batches, generation. Read in its
// row-major form, a GPT-2 weight matrix is walked a full row (9–12 KB) at a time, which defeats
// the hardware prefetcher and piles every row onto a few cache sets; in panels it streams
// sequentially. Costs one extra copy of the packed matrices (docs/PERFORMANCE.md).
import Foundation
internal import TLKernels

public struct PackedMatrix: Sendable {
    /// Largest row count that uses the panels; above it OpenBLAS's own packing pays for itself.
    /// `TLSH_PACKED_ROWS=N` changes it (0 turns packed products off).
    public static let maxRows = ProcessInfo.processInfo.environment["TLSH_PACKED_ROWS"].flatMap(Int.init) ?? 160

    public let rows: Int, columns: Int
    let panels: [Float]

    var panelCount: Int { (columns + 63) / 64 }
    /// Panels whose 64 columns all exist (the last one is zero-padded otherwise).
    var fullPanels: Int { columns / 64 }

    /// Packs W [rows × columns] (row-major); nil when packed products are turned off.
    public init?(_ w: [Float], rows: Int, columns: Int) {
        guard columns > 0, w.count == rows * columns, Self.maxRows > 0 else { return nil }
        self.rows = rows
        self.columns = columns
        let count = (columns + 63) / 64
        panels = w.withUnsafeBufferPointer { src in
            HugePages.array(count: rows * count * 64) { dst in
                Parallel.forEachChunk(of: count, chunks: Parallel.width) { range in
                    tlk_pack_panels(rows, columns, src.baseAddress!, dst.baseAddress!, range.lowerBound, range.upperBound)
                }
            }
        }
    }

    /// C[m × columns] = A[m × rows] · W, with leading dimensions; C is overwritten. Output panels
    /// are split over the workers when there is enough work.
    public func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let count = fullPanels
        let workers = m * rows * columns >= 1 << 20 ? Parallel.width : 1
        panels.withUnsafeBufferPointer { p in
            // A padded last panel goes through a scratch block, of which the real columns are kept.
            if count < panelCount {
                var scratch = [Float](repeating: 0, count: m * 64)
                scratch.withUnsafeMutableBufferPointer { s in
                    tlk_gemm_packed(m, rows, a, lda, p.baseAddress! + count * rows * 64, s.baseAddress!, 64, 0, 1)
                    let width = columns - count * 64
                    for r in 0..<m { (c + r * ldc + count * 64).update(from: s.baseAddress! + r * 64, count: width) }
                }
            }
            Parallel.forEachChunk(of: count, chunks: workers) { range in
                tlk_gemm_packed(m, rows, a, lda, p.baseAddress!, c, ldc, range.lowerBound, range.upperBound)
            }
        }
    }
}
