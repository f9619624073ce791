// Rotary positional embeddings as TransformerLens 3.9 computes them (calculate_sin_cos_rotary,
// rotate_every_two, apply_rotary): angles in Float32, pos / freq with freq = base^(i / (rotary_dim/2)),
// or Llama-3.1's NTK-by-parts frequencies; rotate-half or adjacent-pair pairing; dimensions past
// rotary_dim pass through.
import Foundation
import TLTensor

struct Rotary: Sendable {
    let rotaryDim: Int
    let adjacentPairs: Bool
    /// freq per rotated dimension (already repeated to rotary_dim entries, TransformerLens's layout).
    let freq: [Float]

    init(config c: ModelConfig) {
        rotaryDim = c.rotaryDim
        adjacentPairs = c.rotaryAdjacentPairs
        let half = c.rotaryDim / 2
        var f = [Float](repeating: 1, count: half)
        if let s = c.ropeScaling {
            // inv_freq = 1 / base^(2i / rotary_dim), then divided by `factor` for long wavelengths and
            // smoothly interpolated in between (transformers' _compute_llama3_parameters).
            let base = Float(c.rotaryBase)
            let factor = Float(s.factor), low = Float(s.lowFreqFactor), high = Float(s.highFreqFactor), old = Float(s.originalContext)
            let lowWavelen = old / low, highWavelen = old / high
            for i in 0..<half {
                let invFreq: Float = 1 / powf(base, Float(2 * i) / Float(c.rotaryDim))
                let wavelen = 2 * Float.pi / invFreq
                var scaled = wavelen > lowWavelen ? invFreq / factor : invFreq
                let smooth = (old / wavelen - low) / (high - low)
                let smoothed = (1 - smooth) * scaled / factor + smooth * scaled
                let medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen)
                if medium { scaled = smoothed }
                f[i] = 1 / scaled
            }
        } else {
            for i in 0..<half { f[i] = powf(Float(c.rotaryBase), Float(i) / (Float(c.rotaryDim) / 2)) }
        }
        freq = adjacentPairs ? f.flatMap { [$0, $0] } : f + f
    }

    /// Rotates x [B, P, heads, d_head] in place; `positions[b][p]` is each token's position id.
    /// `inverse` rotates back (the transpose: the backward of the rotation).
    func apply(_ x: inout Tensor, positions: [[Int]], inverse: Bool = false) {
        let B = x.shape[0], P = x.shape[1], heads = x.shape[2], dh = x.shape[3], R = rotaryDim
        guard R > 0 else { return }
        var sinTable = [Float](repeating: 0, count: R), cosTable = [Float](repeating: 0, count: R)
        var rotated = [Float](repeating: 0, count: R)
        x.data.withUnsafeMutableBufferPointer { xs in
            for b in 0..<B {
                for p in 0..<P {
                    let pos = Float(positions[b][p])
                    for i in 0..<R { let a = pos / freq[i]; sinTable[i] = inverse ? -sinf(a) : sinf(a); cosTable[i] = cosf(a) }
                    for h in 0..<heads {
                        let base = ((b * P + p) * heads + h) * dh
                        for i in 0..<R {
                            let flip: Float
                            if adjacentPairs {
                                flip = i % 2 == 0 ? -xs[base + i + 1] : xs[base + i - 1]
                            } else {
                                let n = R / 2
                                flip = i < n ? -xs[base + i + n] : xs[base + i - n]
                            }
                            rotated[i] = xs[base + i] * cosTable[i] + flip * sinTable[i]
                        }
                        for i in 0..<R { xs[base + i] = rotated[i] }
                    }
                }
            }
        }
    }
}
