// One weight matrix of the model and every product the engine takes with it. A matrix is kept in
// up to three forms: Float32 row-major (the loaders' and analyses' form; absent in a 16-bit dtype),
// 64-column panels (PackedMatrix: Float32, or bf16/f16 as a 16-bit dtype's only copy) and, at
// `matmul=high|medium`, bf16 AMX tiles built on first use (BF16Matrix). Each product here picks
// the fastest form that the engine context allows; no other code multiplies by model weights
// with BLAS or the panel kernels. `referenceProduct` is the naive product they are all tested
// against (WeightMatrixTests).
import Synchronization
import TLTensor

/// Which of the model's weight matrices.
public enum WeightSlot: Hashable, Sendable {
    case qkv(Int), o(Int), mlpIn(Int), mlpGate(Int), mlpOut(Int), unembed
}

/// W [rows, columns], right-multiplying like TransformerLens (y = x·W + b).
public final class WeightMatrix: Sendable {
    public let rows: Int, columns: Int
    /// Row-major Float32; empty where the panels are the only copy (a 16-bit dtype, or Float32
    /// panels kept instead of the row-major array when two copies would not fit: `panelsOnly`).
    let floats: [Float]
    /// The 64-column panels; nil where they were skipped for memory (then OpenBLAS reads `floats`).
    let panels: PackedMatrix?
    /// Decides, once per model, whether the bf16 copies may be built (nil: never).
    let permission: ReducedPrecisionPermission?
    /// The bf16 tiles, packed on the first product at a reduced precision (with the lo halves
    /// once "high" asks for them). Weights never change after init, so the copy never goes stale.
    private let reduced = Mutex<BF16Matrix?>(nil)

    /// W from its row-major floats, packed into panels in `dtype` when `panels` (a 16-bit dtype
    /// always packs them and keeps only those); `panelsOnly` keeps Float32 panels in place of the
    /// row-major floats (where the panels cannot be made, the floats stay).
    init(_ w: [Float], rows: Int, columns: Int, dtype: WeightDType = .f32, panels: Bool = true, panelsOnly: Bool = false,
         permission: ReducedPrecisionPermission? = nil) {
        precondition(w.count == rows * columns, "a \(rows)×\(columns) weight matrix needs \(rows * columns) floats, got \(w.count)")
        self.rows = rows
        self.columns = columns
        let packed = panels || panelsOnly || dtype != .f32 ? PackedMatrix(w, rows: rows, columns: columns, dtype: dtype) : nil
        self.panels = packed
        self.floats = dtype == .f32 && !(panelsOnly && packed != nil) ? w : []
        self.permission = permission
    }

    /// Whether the matrix exists only as 16-bit panels.
    var isHalf: Bool { panels.map { $0.dtype != .f32 } ?? false }

    /// Whether the panels are the only copy (16-bit, or Float32 `panelsOnly`).
    var panelsOnly: Bool { floats.isEmpty && panels != nil }

    /// W row-major in Float32: `floats`, or widened / unpacked from the panels when they are the
    /// only copy (each call: the backward and per-head products of a model too big for two copies
    /// pay this instead of the memory).
    public var float32: [Float] { panelsOnly ? panels!.unpacked() : floats }

    /// Whether a bf16 copy has been packed.
    var hasReducedCopy: Bool { reduced.withLock { $0 != nil } }

    // MARK: x·W — the forward products

    /// How a product of `m` rows by W runs.
    enum Route: Equatable { case tiles(MatmulPrecision), panels, openBLAS }

    /// The route for `m` rows under the current engine context: AMX tiles at a reduced matmul
    /// precision (where permitted), else the panels (every row count by default; always for 16-bit
    /// panels), else OpenBLAS on `floats`. "high" reads as many bytes per weight as Float32 (two
    /// bf16), so products with few rows, which only stream the weights, stay on the Float32 panels;
    /// "medium" reads half as many. 16-bit panels ignore matmul=.
    func route(rows m: Int) -> Route {
        let precision = MatmulPrecision.current
        if !isHalf, precision == .medium || (precision == .high && (panels == nil || m > PackedMatrix.streamingRows)),
           permission?.permits(precision) == true, AMX.available {
            return .tiles(precision)
        }
        if panels != nil, m <= PackedMatrix.maxRows || panelsOnly { return .panels }
        return .openBLAS
    }

    /// The bf16 tiles for `precision`, packed on first request; nil where AMX is unavailable.
    private func tiles(_ precision: MatmulPrecision) -> BF16Matrix? {
        let withLo = precision == .high
        return reduced.withLock { copy in
            if let m = copy, m.hasLo || !withLo { return m }
            guard let m = BF16Matrix(float32, rows: rows, columns: columns, withLo: withLo) else { return nil }
            copy = m
            return m
        }
    }

