// The backward of the steps the families beyond GPT-2 add to the block (Forward.swift's
// activations, shapeScores' soft-cap, Qwen3's per-head q/k norms); each pairs with its forward step.
import Foundation
import TLTensor

extension Backward {
    /// Gemma-2's soft-cap on the scores, s = cap · tanh(raw / cap), before hook_attn_scores:
    /// d raw = d s · (1 − (s / cap)²) on visible entries (masked ones carry no gradient).
    func scoresSoftCapBackward(_ l: Int, _ dScores: inout Tensor) throws {
        let cap = cfg.attnScoresSoftCap
        let scores = try act("blocks.\(l).attn.hook_attn_scores")  // [B, H, P, P], capped
        dScores.data.withUnsafeMutableBufferPointer { ds in
            scores.data.withUnsafeBufferPointer { s in
                for i in 0..<ds.count {
                    if s[i].isFinite { let t = s[i] / cap; ds[i] *= 1 - t * t } else { ds[i] = 0 }
                }
            }
        }
    }

    /// Qwen3's RMSNorm over d_head per (position, head): TransformerLens hooks it on rows
    /// [B·P·heads, d_head]; `g` [B, P, heads, dh] is the gradient at its output.
    func headNormBackward(_ g: Tensor, weight: [Float], prefix: String) throws -> Tensor {
        let dh = g.shape[3]
        let rows = Tensor(shape: [g.count / dh, dh], data: g.data)
        let dx = try normBackward(rows, weight: weight, prefix: prefix)
        return Tensor(shape: g.shape, data: dx.data)
    }

    /// The family's act_fn in place, as Forward.activate computes it (gated MLPs need act(pre) again).
    static func activate(_ t: inout Tensor, actFn: String) {
        t.data.withUnsafeMutableBufferPointer { x in
            switch actFn {
            case "gelu":
                for i in 0..<x.count { x[i] = 0.5 * x[i] * (1 + erff(x[i] / Float(2).squareRoot())) }
            case "silu":
                for i in 0..<x.count { x[i] = x[i] / (1 + expf(-x[i])) }
            case "relu":
                for i in 0..<x.count { x[i] = max(x[i], 0) }
            default:  // gelu_new and gelu_pytorch_tanh: the same tanh approximation
                if let base = x.baseAddress { NeuralOps.geluNew(base, count: x.count) }
            }
        }
    }

    /// g ← g · act′(pre) for the family's act_fn.
    ///   gelu (erf):  Φ(x) + x φ(x);   silu: σ(x)(1 + x(1 − σ(x)));   relu: [x > 0];
    ///   gelu_new / gelu_pytorch_tanh: ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³).
    static func activationBackward(_ g: inout Tensor, pre: Tensor, actFn: String) {
        let c = Float((2.0 / Double.pi).squareRoot())
        let invSqrt2 = 1 / Float(2).squareRoot(), invSqrt2Pi = 1 / Float(2 * Double.pi).squareRoot()
        g.data.withUnsafeMutableBufferPointer { gs in
            pre.data.withUnsafeBufferPointer { xs in
                switch actFn {
                case "gelu":
                    for i in 0..<gs.count {
                        let x = xs[i]
                        gs[i] *= 0.5 * (1 + erff(x * invSqrt2)) + x * expf(-0.5 * x * x) * invSqrt2Pi
                    }
                case "silu":
                    for i in 0..<gs.count {
                        let x = xs[i], s = 1 / (1 + expf(-x))
                        gs[i] *= s * (1 + x * (1 - s))
                    }
                case "relu":
                    for i in 0..<gs.count where !(xs[i] > 0) { gs[i] = 0 }
                default:
                    for i in 0..<gs.count {
                        let x = xs[i], t = tanhf(c * (x + 0.044715 * x * x * x))
                        gs[i] *= 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
                    }
                }
            }
        }
    }
}
