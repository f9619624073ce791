// Sparse autoencoders and transcoders with SAELens 6's inference semantics (encode, decode, the
// hook_sae_* values), on rows of any activation: the caller flattens [batch, pos, ...] to
// [rows, d_in], so the same code serves any hook of any model family.
import Foundation
import TLTensor

/// What encoding produced, per row: the values of hook_sae_input, hook_sae_acts_pre and
/// hook_sae_acts_post, plus the per-row scale and shift that undo the input normalization.
public struct SAEEncoding: Sendable {
    /// hook_sae_input [rows, d_in]: the input before normalization and b_dec.
    public var input: Tensor
    /// hook_sae_acts_pre [rows, d_sae] (the magnitude path for gated SAEs).
    public var pre: Tensor
    /// hook_sae_acts_post [rows, d_sae]: the feature activations.
    public var post: Tensor
    /// Output = recons · scale + shift per row (nil: identity).
    var outScale: [Float]?
    var outShift: [Float]?
}

public final class SparseAutoencoder: @unchecked Sendable {
    public let config: SAEConfig
    /// [d_in, d_sae]
    public let wEnc: [Float]
    /// [d_sae]; zeros for gated SAEs, which have b_gate and b_mag instead.
    public let bEnc: [Float]
    /// [d_sae, d_out]
    public let wDec: [Float]
    /// [d_out]
    public let bDec: [Float]
    /// JumpReLU / BatchTopK threshold [d_sae].
    public let threshold: [Float]?
    /// Gated: b_gate, b_mag [d_sae] and W_enc · exp(r_mag) [d_in, d_sae], made once at load.
    let bGate: [Float]?, bMag: [Float]?, rMag: [Float]?, wEncMagnitude: [Float]?
    /// Skip transcoders: W_skip [d_out, d_in] (SAELens applies it in the transcoder's forward,
    /// not when HookedSAETransformer splices it).
    public let wSkip: [Float]?
    /// log10 of each feature's firing density (sparsity.safetensors), when shipped.
    public let logSparsity: [Float]?
    /// ‖W_dec[f]‖ per feature.
    public let decoderNorms: [Float]
    /// Where it came from, for display.
    public let source: String

    init(config: SAEConfig, tensors: [String: [Float]], logSparsity: [Float]?, source: String) {
        self.config = config
        let dSae = config.dSae, dOut = config.dOut, dIn = config.dIn
        let wEnc = tensors["W_enc"]!, wDec = tensors["W_dec"]!
        self.wEnc = wEnc; self.wDec = wDec; self.bDec = tensors["b_dec"]!
        bEnc = tensors["b_enc"] ?? [Float](repeating: 0, count: dSae)
        threshold = tensors["threshold"]
        if config.architecture == .gated {
            // W_enc · exp(r_mag), as SAELens forms it on every encode.
            let rMag = tensors["r_mag"]!
            let factor = rMag.map { Float(exp(Double($0))) }
            var mag = wEnc
            for i in 0..<dIn { for f in 0..<dSae { mag[i * dSae + f] = wEnc[i * dSae + f] * factor[f] } }
            wEncMagnitude = mag
            bGate = tensors["b_gate"]!; bMag = tensors["b_mag"]!; self.rMag = rMag
        } else {
            wEncMagnitude = nil; bGate = nil; bMag = nil; rMag = nil
        }
        wSkip = tensors["W_skip"]
        self.logSparsity = logSparsity
        self.source = source
        decoderNorms = (0..<dSae).map { f in
            var s: Float = 0
            for j in 0..<dOut { let w = wDec[f * dOut + j]; s += w * w }
            return s.squareRoot()
        }
    }

