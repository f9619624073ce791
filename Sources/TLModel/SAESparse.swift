// Feature activations kept sparse. An SAE's hook_sae_acts_post is [rows, d_sae] with tens of
// features firing out of tens of thousands (64 of 24,576 is 0.26%): the dense array of 1024
// GPT-2 tokens is 100 MB, its compressed-row form about 0.5 MB. The sparse encode never holds the
// dense pre-activations either: it multiplies the input by W_enc one block of features at a time
// and keeps only what fires, and the sparse decode sums the decoder rows of those features.
import TLTensor

/// Feature activations [rows, features] in compressed-row form: row r's non-zero activations are
/// values[rowStarts[r] ..< rowStarts[r + 1]] at features indices[...], in ascending feature order.
public struct SparseFeatureActivations: Sendable, Equatable {
    public let rows: Int
    public let features: Int
    public private(set) var rowStarts: [Int]
    public private(set) var indices: [Int32]
    public private(set) var values: [Float]

    public init(rows: Int, features: Int, rowStarts: [Int], indices: [Int32], values: [Float]) {
        precondition(rowStarts.count == rows + 1 && indices.count == values.count && rowStarts.last == values.count)
        self.rows = rows; self.features = features; self.rowStarts = rowStarts; self.indices = indices; self.values = values
    }

    /// The non-zeros of a dense [rows, features] array.
    public init(dense t: Tensor) {
        let f = t.shape.last ?? 0, n = f == 0 ? 0 : t.count / f
        var starts = [0], idx: [Int32] = [], vals: [Float] = []
        t.data.withUnsafeBufferPointer { d in
            for r in 0..<n {
                for j in 0..<f where d[r * f + j] != 0 { idx.append(Int32(j)); vals.append(d[r * f + j]) }
                starts.append(vals.count)
            }
        }
        self.init(rows: n, features: f, rowStarts: starts, indices: idx, values: vals)
    }

    public var nonZeros: Int { values.count }

    /// Bytes held by the three arrays (the dense form holds rows · features · 4).
    public var bytes: Int { rowStarts.count * MemoryLayout<Int>.stride + indices.count * 4 + values.count * 4 }

    /// Row r's active features and their activations.
    public func row(_ r: Int) -> (indices: ArraySlice<Int32>, values: ArraySlice<Float>) {
        let range = rowStarts[r]..<rowStarts[r + 1]
        return (indices[range], values[range])
    }

    /// One feature's activation in every row [rows].
    public func column(_ feature: Int) -> [Float] {
        (0..<rows).map { r in
            let (idx, vals) = row(r)
            return idx.firstIndex(of: Int32(feature)).map { vals[$0] } ?? 0
        }
    }

    /// The dense array [rows, features], for consumers that index it freely (saving, tensor maths).
    public func dense() -> Tensor {
        var out = Tensor(zeros: [rows, features])
        out.data.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows {
                for i in rowStarts[r]..<rowStarts[r + 1] { o[r * features + Int(indices[i])] = values[i] }
            }
        }
        return out
    }

    /// The same activations with `dropped` features removed (set to zero), as an ablation does.
    public func removing(features dropped: Set<Int>) -> SparseFeatureActivations {
        guard !dropped.isEmpty else { return self }
        var starts = [0], idx: [Int32] = [], vals: [Float] = []
        idx.reserveCapacity(indices.count); vals.reserveCapacity(values.count)
        for r in 0..<rows {
            for i in rowStarts[r]..<rowStarts[r + 1] where !dropped.contains(Int(indices[i])) {
                idx.append(indices[i]); vals.append(values[i])
            }
            starts.append(vals.count)
        }
        return SparseFeatureActivations(rows: rows, features: features, rowStarts: starts, indices: idx, values: vals)
    }
}

/// A sparse encode's result: hook_sae_input, the activations, and the scale and shift that undo
/// the input normalization on the way out.
public struct SparseSAEEncoding: Sendable {
    public var input: Tensor
    public var acts: SparseFeatureActivations
    var outScale: [Float]?
    var outShift: [Float]?
}

extension SparseAutoencoder {
    /// Features per block of the sparse encode: a [rows, 1024] product for 1024 rows is 4 MB,
    /// so it is still in cache when the bias, threshold and compaction read it back.
    static let sparseEncodeBlock = 1024

    /// hook_sae_acts_post of rows x [rows, d_in] in compressed-row form, with the same values as
    /// `encode(x).post`. TopK SAEs rank a row's features against each other, so they encode
    /// densely and then compact; the others multiply by W_enc one block of features at a time,
    /// the blocks spread over the engine's threads.
    public func encodeSparse(_ x: Tensor) -> SparseSAEEncoding { encodeSparse(x, blockFeatures: Self.sparseEncodeBlock) }

