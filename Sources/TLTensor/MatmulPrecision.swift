// Reduced-precision matrix products as an opt-in, named after PyTorch's
// torch.set_float32_matmul_precision: "highest" (the default) keeps every product in Float32;
// "high" and "medium" run the model's weight products on Intel AMX tiles in bfloat16 with Float32
// accumulation (Sources/TLKernels/amx.c). "high" represents each float as the sum of two bf16
// numbers (about 16 significant bits, three tile products); "medium" rounds to one bf16 (8 bits).
// Activations, hooks, attention and every other product stay Float32.
import Foundation
import Synchronization
internal import TLKernels

public enum MatmulPrecision: String, Sendable, CaseIterable {
    case highest, high, medium

    /// The precision in force (the language's `set matmul=`; `TLSH_MATMUL` sets the process
    /// default): part of the current `EngineContext`.
    public static var current: MatmulPrecision { EngineContext.current.matmul }

    /// Throws where `context` cannot run `p` (reduced precisions need AMX, present and allowed).
    public static func validate(_ p: MatmulPrecision, in context: EngineContext = .current) throws {
        guard p == .highest || AMX.available(in: context) else { throw TLTensorError.unsupported(AMX.unavailableReason) }
    }
}

public enum AMX {
    /// Whether this CPU has AMX-BF16 and the kernel let the process use its tile registers.
    public static let present: Bool = tlk_amx_enable() == 0

    /// Whether products may use the tiles: present, and not turned off by the context's kernel
    /// choices (`TLSH_AMX=0` pretends they are absent).
    public static func available(in context: EngineContext = .current) -> Bool {
        present && context.kernels.amx
    }
    public static var available: Bool { available() }

    static let unavailableReason = "matmul=high and matmul=medium run on Intel AMX (bf16 tiles), which this CPU or "
        + "kernel does not offer; products stay in Float32 (matmul=highest)"
}

/// A weight matrix W [rows × columns] as bfloat16 tiles for the AMX products: hi = bf16(W) and,
/// for "high", lo = bf16(W − hi), in 16-column blocks (2 bytes per weight, 4 with lo).
public struct BF16Matrix: Sendable {
    public let rows: Int, columns: Int
    let hi: [UInt16], lo: [UInt16]
    var blocks: Int { (columns + 15) / 16 }
    /// Whether lo was packed, which "high" needs.
    public var hasLo: Bool { !lo.isEmpty }

    /// Bytes that the tiles of a rows × columns matrix take, with or without lo.
    public static func bytes(rows: Int, columns: Int, withLo: Bool) -> Int {
        tlk_bf16_padded(rows) * 16 * ((columns + 15) / 16) * 2 * (withLo ? 2 : 1)
    }

    /// Packs W (row-major), with lo when `withLo`; nil where AMX is not available.
    public init?(_ w: [Float], rows: Int, columns: Int, withLo: Bool) {
        guard AMX.available, rows > 0, columns > 0, w.count == rows * columns else { return nil }
        self.rows = rows
        self.columns = columns
        let blocks = (columns + 15) / 16, count = tlk_bf16_padded(rows) * 16 * blocks
        var hi = [UInt16](repeating: 0, count: count), lo = [UInt16](repeating: 0, count: withLo ? count : 0)
        w.withUnsafeBufferPointer { src in
            hi.withUnsafeMutableBufferPointer { h in
                lo.withUnsafeMutableBufferPointer { l in
                    // (An empty array's buffer may still have a base address: test withLo.)
                    let (hp, lp) = (h.baseAddress!, withLo ? l.baseAddress : nil)
                    Parallel.forEachChunk(of: blocks, chunks: Parallel.width) { range in
                        tlk_bf16_pack_b(rows, columns, src.baseAddress!, hp, lp, range.lowerBound, range.upperBound)
                    }
                }
            }
        }
        self.hi = hi
        self.lo = lo
    }

    /// C[m × columns] = A[m × rows] · W at `precision` (high, which needs `hasLo`, or medium); C is
    /// overwritten.
    public func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                         precision: MatmulPrecision) {
        guard m > 0 else { return }
        let three = precision != .medium
        precondition(!three || hasLo, "matmul=high needs the lo halves packed")
        let kp = tlk_bf16_padded(rows), mp = (m + 31) / 32 * 32
        // A's rows are split once, padded with zero rows to a multiple of 32 (whole tiles).
        func rowBuffer() -> [UInt16] {
            [UInt16](unsafeUninitializedCapacity: mp * kp) { b, n in
                (b.baseAddress! + m * kp).initialize(repeating: 0, count: (mp - m) * kp)  // split_rows fills the rest
                n = mp * kp
            }
        }
        var aHi = rowBuffer(), aLo = three ? rowBuffer() : []
        aHi.withUnsafeMutableBufferPointer { ah in
            aLo.withUnsafeMutableBufferPointer { al in
                // (An empty array's buffer may still have a base address: test `three`, not nil.)
                let (ahp, alp) = (ah.baseAddress!, three ? al.baseAddress : nil)
                Parallel.forEachChunk(of: m, chunks: m >= 64 ? Parallel.width : 1) { r in
                    tlk_bf16_split_rows(r.count, rows, a + r.lowerBound * lda, lda, ahp + r.lowerBound * kp,
                                        alp.map { $0 + r.lowerBound * kp })
                }
                hi.withUnsafeBufferPointer { bh in
                    lo.withUnsafeBufferPointer { bl in
                        // Column blocks go to the workers in pairs (the kernel's 32-column step), in
                        // shrinking pieces so that a faster core takes over the tail (Parallel.swift).
                        let pairs = (blocks + 1) / 2
                        let workers = m * rows * columns >= 1 << 21 ? Parallel.width : 1
                        Parallel.forEachGuided(of: pairs, workers: workers, minimum: 2) { p in
                            tlk_bf16_gemm(m, rows, columns, ahp, alp, bh.baseAddress!,
                                          three ? bl.baseAddress! : nil, c, ldc, p.lowerBound * 2,
                                          min(blocks, p.upperBound * 2))
                        }
                    }
                }
            }
        }
    }
}