    /// C[m × columns] = A[m × rows] · W, with leading dimensions; C is overwritten.
    func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var route = route(rows: m)
        if case .tiles(let precision) = route {
            if let t = tiles(precision) {
                t.multiply(m: m, a: a, lda: lda, c: c, ldc: ldc, precision: precision)
                return
            }
            route = panels != nil && (m <= PackedMatrix.maxRows || panelsOnly) ? .panels : .openBLAS
        }
        if route == .panels {
            panels!.multiply(m: m, a: a, lda: lda, c: c, ldc: ldc)
        } else {
            floats.withUnsafeBufferPointer { ws in
                BLAS.sgemm(m: m, n: columns, k: rows, a: a, lda: lda, b: ws.baseAddress!, ldb: columns, c: c, ldc: ldc)
            }
        }
    }

    /// x [..., rows] · W + bias  →  `shape` ([..., columns]); no bias adds nothing.
    public func product(_ x: Tensor, plus bias: [Float]?, shape: [Int]) -> Tensor {
        let m = x.count / rows
        var out = Tensor(uninitialized: shape)
        x.data.withUnsafeBufferPointer { xs in
            out.data.withUnsafeMutableBufferPointer { o in
                multiply(m: m, a: xs.baseAddress!, lda: rows, c: o.baseAddress!, ldc: columns)
                if let bias {
                    bias.withUnsafeBufferPointer { NeuralOps.addBias(o.baseAddress!, rows: m, n: columns, bias: $0.baseAddress!) }
                }
            }
        }
        return out
    }

    /// Column j of W [rows] (a token's unembedding direction), from whichever form is kept.
    public func column(_ j: Int) -> [Float] {
        if panelsOnly { return panels!.column(j) }
        return (0..<rows).map { floats[$0 * columns + j] }
    }

    /// x [m, rows] times the listed columns of W only  →  [m, columns.count] (a logit difference's
    /// two tokens, say), one scalar sum per output.
    func product(_ x: Tensor, columns picked: [Int]) -> [Float] {
        let m = x.count / rows
        let w = picked.map(column)
        var out = [Float](repeating: 0, count: m * picked.count)
        for r in 0..<m {
            for c in picked.indices {
                var s: Float = 0
                for i in 0..<rows { s += x.data[r * rows + i] * w[c][i] }
                out[r * picked.count + c] = s
            }
        }
        return out
    }

    // MARK: dY·Wᵀ — the backward products

    /// C[m × rows] = A[m × columns] · Wᵀ on the Float32 form (C is overwritten): few rows read W in
    /// place (tlk_gemm_nt), many go to OpenBLAS (BLAS.timesTransposed).
    func multiplyTransposed(m: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        float32.withUnsafeBufferPointer { ws in
            BLAS.timesTransposed(m: m, n: rows, k: columns, a: a, lda: lda, b: ws.baseAddress!, ldb: columns, c: c, ldc: ldc)
        }
    }

    /// dY [..., columns] · Wᵀ  →  `shape` ([..., rows]).
    func productTransposed(_ dY: Tensor, shape: [Int]) -> Tensor {
        var out = Tensor(uninitialized: shape)
        dY.data.withUnsafeBufferPointer { g in
            out.data.withUnsafeMutableBufferPointer { o in
                multiplyTransposed(m: dY.count / columns, a: g.baseAddress!, lda: columns, c: o.baseAddress!, ldc: rows)
            }
        }
        return out
    }

    /// out[0..<rows] += g · W[:, picked]ᵀ for one row g [picked.count] (a gradient seeded at a few
    /// logits), column by column, one scalar update per output.
    func addTransposed(columns picked: [Int], _ g: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>) {
        for (c, col) in picked.enumerated() {
            let gv = g[c], w = column(col)
            for j in 0..<rows { out[j] += gv * w[j] }
        }
    }

    // MARK: Per-head blocks

    /// A run of equal blocks of W, one per head: `count` blocks of `width` columns (W[:, first +
    /// i·width ..< first + (i+1)·width], e.g. W_Q[h] in W_QKV) or of `width` rows (W_O[h] in W_O).
    public struct Blocks: Sendable {
        public enum Axis: Sendable { case columns, rows }
        public var axis: Axis, first = 0, width: Int, count: Int

        public static func columns(from first: Int = 0, width: Int, count: Int) -> Blocks { Blocks(axis: .columns, first: first, width: width, count: count) }
        public static func rows(from first: Int = 0, width: Int, count: Int) -> Blocks { Blocks(axis: .rows, first: first, width: width, count: count) }
    }

    /// For each block i: C_i = A_i · W_i (or A_i · W_iᵀ when `transposed`), A_i at a + i·aStride
    /// with leading dimension lda, C_i at c + i·cStride with ldc; C is overwritten. W_i is rows ×
    /// width for column blocks, width × columns for row blocks. (OpenBLAS or the small-row kernels
    /// — tlk_gemm_nt for the transposed products — on the Float32 form, widened once per call in a
    /// 16-bit dtype.)
    public func multiplyBlocks(_ blocks: Blocks, transposed: Bool = false, m: Int, a: UnsafePointer<Float>, aStride: Int, lda: Int,
                        c: UnsafeMutablePointer<Float>, cStride: Int, ldc: Int) {
        float32.withUnsafeBufferPointer { ws in
            let w = ws.baseAddress!
            for i in 0..<blocks.count {
                let start = blocks.first + i * blocks.width
                let (block, n, k): (UnsafePointer<Float>, Int, Int)
                switch (blocks.axis, transposed) {
                case (.columns, false): (block, n, k) = (w + start, blocks.width, rows)
                case (.columns, true): (block, n, k) = (w + start, rows, blocks.width)
                case (.rows, false): (block, n, k) = (w + start * columns, columns, blocks.width)
                case (.rows, true): (block, n, k) = (w + start * columns, blocks.width, columns)
                }
                if transposed {
                    BLAS.timesTransposed(m: m, n: n, k: k, a: a + i * aStride, lda: lda, b: block, ldb: columns, c: c + i * cStride, ldc: ldc)
                } else {
                    BLAS.sgemm(m: m, n: n, k: k, a: a + i * aStride, lda: lda, b: block, ldb: columns, c: c + i * cStride, ldc: ldc)
                }
            }
        }
    }

    // MARK: The reference

    /// The naive product every route above is checked against: C = A · op(W or its `blocks`),
    /// A [m, ·] row-major and dense (block i's input at columns i·k ..< (i+1)·k, its output at
    /// columns i·n ..< (i+1)·n), one Double sum per output, from the Float32 form.
    func referenceProduct(_ a: [Float], m: Int, blocks: Blocks? = nil, transposed: Bool = false) -> [Float] {
        let w = float32
        let b = blocks ?? Blocks(axis: .columns, first: 0, width: columns, count: 1)
        // Element (i, j) of block `block`'s matrix W_b (before any transpose).
        func element(_ block: Int, _ i: Int, _ j: Int) -> Float {
            let start = b.first + block * b.width
            return b.axis == .columns ? w[i * columns + start + j] : w[(start + i) * columns + j]
        }
        let (blockRows, blockColumns) = b.axis == .columns ? (rows, b.width) : (b.width, columns)
        let (k, n) = transposed ? (blockColumns, blockRows) : (blockRows, blockColumns)
        var c = [Float](repeating: 0, count: m * n * b.count)
        for block in 0..<b.count {
            for r in 0..<m {
                for j in 0..<n {
                    var s: Double = 0
                    for i in 0..<k {
                        let x = Double(a[r * k * b.count + block * k + i])
                        s += x * Double(transposed ? element(block, j, i) : element(block, i, j))
                    }
                    c[r * n * b.count + block * n + j] = Float(s)
                }
            }
        }
        return c
    }
}