    /// encodeSparse with `blockFeatures` features per block (tests use small blocks to cross block edges).
    func encodeSparse(_ x: Tensor, blockFeatures width: Int) -> SparseSAEEncoding {
        let c = config, dIn = c.dIn, dSae = c.dSae
        if c.architecture == .topk {
            let e = encode(x)
            return SparseSAEEncoding(input: e.input, acts: SparseFeatureActivations(dense: e.post), outScale: e.outScale, outShift: e.outShift)
        }
        let prepared = normalizedInput(x)
        let n = prepared.input.shape[0]
        let blocks = (dSae + width - 1) / width
        // Each block's non-zeros per row, merged into rows afterwards.
        var parts = [(counts: [Int], indices: [Int32], values: [Float])](repeating: ([], [], []), count: blocks)
        let single = EngineContext.current.with { $0.threads = 1 }
        prepared.sae.withUnsafeBufferPointer { xs in
            (wEncMagnitude ?? wEnc).withUnsafeBufferPointer { we in
                wEnc.withUnsafeBufferPointer { wg in
                    parts.withUnsafeMutableBufferPointer { out in
                        Parallel.forEach(blocks) { b in
                            let f0 = b * width, cols = min(width, dSae - f0)
                            var pre = [Float](repeating: 0, count: n * cols)
                            var gate = [Float](repeating: 0, count: config.architecture == .gated ? n * cols : 0)
                            var post = [Float](repeating: 0, count: cols)
                            var counts = [Int](repeating: 0, count: n), idx: [Int32] = [], vals: [Float] = []
                            single.run {
                                pre.withUnsafeMutableBufferPointer { p in
                                    BLAS.sgemm(m: n, n: cols, k: dIn, a: xs.baseAddress!, lda: dIn, b: we.baseAddress! + f0, ldb: dSae,
                                               c: p.baseAddress!, ldc: cols)
                                }
                                if !gate.isEmpty {
                                    gate.withUnsafeMutableBufferPointer { g in
                                        BLAS.sgemm(m: n, n: cols, k: dIn, a: xs.baseAddress!, lda: dIn, b: wg.baseAddress! + f0, ldb: dSae,
                                                   c: g.baseAddress!, ldc: cols)
                                    }
                                }
                            }
                            pre.withUnsafeMutableBufferPointer { p in
                                gate.withUnsafeBufferPointer { g in
                                    post.withUnsafeMutableBufferPointer { q in
                                        for r in 0..<n {
                                            activate(pre: p.baseAddress! + r * cols, gate: g.isEmpty ? nil : g.baseAddress! + r * cols,
                                                     post: q.baseAddress!, features: f0, count: cols)
                                            for j in 0..<cols where q[j] != 0 { idx.append(Int32(f0 + j)); vals.append(q[j]) }
                                            counts[r] = vals.count
                                        }
                                    }
                                }
                            }
                            out[b] = (counts, idx, vals)
                        }
                    }
                }
            }
        }
        var starts = [Int](repeating: 0, count: n + 1), indices: [Int32] = [], values: [Float] = []
        let total = parts.reduce(0) { $0 + $1.values.count }
        indices.reserveCapacity(total); values.reserveCapacity(total)
        for r in 0..<n {
            for part in parts {
                let range = (r == 0 ? 0 : part.counts[r - 1])..<part.counts[r]
                indices += part.indices[range]; values += part.values[range]
            }
            starts[r + 1] = values.count
        }
        let acts = SparseFeatureActivations(rows: n, features: dSae, rowStarts: starts, indices: indices, values: values)
        return SparseSAEEncoding(input: prepared.input, acts: acts, outScale: prepared.outScale, outShift: prepared.outShift)
    }

    /// decode(_:encoding:) for sparse activations: hook_sae_recons sums the decoder rows of each
    /// row's active features (in ascending feature order, as the dense decode's sparse branch does).
    public func decode(_ acts: SparseFeatureActivations, encoding: SparseSAEEncoding) -> (recons: Tensor, output: Tensor) {
        let dOut = config.dOut, n = acts.rows
        let rescale = config.architecture == .topk && config.rescaleActsByDecoderNorm
        var recons = [Float](repeating: 0, count: n * dOut)
        acts.rowStarts.withUnsafeBufferPointer { starts in
            acts.indices.withUnsafeBufferPointer { idx in
                acts.values.withUnsafeBufferPointer { vals in
                    wDec.withUnsafeBufferPointer { wd in
                        recons.withUnsafeMutableBufferPointer { rc in
                            Parallel.forEachChunk(of: n, chunks: acts.nonZeros * dOut >= 1 << 18 ? Parallel.width : 1) { rows in
                                for r in rows {
                                    let out = rc.baseAddress! + r * dOut
                                    for i in starts[r]..<starts[r + 1] {
                                        let f = Int(idx[i])
                                        let v = rescale ? vals[i] * (1 / decoderNorms[f]) : vals[i]
                                        let row = wd.baseAddress! + f * dOut
                                        for j in 0..<dOut { out[j] += v * row[j] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return finishDecode(recons, rows: n, outScale: encoding.outScale, outShift: encoding.outShift)
    }
}
