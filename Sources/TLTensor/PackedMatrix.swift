// A weight matrix stored a second time in 64-column panels (Sources/TLKernels/gemm.c), for every
// product of activations with the model's weights. Read in its row-major form, a GPT-2 weight
// matrix is walked a full row (9–12 KB) at a time, which defeats the hardware prefetcher and piles
// every row onto a few cache sets; in panels it streams sequentially, and no product repacks it
// (OpenBLAS packs its operands on every call). Costs one extra copy of the matrices
// (docs/PERFORMANCE.md).
import Foundation
internal import TLKernels

public struct PackedMatrix: Sendable {
    /// Largest row count that uses the panels: every product by default, since with work handed
    /// out in small units they beat OpenBLAS at every size measured. The engine context's
    /// `kernels.packedMaxRows` (`TLSH_PACKED_ROWS=N`) sends longer products to OpenBLAS (0 turns
    /// packed products off), for comparisons.
    public static var maxRows: Int { EngineContext.current.kernels.packedMaxRows }

    /// Products with up to this many rows are bound by streaming the weights from memory rather
    /// than by arithmetic: short prompts, patching batches, generation.
    public static let streamingRows = 160

    /// Rows of C per unit of work in a long product: two of the kernel's 96-row blocks.
    static let unitRows = 192

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

    /// C[m × columns] = A[m × rows] · W, with leading dimensions; C is overwritten. The work is
    /// split over the workers when there is enough of it.
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
            guard count > 0 else { return }
            if workers > 1 && m > Self.streamingRows {
                // Arithmetic-bound: many small units (row block × panel group), taken by whichever
                // worker is free. On a shared host one core often runs slower than the other (a busy
                // neighbour on its sibling thread); with one fixed half each, a product took as long
                // as the slower core's half, 1.2–1.5× the balanced time (docs/PERFORMANCE.md).
                let rowUnits = (m + Self.unitRows - 1) / Self.unitRows
                let group = max(1, min(4, count / (8 * workers)))
                let groups = (count + group - 1) / group
                Parallel.forEach(rowUnits * groups) { unit in
                    // Neighbouring units share a panel group, so the workers read the same panels.
                    let r0 = (unit % rowUnits) * Self.unitRows, p0 = (unit / rowUnits) * group
                    tlk_gemm_packed(min(m, r0 + Self.unitRows) - r0, rows, a + r0 * lda, lda, p.baseAddress!,
                                    c + r0 * ldc, ldc, p0, min(count, p0 + group))
                }
            } else {
                // Bound by streaming the panels: contiguous ranges, so each panel's last row tile can
                // prefetch the next panel of the same range; long ones first, short ones last, so
                // a worker on a faster core takes over the tail (guided scheduling).
                Parallel.forEachGuided(of: count, workers: workers, minimum: 2) { range in
                    tlk_gemm_packed(m, rows, a, lda, p.baseAddress!, c, ldc, range.lowerBound, range.upperBound)
                }
            }
        }
    }
}
