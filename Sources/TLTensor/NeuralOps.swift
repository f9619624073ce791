// The few neural-network kernels a GPT-2 forward pass needs, on raw buffers so the engine can run
// them in place. Float32 throughout, like TransformerLens's default. The hot ones are vectorised C
// (Sources/TLKernels); the rest stay in Swift.
import Foundation
internal import TLKernels

public enum NeuralOps {
    /// LayerNormPre over rows of length `d`: x ← (x − mean) / scale with
    /// scale = sqrt(mean((x − mean)²) + eps). Writes each row's scale into `scales` [rows].
    public static func layerNormPre(_ x: UnsafeMutablePointer<Float>, rows: Int, d: Int, eps: Float,
                                    scales: UnsafeMutablePointer<Float>) {
        tlk_layernorm_pre(x, rows, d, eps, scales)
    }

    /// y = x · w + b per row (the affine part of LayerNorm when weights are not folded).
    public static func affine(_ x: UnsafeMutablePointer<Float>, rows: Int, d: Int,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * d
            for i in 0..<d { row[i] = row[i] * weight[i] + bias[i] }
        }
    }

    /// GPT-2's tanh-approximated GELU ("gelu_new"), in place.
    public static func geluNew(_ x: UnsafeMutablePointer<Float>, count: Int) {
        tlk_gelu_new(x, count)
    }

    /// Softmax of one row in place; −inf entries become 0, and a row of only −inf becomes zeros
    /// (TransformerLens turns the NaN of such a row into 0).
    @inline(__always)
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int) {
        tlk_softmax_row(row, count)
    }

    /// Adds a bias vector of length `n` to each of `rows` rows.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        tlk_add_bias(x, rows, n, bias)
    }

    /// log-softmax of one row into `out`.
    public static func logSoftmax(_ row: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>) {
        var maxV = -Float.infinity
        for i in 0..<count where row[i] > maxV { maxV = row[i] }
        var sum: Double = 0
        for i in 0..<count { sum += Double(expf(row[i] - maxV)) }
        let lse = maxV + Float(log(sum))
        for i in 0..<count { out[i] = row[i] - lse }
    }
}

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        var t = self
        let n = shape.last ?? 1
        t.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<(n == 0 ? 0 : count / n) { NeuralOps.softmaxRow(p.baseAddress! + r * n, count: n) }
        }
        return t
    }

    /// Log-softmax over the last axis.
    public func logSoftmax() -> Tensor {
        var out = [Float](repeating: 0, count: count)
        let n = shape.last ?? 1
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r in 0..<(n == 0 ? 0 : count / n) {
                    NeuralOps.logSoftmax(src.baseAddress! + r * n, count: n, out: dst.baseAddress! + r * n)
                }
            }
        }
        return Tensor(shape: shape, data: out)
    }
}
