// TransformerLens's default weight processing (from_pretrained): fold_ln, center_writing_weights,
// center_unembed, fold_value_biases, in that order, applied to the compute layout. The math is
// TRANSFORMERLENS.md §2b; each step leaves the model's log-probabilities unchanged.
import TLTensor

/// Which of TransformerLens's processing steps to apply.
public struct ProcessingOptions: Sendable, Equatable {
    public var foldLN = true
    public var centerWritingWeights = true
    public var centerUnembed = true
    public var foldValueBiases = true
    public init(foldLN: Bool = true, centerWritingWeights: Bool = true, centerUnembed: Bool = true, foldValueBiases: Bool = true) {
        self.foldLN = foldLN; self.centerWritingWeights = centerWritingWeights
        self.centerUnembed = centerUnembed; self.foldValueBiases = foldValueBiases
    }
    /// from_pretrained's defaults.
    public static let `default` = ProcessingOptions()
    /// The steps TransformerLens's from_pretrained actually applies to a model of `cfg`'s family:
    /// centring writing weights only for LayerNorm models (not RMS, not final_rms), and no
    /// center_unembed under a final-logit soft-cap (soft-capping is not shift-invariant).
    public func effective(for cfg: ModelConfig) -> ProcessingOptions {
        var o = self
        if cfg.normalizationType != .layerNorm || cfg.finalRMS { o.centerWritingWeights = false }
        if cfg.outputLogitsSoftCap > 0 { o.centerUnembed = false }
        return o
    }
    /// from_pretrained_no_processing.
    public static let none = ProcessingOptions(foldLN: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false)
}

extension ModelWeights {
    /// Applies the processing steps in TransformerLens's order. Each step touches every block on
    /// its own, so the blocks can be processed one at a time as a loader reads them
    /// (`LayerWeights.process`, then `processEnds` with `includingLayers: false`): same numbers.
    public mutating func process(_ options: ProcessingOptions, config cfg: ModelConfig, includingLayers: Bool = true) {
        if includingLayers { for l in layers.indices { layers[l].process(options, config: cfg) } }
        let d = cfg.dModel
        if options.foldLN {
            if let w = lnFinalW { Self.foldNorm(w: w, b: lnFinalB, into: &wU, bias: &bU, rows: d) }
            lnFinalW = nil; lnFinalB = nil
        }
        // TransformerLens centres writing weights only for LayerNorm models (GPT-2 is one).
        if options.centerWritingWeights {
            Self.centerRows(&wE, width: d)
            if !wPos.isEmpty { Self.centerRows(&wPos, width: d) }
        }
        if options.centerUnembed {
            Self.centerRows(&wU, width: cfg.dVocab)
            Self.centerRows(&bU, width: cfg.dVocab)
        }
    }
}

extension LayerWeights {
    /// The processing steps' share of one block, in TransformerLens's order.
    public mutating func process(_ options: ProcessingOptions, config cfg: ModelConfig) {
        let d = cfg.dModel
        if options.foldLN {
            // LayerNorm: fold weight and bias, then centre the readers; RMSNorm: weight only
            // (TransformerLens's fold_layer_norm with fold_biases=False, center_weights=False).
            if let w = ln1W {
                ModelWeights.foldNorm(w: w, b: ln1B, into: &wQKV, bias: &bQKV, rows: d)
            }
            if let w = ln2W {
                ModelWeights.foldNorm(w: w, b: ln2B, into: &wIn, bias: &bIn, rows: d)
                if var gate = wGate {
                    var unused = [Float](repeating: 0, count: cfg.dMLP)
                    ModelWeights.foldNorm(w: w, b: ln2B, into: &gate, bias: &unused, rows: d)
                    wGate = gate
                }
            }
            ln1W = nil; ln1B = nil; ln2W = nil; ln2B = nil
        }
        if options.centerWritingWeights {
            ModelWeights.centerRows(&wO, width: d)
            ModelWeights.centerRows(&bO, width: d)
            ModelWeights.centerRows(&wOut, width: d)
            ModelWeights.centerRows(&bOut, width: d)
        }
        if options.foldValueBiases {
            let H = cfg.nHeads, dh = cfg.dHead, vStart = (H + cfg.kvHeads) * dh
            // b_O += Σ_h Σ_d b_V[kv(h),d] · W_O[h,d,:]; b_V = 0. Valid because pattern rows sum
            // to 1. Under grouped-query attention each query head reads its group's b_V.
            var bOSum = bO.map(Double.init)
            for h in 0..<H {
                let kv = h / cfg.queriesPerKVHead
                for j in 0..<dh {
                    let bv = Double(bQKV[vStart + kv * dh + j])
                    if bv == 0 { continue }
                    let row = (h * dh + j) * d
                    for i in 0..<d { bOSum[i] += bv * Double(wO[row + i]) }
                }
            }
            bO = bOSum.map(Float.init)
            for r in vStart..<bQKV.count { bQKV[r] = 0 }
            if options.centerWritingWeights { ModelWeights.centerRows(&bO, width: d) }
        }
    }
}

