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
    /// How the panels store each weight: Float32, or bf16 / f16 widened by the kernel as it reads.
    public let dtype: WeightDType
    let panels: [Float]
    /// The panels of a 16-bit dtype (empty for Float32).
    let halfPanels: [UInt16]

    var panelCount: Int { (columns + 63) / 64 }
    /// Panels whose 64 columns all exist (the last one is zero-padded otherwise).
    var fullPanels: Int { columns / 64 }

    /// Packs W [rows × columns] (row-major), rounding each weight to `dtype`; nil when packed
    /// Float32 products are turned off (16-bit panels are always built: they are then the only copy).
    public init?(_ w: [Float], rows: Int, columns: Int, dtype: WeightDType = .f32) {
        guard columns > 0, w.count == rows * columns, Self.maxRows > 0 || dtype != .f32 else { return nil }
        self.rows = rows
        self.columns = columns
        self.dtype = dtype
        let count = (columns + 63) / 64
        if let format = dtype.halfFormat {
            panels = []
            halfPanels = [UInt16](unsafeUninitializedCapacity: rows * count * 64) { dst, n in
                w.withUnsafeBufferPointer { src in
                    Parallel.forEachChunk(of: count, chunks: Parallel.width) { range in
                        tlk_pack_panels_half(rows, columns, src.baseAddress!, dst.baseAddress!, format, range.lowerBound, range.upperBound)
                    }
                }
                n = rows * count * 64
            }
            return
        }
        halfPanels = []
        panels = w.withUnsafeBufferPointer { src in
            HugePages.array(count: rows * count * 64) { dst in
                Parallel.forEachChunk(of: count, chunks: Parallel.width) { range in
                    tlk_pack_panels(rows, columns, src.baseAddress!, dst.baseAddress!, range.lowerBound, range.upperBound)
                }
            }
        }
    }

    /// Bytes the panels take.
    public var bytes: Int { panels.count * 4 + halfPanels.count * 2 }

    /// W [rows × columns] row-major in Float32, as the panels hold it (a 16-bit dtype's rounded values).
    public func unpacked() -> [Float] {
        guard let format = dtype.halfFormat else {
            return [Float](unsafeUninitializedCapacity: rows * columns) { out, n in
                for i in 0..<rows {
                    for p in 0..<panelCount {
                        let width = min(64, columns - p * 64)
                        for j in 0..<width { out[i * columns + p * 64 + j] = panels[(p * rows + i) * 64 + j] }
                    }
                }
                n = rows * columns
            }
        }
        return [Float](unsafeUninitializedCapacity: rows * columns) { out, n in
            halfPanels.withUnsafeBufferPointer { h in
                Parallel.forEachChunk(of: rows, chunks: rows * columns >= 1 << 20 ? Parallel.width : 1) { r in
                    tlk_unpack_panels_half(rows, columns, h.baseAddress!, format, out.baseAddress!, r.lowerBound, r.upperBound)
                }
            }
            n = rows * columns
        }
    }

    /// Column j of W [rows] (one 64-float lane of every row of panel j / 64): a token's unembedding
    /// direction, read without unpacking the matrix.
    public func column(_ j: Int) -> [Float] {
        precondition(j >= 0 && j < columns, "column \(j) of a matrix with \(columns) columns")
        let base = (j / 64) * rows * 64 + j % 64
        guard let format = dtype.halfFormat else { return (0..<rows).map { panels[base + $0 * 64] } }
        return (0..<rows).map { tlk_half_to_float(format, halfPanels[base + $0 * 64]) }
    }

    /// One panel range of the product, on the Float32 or 16-bit kernel.
    private func kernel(_ m: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ f: UnsafePointer<Float>?, _ h: UnsafePointer<UInt16>?,
                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ p0: Int, _ p1: Int) {
        if let h {
            tlk_gemm_packed_half(m, rows, a, lda, h, dtype.halfFormat!, c, ldc, p0, p1)
        } else {
            tlk_gemm_packed(m, rows, a, lda, f!, c, ldc, p0, p1)
        }
    }

    /// C[m × columns] = A[m × rows] · W, with leading dimensions; C is overwritten. The work is
    /// split over the workers when there is enough of it.
    public func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let count = fullPanels
        let workers = m * rows * columns >= 1 << 20 ? Parallel.width : 1
        panels.withUnsafeBufferPointer { fp in
          halfPanels.withUnsafeBufferPointer { hp in
            // (An empty array's buffer may still have a base address: choose by dtype.)
            let f = dtype == .f32 ? fp.baseAddress : nil, h = dtype == .f32 ? nil : hp.baseAddress
            // A padded last panel goes through a scratch block, of which the real columns are kept.
            if count < panelCount {
                var scratch = [Float](repeating: 0, count: m * 64)
                scratch.withUnsafeMutableBufferPointer { s in
                    kernel(m, a, lda, f.map { $0 + count * rows * 64 }, h.map { $0 + count * rows * 64 }, s.baseAddress!, 64, 0, 1)
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
                    kernel(min(m, r0 + Self.unitRows) - r0, a + r0 * lda, lda, f, h, c + r0 * ldc, ldc, p0, min(count, p0 + group))
                }
            } else {
                // Bound by streaming the panels: contiguous ranges, so each panel's last row tile can
                // prefetch the next panel of the same range; long ones first, short ones last, so
                // a worker on a faster core takes over the tail (guided scheduling).
                Parallel.forEachGuided(of: count, workers: workers, minimum: 2) { range in
                    kernel(m, a, lda, f, h, c, ldc, range.lowerBound, range.upperBound)
                }
            }
          }
        }
    }
}