    /// A copy with a dataset-level input scale folded in (SAELens's
    /// fold_activation_norm_scaling_factor, used for releases that list norm_scaling_factor).
    public func foldingNormScalingFactor(_ s: Float) -> SparseAutoencoder {
        var t: [String: [Float]] = ["W_enc": wEnc.map { $0 * s }, "b_enc": bEnc, "W_dec": wDec.map { $0 / s }, "b_dec": bDec.map { $0 / s }]
        if let threshold { t["threshold"] = threshold }
        if let bGate, let bMag, let rMag { t["b_gate"] = bGate; t["b_mag"] = bMag; t["r_mag"] = rMag }
        if let wSkip { t["W_skip"] = wSkip }
        var c = config
        c.normalization = .none
        return SparseAutoencoder(config: c, tensors: t, logSparsity: logSparsity, source: source)
    }

    // MARK: Loading

    /// Loads SAELens's layout: cfg.json + sae_weights.safetensors (+ sparsity.safetensors).
    public static func load(directory: URL) throws -> SparseAutoencoder {
        let cfgURL = directory.appendingPathComponent("cfg.json")
        let data: Data
        do { data = try Data(contentsOf: cfgURL) } catch {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir)
            throw SAEError.unreadable(path: cfgURL.path, reason: exists && isDir.boolValue
                ? "the directory has no readable cfg.json; tlsh reads SAELens's layout (cfg.json + sae_weights.safetensors), Gemma Scope (params.npz), Gemma Scope 2 (params.safetensors) and Llama Scope (hyperparams.json + checkpoints/final.safetensors)"
                : "no such directory")
        }
        let config = try SAEConfig.parse(json: data, path: cfgURL.path)
        let weightsPath = directory.appendingPathComponent("sae_weights.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw SAEError.unreadable(path: weightsPath, reason: "missing; SAELens's layout keeps the weights in sae_weights.safetensors beside cfg.json")
        }
        let file = try SafeTensorsFile(path: weightsPath)
        let tensors = try readTensors(file, config: config)
        var sparsity: [Float]?
        let sparsityPath = directory.appendingPathComponent("sparsity.safetensors").path
        if FileManager.default.fileExists(atPath: sparsityPath) {
            let s = try SafeTensorsFile(path: sparsityPath)
            if let key = s.tensors.keys.sorted().first(where: { $0 == "sparsity" }) ?? s.tensors.keys.sorted().first {
                let t = try s.tensor(key)
                if t.data.count == config.dSae { sparsity = t.data }
            }
        }
        return SparseAutoencoder(config: config, tensors: tensors, logSparsity: sparsity, source: directory.path)
    }

    static func readTensors(_ file: SafeTensorsFile, config c: SAEConfig) throws -> [String: [Float]] {
        let arch = c.architecture
        var expected: [String: [Int]] = ["W_enc": [c.dIn, c.dSae], "W_dec": [c.dSae, c.dOut], "b_dec": [c.dOut]]
        if arch == .gated {
            expected["b_gate"] = [c.dSae]; expected["b_mag"] = [c.dSae]; expected["r_mag"] = [c.dSae]
        } else {
            expected["b_enc"] = [c.dSae]
        }
        if arch.hasSkip { expected["W_skip"] = [c.dOut, c.dIn] }
        var out: [String: [Float]] = [:]
        for (key, shape) in expected {
            guard let info = file.tensors[key] else { throw SAEError.missingTensor(key: key, architecture: arch.rawValue) }
            guard info.shape == shape else { throw SAEError.wrongShape(key: key, expected: shape, found: info.shape) }
            out[key] = try file.tensor(key).data
        }
        if arch.usesThreshold {
            if let info = file.tensors["threshold"] {
                guard info.shape == [c.dSae] else { throw SAEError.wrongShape(key: "threshold", expected: [c.dSae], found: info.shape) }
                out["threshold"] = try file.tensor("threshold").data
            } else if let info = file.tensors["log_threshold"], info.shape == [c.dSae] {
                out["threshold"] = try file.tensor("log_threshold").data.map { Float(exp(Double($0))) }
            } else if arch == .batchtopk, let info = file.tensors["topk_threshold"], info.shape.reduce(1, *) == 1 {
                // A BatchTopK training checkpoint: at inference every feature shares the threshold.
                if c.rescaleActsByDecoderNorm {
                    throw SAEError.unsupported("a batchtopk training checkpoint with rescale_acts_by_decoder_norm must be saved for inference first (SAELens save_inference_model)")
                }
                let t = try file.tensor("topk_threshold").data[0]
                out["threshold"] = [Float](repeating: t, count: c.dSae)
            } else {
                throw SAEError.missingTensor(key: "threshold", architecture: arch.rawValue)
            }
        }
        for key in ["scaling_factor", "finetuning_scaling_factor"] where file.tensors[key] != nil {
            // SAELens drops an all-ones factor and refuses others in its 6.x inference classes.
            if try file.tensor(key).data.contains(where: { $0 != 1 }) {
                throw SAEError.unsupported("this SAE has a finetuning scaling factor that is not 1; tlsh does not support finetuned scaling (SAELens < 6)")
            }
        }
        return out
    }

    // MARK: Encoding and decoding

    /// The rows as the encoder reads them: hook_sae_input [rows, d_in], the input after the
    /// normalization and b_dec, and the per-row scale and shift that undo the normalization.
    func normalizedInput(_ x: Tensor) -> (input: Tensor, sae: [Float], outScale: [Float]?, outShift: [Float]?) {
        let c = config, n = x.count / c.dIn, dIn = c.dIn
        let input = Tensor(shape: [n, dIn], data: x.data)
        var sae = input.data
        var outScale: [Float]?, outShift: [Float]?
        switch c.normalization {
        case .none, .expectedAverageOnlyIn: break
        case .constantNormRescale:
            var scales = [Float](repeating: 1, count: n)
            for r in 0..<n {
                var s: Float = 0
                for i in 0..<dIn { s += sae[r * dIn + i] * sae[r * dIn + i] }
                let coeff = Float(Double(dIn).squareRoot()) / s.squareRoot()
                for i in 0..<dIn { sae[r * dIn + i] *= coeff }
                scales[r] = coeff
            }
            // Kept as the coefficient: SAELens divides by it on the way out (decode).
            outScale = scales
        case .layerNorm:
            var stds = [Float](repeating: 1, count: n), mus = [Float](repeating: 0, count: n)
            for r in 0..<n {
                var mu: Float = 0
                for i in 0..<dIn { mu += sae[r * dIn + i] }
                mu /= Float(dIn)
                var ss: Float = 0
                for i in 0..<dIn { sae[r * dIn + i] -= mu; ss += sae[r * dIn + i] * sae[r * dIn + i] }
                let std = (ss / Float(max(dIn - 1, 1))).squareRoot()  // torch.std: unbiased
                for i in 0..<dIn { sae[r * dIn + i] /= (std + 1e-5) }
                stds[r] = std; mus[r] = mu
            }
            outScale = stds; outShift = mus
        }
        if c.applyBDecToInput {
            for r in 0..<n { for i in 0..<dIn { sae[r * dIn + i] -= bDec[i] } }
        }
        return (input, sae, outScale, outShift)
    }

    /// Encodes rows of the input hook's activation: x [rows, d_in] (flattened by the caller).
    public func encode(_ x: Tensor) -> SAEEncoding {
        let c = config, dIn = c.dIn, dSae = c.dSae
        let (input, sae, outScale, outShift) = normalizedInput(x)
        let n = input.shape[0]
        var pre = [Float](repeating: 0, count: n * dSae)
        multiply(sae, rows: n, inner: dIn, wEncMagnitude ?? wEnc, cols: dSae, into: &pre)
        var post = [Float](repeating: 0, count: n * dSae)
        if c.architecture == .topk {
            addBias(&pre, rows: n, bEnc)
            let k = min(c.k ?? dSae, dSae)
            var scored = pre
            if c.rescaleActsByDecoderNorm {
                for r in 0..<n { for f in 0..<dSae { scored[r * dSae + f] *= decoderNorms[f] } }
            }
            scored.withUnsafeBufferPointer { s in
                for r in 0..<n {
                    let row = UnsafeBufferPointer(rebasing: s[(r * dSae)..<((r + 1) * dSae)])
                    for (f, v) in Tensor.topK(row, k: k) { post[r * dSae + f] = max(v, 0) }
                }
            }
        } else {
            var gate = [Float](repeating: 0, count: c.architecture == .gated ? n * dSae : 0)
            if !gate.isEmpty { multiply(sae, rows: n, inner: dIn, wEnc, cols: dSae, into: &gate) }
            // Bias and activation in one pass per row, the rows split over the engine's threads.
            pre.withUnsafeMutableBufferPointer { p in
                gate.withUnsafeBufferPointer { g in
                    post.withUnsafeMutableBufferPointer { q in
                        Parallel.forEachChunk(of: n, chunks: n * dSae >= 1 << 16 ? Parallel.width : 1) { rows in
                            for r in rows {
                                activate(pre: p.baseAddress! + r * dSae, gate: g.isEmpty ? nil : g.baseAddress! + r * dSae,
                                         post: q.baseAddress! + r * dSae, features: 0, count: dSae)
                            }
                        }
                    }
                }
            }
        }
        return SAEEncoding(input: input, pre: Tensor(shape: [n, dSae], data: pre), post: Tensor(shape: [n, dSae], data: post),
                           outScale: outScale, outShift: outShift)
    }

    /// hook_sae_acts_pre and hook_sae_acts_post of one row's features [f0, f0 + count) from the
    /// encoder products (any architecture but TopK): `pre` holds x · W_enc (gated: x · W_enc ·
    /// exp(r_mag)) and gets the bias added in place; `gate` holds x · W_enc for gated SAEs.
    @inline(__always)
    func activate(pre: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>?, post: UnsafeMutablePointer<Float>, features f0: Int, count: Int) {
        if let gate, let bGate, let bMag {
            bGate.withUnsafeBufferPointer { bg in
                bMag.withUnsafeBufferPointer { bm in
                    for j in 0..<count {
                        pre[j] += bm[f0 + j]
                        let active = gate[j] + bg[f0 + j] > 0
                        post[j] = active ? max(pre[j], 0) : 0
                    }
                }
            }
            return
        }
        bEnc.withUnsafeBufferPointer { b in
            if let threshold {
                threshold.withUnsafeBufferPointer { th in
                    for j in 0..<count { pre[j] += b[f0 + j]; let v = pre[j]; post[j] = v > th[f0 + j] ? max(v, 0) : 0 }
                }
            } else {
                for j in 0..<count { pre[j] += b[f0 + j]; post[j] = max(pre[j], 0) }
            }
        }
    }

    /// Decodes feature activations: hook_sae_recons [rows, d_out], and the output the model
    /// continues with (recons mapped back through the input normalization; transcoders do not).
    public func decode(_ acts: Tensor, encoding: SAEEncoding? = nil) -> (recons: Tensor, output: Tensor) {
        let c = config, dSae = c.dSae, dOut = c.dOut, n = acts.count / dSae
        var a = acts.data
        if c.architecture == .topk && c.rescaleActsByDecoderNorm {
            for r in 0..<n { for f in 0..<dSae { a[r * dSae + f] *= 1 / decoderNorms[f] } }
        }
        var recons = [Float](repeating: 0, count: n * dOut)
        // Feature activations are sparse (an L0 of tens to hundreds of 24,576): summing the active
        // features' decoder rows reads a few percent of W_dec instead of multiplying it all.
        let active = a.reduce(0) { $1 != 0 ? $0 + 1 : $0 }
        if active * Self.sparseDecodeRatio <= n * dSae {
            sparseMultiply(a, rows: n, inner: dSae, wDec, cols: dOut, into: &recons)
        } else {
            multiply(a, rows: n, inner: dSae, wDec, cols: dOut, into: &recons)
        }
        return finishDecode(recons, rows: n, outScale: encoding?.outScale, outShift: encoding?.outShift)
    }

    /// recons (x̂ before b_dec) plus b_dec, and the output: recons mapped back through the input
    /// normalization (transcoders do not normalize).
    func finishDecode(_ products: [Float], rows n: Int, outScale: [Float]?, outShift: [Float]?) -> (recons: Tensor, output: Tensor) {
        let c = config, dOut = c.dOut
        var recons = products
        addBias(&recons, rows: n, bDec)
        var out = recons
        if !c.architecture.isTranscoder {
            if let scale = outScale {
                let divides = c.normalization == .constantNormRescale
                for r in 0..<n { for j in 0..<dOut { out[r * dOut + j] = divides ? out[r * dOut + j] / scale[r] : out[r * dOut + j] * scale[r] } }
            }
            if let shift = outShift {
                for r in 0..<n { for j in 0..<dOut { out[r * dOut + j] += shift[r] } }
            }
        }
        return (Tensor(shape: [n, dOut], data: recons), Tensor(shape: [n, dOut], data: out))
    }

    /// SAELens's SAE.forward (transcoders: Transcoder.forward, with W_skip for skip transcoders).
    public func forward(_ x: Tensor) -> Tensor {
        let e = encode(x)
        var out = decode(e.post, encoding: e).output
        if let wSkip {
            let n = x.count / config.dIn
            var skip = [Float](repeating: 0, count: n * config.dOut)
            x.data.withUnsafeBufferPointer { xp in
                wSkip.withUnsafeBufferPointer { wp in
                    skip.withUnsafeMutableBufferPointer { sp in
                        BLAS.sgemm(transB: true, m: n, n: config.dOut, k: config.dIn, a: xp.baseAddress!, lda: config.dIn,
                                   b: wp.baseAddress!, ldb: config.dIn, c: sp.baseAddress!, ldc: config.dOut)
                    }
                }
            }
            for i in 0..<out.data.count { out.data[i] += skip[i] }
        }
        return out
    }

    /// One feature's decoder row [d_out].
    public func decoderDirection(_ feature: Int) -> [Float] {
        Array(wDec[(feature * config.dOut)..<((feature + 1) * config.dOut)])
    }

    /// One feature's encoder column [d_in].
    public func encoderDirection(_ feature: Int) -> [Float] {
        (0..<config.dIn).map { wEnc[$0 * config.dSae + feature] }
    }

    // MARK: Helpers

    private func multiply(_ a: [Float], rows: Int, inner: Int, _ b: [Float], cols: Int, into c: inout [Float]) {
        guard rows > 0 else { return }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.sgemm(m: rows, n: cols, k: inner, a: ap.baseAddress!, lda: inner, b: bp.baseAddress!, ldb: cols,
                               c: cp.baseAddress!, ldc: cols)
                }
            }
        }
    }

    /// Decode sums active rows when at most 1 in this many activations is non-zero. The row sums
    /// run several times slower per multiply-add than the blocked GEMM, so they pay only when they
    /// skip most of the work; real SAEs fire well under 1% of their features.
    static let sparseDecodeRatio = 16

    /// c = a · b for a mostly-zero `a` [rows, inner]: each row of c sums b's rows at a's non-zeros.
    private func sparseMultiply(_ a: [Float], rows: Int, inner: Int, _ b: [Float], cols: Int, into c: inout [Float]) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    for r in 0..<rows {
                        let out = cp.baseAddress! + r * cols
                        for f in 0..<inner {
                            let v = ap[r * inner + f]
                            if v == 0 { continue }
                            let row = bp.baseAddress! + f * cols
                            for j in 0..<cols { out[j] += v * row[j] }
                        }
                    }
                }
            }
        }
    }

    private func addBias(_ x: inout [Float], rows: Int, _ bias: [Float]) {
        let d = bias.count
        for r in 0..<rows { for j in 0..<d { x[r * d + j] += bias[j] } }
    }
}
