// Element-wise arithmetic with NumPy broadcasting, used by the language (`pos - neg`, `v * 2.0`)
// and by analyses.

extension Tensor {
    /// NumPy broadcasting of two shapes, or nil when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Applies `op` element-wise after broadcasting both operands.
    public static func broadcast(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) throws -> Tensor {
        if a.shape == b.shape {
            var out = a.data
            for i in 0..<out.count { out[i] = op(out[i], b.data[i]) }
            return Tensor(shape: a.shape, data: out)
        }
        guard let shape = broadcastShape(a.shape, b.shape) else {
            throw TLTensorError.shapeMismatch("cannot broadcast \(a.shape) with \(b.shape)")
        }
        let n = shape.count
        func stridesFor(_ t: Tensor) -> [Int] {
            let s = t.strides
            return (0..<n).map { i in
                let k = i - (n - t.rank)
                return k < 0 || t.shape[k] == 1 ? 0 : s[k]
            }
        }
        let sa = stridesFor(a), sb = stridesFor(b)
        let total = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: total)
        var idx = [Int](repeating: 0, count: n)
        var oa = 0, ob = 0
        for flat in 0..<total {
            out[flat] = op(a.data[oa], b.data[ob])
            var d = n - 1
            while d >= 0 {
                idx[d] += 1; oa += sa[d]; ob += sb[d]
                if idx[d] < shape[d] { break }
                oa -= sa[d] * shape[d]; ob -= sb[d] * shape[d]; idx[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: shape, data: out)
    }

    public func map(_ f: (Float) -> Float) -> Tensor { Tensor(shape: shape, data: data.map(f)) }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try broadcast(a, b, +) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try broadcast(a, b, -) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try broadcast(a, b, *) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try broadcast(a, b, /) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }

    /// In-place `self += other` for equal shapes (the residual-stream update).
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "add: \(shape) vs \(other.shape)")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                for i in 0..<d.count { d[i] += o[i] }
            }
        }
    }

    /// Largest absolute element-wise difference, for comparisons against reference values.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(count == other.count, "maxAbsDifference: \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<count {
            let a = data[i], b = other.data[i]
            if a.isInfinite && b.isInfinite && a.sign == b.sign { continue }
            let d = abs(a - b)
            if d.isNaN { return .nan }
            m = max(m, d)
        }
        return m
    }
}