/// Whether a model may build its matrices' bf16 copies for a reduced precision: decided once per
/// precision, before the first is packed, by whether all of them fit in half the memory then
/// available (where they would not, products stay Float32 rather than risk running out of memory
/// half-way through a run).
final class ReducedPrecisionPermission: Sendable {
    private let decided = Mutex<[MatmulPrecision: Bool]>([:])
    private let config: ModelConfig

    init(config: ModelConfig) { self.config = config }

    func permits(_ precision: MatmulPrecision) -> Bool {
        guard precision != .highest else { return true }
        return decided.withLock { cache in
            if let known = cache[precision] { return known }
            let fits = HookedTransformer.reducedPrecisionFits(config: config, precision, availableBytes: MemoryBudget.availableBytes())
            cache[precision] = fits
            return fits
        }
    }
}

/// One block's weight matrices.
struct BlockMatrices: Sendable {
    let qkv: WeightMatrix, o: WeightMatrix, mlpIn: WeightMatrix, mlpGate: WeightMatrix?, mlpOut: WeightMatrix

    /// `layer`'s matrices in `dtype`, with panels when `panels` (always in a 16-bit dtype), as the
    /// only copy when `panelsOnly`.
    init(_ layer: LayerWeights, config: ModelConfig, dtype: WeightDType, panels: Bool, panelsOnly: Bool = false,
         permission: ReducedPrecisionPermission) {
        let d = config.dModel, hd = config.nHeads * config.dHead
        func matrix(_ w: [Float], _ rows: Int, _ columns: Int) -> WeightMatrix {
            WeightMatrix(w, rows: rows, columns: columns, dtype: dtype, panels: panels, panelsOnly: panelsOnly, permission: permission)
        }
        qkv = matrix(layer.wQKV, d, config.qkvWidth)
        o = matrix(layer.wO, hd, d)
        mlpIn = matrix(layer.wIn, d, config.dMLP)
        mlpGate = layer.wGate.map { matrix($0, d, config.dMLP) }
        mlpOut = matrix(layer.wOut, config.dMLP, d)
    }

    var all: [WeightMatrix] { [qkv, o, mlpIn] + (mlpGate.map { [$0] } ?? []) + [mlpOut] }
}
