// A LayerNorm or RMSNorm recomputed without its weight or bias, row by row over the last axis:
// what TransformerLens's apply_ln does with recompute (the logit lens), and a norm's own scale
// (direct logit attribution's final scale). One implementation for the cache analyses, the logit
// lens's decode and the plans' norm_scale summary, so their numbers agree to the bit.
public enum RecomputedNorm {
    /// Subtracts each row's mean (LayerNorm models; RMSNorm does not centre).
    public static func center(_ x: UnsafeMutableBufferPointer<Float>, d: Int) {
        for r in 0..<(x.count / d) {
            var s: Float = 0
            for i in 0..<d { s += x[r * d + i] }
            let mean = s / Float(d)
            for i in 0..<d { x[r * d + i] -= mean }
        }
    }

    /// Each row's scale √(mean(x²) + eps), of rows already centred where the norm centres.
    public static func scales(_ x: UnsafeBufferPointer<Float>, d: Int, eps: Float) -> [Float] {
        (0..<(x.count / d)).map { r in
            var sq: Float = 0
            for i in 0..<d { sq += x[r * d + i] * x[r * d + i] }
            return (sq / Float(d) + eps).squareRoot()
        }
    }

    /// Each row divided by its own scale (rows already centred where the norm centres).
    public static func divideByScale(_ x: UnsafeMutableBufferPointer<Float>, d: Int, eps: Float) {
        let s = scales(UnsafeBufferPointer(x), d: d, eps: eps)
        for r in s.indices {
            let inv = 1 / s[r]
            for i in 0..<d { x[r * d + i] *= inv }
        }
    }

    /// Centres (when `center`) and divides by the recomputed scale, in place.
    public static func normalize(_ x: inout [Float], d: Int, center: Bool, eps: Float) {
        x.withUnsafeMutableBufferPointer { b in
            if center { Self.center(b, d: d) }
            divideByScale(b, d: d, eps: eps)
        }
    }
}