extension ModelWeights {
    /// fold_ln for one norm: LayerNorm (weight and bias, then centring) or RMSNorm (weight only).
    static func foldNorm(w: [Float], b: [Float]?, into W: inout [Float], bias: inout [Float], rows: Int) {
        if let b {
            foldLayerNorm(w: w, b: b, into: &W, bias: &bias, rows: rows)
            return
        }
        let cols = W.count / rows
        W.withUnsafeMutableBufferPointer { wp in
            for i in 0..<rows {
                let scale = w[i]
                for c in 0..<cols { wp[i * cols + c] *= scale }
            }
        }
    }

    /// Folds LayerNorm weight `w` and bias `b` into a reader matrix W [rows = d_model, cols]:
    /// bias += bᵀW (before scaling), W ← diag(w)·W, then each column is centred over d_model.
    /// Columns are split into blocks over the cores; sums are Float like TransformerLens's.
    static func foldLayerNorm(w: [Float], b: [Float], into W: inout [Float], bias: inout [Float], rows: Int) {
        let cols = bias.count
        // Column blocks over the cores once the matrix is big enough to pay for the hand-off.
        let blocks = rows * cols >= 1 << 20 ? Parallel.width * 4 : 1
        W.withUnsafeMutableBufferPointer { wp in
            bias.withUnsafeMutableBufferPointer { bp in
                let W = wp.baseAddress!, bias = bp.baseAddress!
                Parallel.forEachChunk(of: cols, chunks: blocks) { columns in
                    let c0 = columns.lowerBound, n = columns.count
                    var mean = [Float](repeating: 0, count: n)
                    mean.withUnsafeMutableBufferPointer { m in
                        for i in 0..<rows {
                            let row = W + i * cols + c0, bi = b[i], wi = w[i]
                            for c in 0..<n {
                                let v = row[c]
                                bias[c0 + c] += bi * v
                                let scaled = v * wi
                                row[c] = scaled
                                m[c] += scaled
                            }
                        }
                        let inv = 1 / Float(rows)
                        for c in 0..<n { m[c] *= inv }
                        for i in 0..<rows {
                            let row = W + i * cols + c0
                            for c in 0..<n { row[c] -= m[c] }
                        }
                    }
                }
            }
        }
    }

    /// Subtracts each row's mean (rows of length `width`), rows split over the cores.
    static func centerRows(_ x: inout [Float], width: Int) {
        let rows = x.count / width
        let chunks = rows >= 1024 ? Parallel.width : 1
        x.withUnsafeMutableBufferPointer { xp in
            let x = xp.baseAddress!
            Parallel.forEachChunk(of: rows, chunks: chunks) { range in
                for r in range {
                    let row = x + r * width
                    // Four running sums: one Double chain would wait on each add's latency.
                    var s0: Double = 0, s1: Double = 0, s2: Double = 0, s3: Double = 0
                    var i = 0
                    while i + 4 <= width {
                        s0 += Double(row[i]); s1 += Double(row[i + 1]); s2 += Double(row[i + 2]); s3 += Double(row[i + 3])
                        i += 4
                    }
                    while i < width { s0 += Double(row[i]); i += 1 }
                    let mean = Float(((s0 + s1) + (s2 + s3)) / Double(width))
                    for i in 0..<width { row[i] -= mean }
                }
            }
        }
    }
}
