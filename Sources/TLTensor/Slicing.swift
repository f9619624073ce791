// Indexing along one axis: the primitive behind cache lookups (`cache.resid_post[6]`), position
// slices (TransformerLens's pos_slice) and head selection.

extension Tensor {
    /// Splits the shape around `axis` into (outer, length, inner) element counts.
    @inline(__always)
    func split(at axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Gathers `indices` along `axis` (negative indices count from the end); keeps the axis.
    public func gather(axis a: Int, indices: [Int]) throws -> Tensor {
        let ax = try axis(a)
        let (outer, length, inner) = split(at: ax)
        let resolved = try indices.map { i -> Int in
            let j = i < 0 ? i + length : i
            guard j >= 0 && j < length else {
                throw TLTensorError.indexOutOfRange("index \(i) on axis \(ax) of size \(length) (valid: 0..<\(length) or -\(length)..<0)")
            }
            return j
        }
        var out = [Float](repeating: 0, count: outer * resolved.count * inner)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for o in 0..<outer {
                    for (k, j) in resolved.enumerated() {
                        let s = (o * length + j) * inner, d = (o * resolved.count + k) * inner
                        for t in 0..<inner { dst[d + t] = src[s + t] }
                    }
                }
            }
        }
        var newShape = shape
        newShape[ax] = resolved.count
        return Tensor(shape: newShape, data: out)
    }

    /// Selects one index along `axis` and drops that axis.
    public func select(axis a: Int, index: Int) throws -> Tensor {
        let ax = try axis(a)
        var t = try gather(axis: ax, indices: [index])
        var s = t.shape
        s.remove(at: ax)
        t = t.reshaped(s)
        return t
    }

    /// Half-open range `start..<end` along `axis` (Python-style negatives allowed).
    public func slice(axis a: Int, start: Int, end: Int) throws -> Tensor {
        let ax = try axis(a)
        let n = shape[ax]
        let s = max(0, min(n, start < 0 ? start + n : start))
        let e = max(s, min(n, end < 0 ? end + n : end))
        return try gather(axis: ax, indices: Array(s..<e))
    }

    /// Writes `values` into the positions `indices` along `axis`; `values` has this tensor's shape
    /// with that axis resized to `indices.count`. Used by patch setters.
    public mutating func scatter(axis a: Int, indices: [Int], values: Tensor) throws {
        let ax = try axis(a)
        let (outer, length, inner) = split(at: ax)
        var expected = shape
        expected[ax] = indices.count
        guard values.shape == expected else {
            throw TLTensorError.shapeMismatch("scatter expects values of shape \(expected), got \(values.shape)")
        }
        for i in indices where !(i >= -length && i < length) {
            throw TLTensorError.indexOutOfRange("index \(i) on axis \(ax) of size \(length)")
        }
        values.data.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBufferPointer { dst in
                for o in 0..<outer {
                    for (k, i) in indices.enumerated() {
                        let j = i < 0 ? i + length : i
                        let d = (o * length + j) * inner, s = (o * indices.count + k) * inner
                        for t in 0..<inner { dst[d + t] = src[s + t] }
                    }
                }
            }
        }
    }

    /// Reorders axes: result axis i is this tensor's axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) for rank \(rank)")
        let newShape = order.map { shape[$0] }
        let srcStrides = strides
        let permStrides = order.map { srcStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        var idx = [Int](repeating: 0, count: rank)
        data.withUnsafeBufferPointer { src in
            for flat in 0..<count {
                var off = 0
                for d in 0..<rank { off += idx[d] * permStrides[d] }
                out[flat] = src[off]
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < newShape[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: newShape, data: out)
    }

    /// Inserts a length-1 axis at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        var s = shape
        s.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
        return reshaped(s)
    }

    /// Stacks equally shaped tensors along a new leading axis.
    public static func stack(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { return Tensor(zeros: [0]) }
        var out: [Float] = []
        out.reserveCapacity(first.count * parts.count)
        for p in parts {
            guard p.shape == first.shape else {
                throw TLTensorError.shapeMismatch("cannot stack \(p.shape) with \(first.shape)")
            }
            out.append(contentsOf: p.data)
        }
        return Tensor(shape: [parts.count] + first.shape, data: out)
    }

    /// Concatenates along an existing axis.
    public static func concatenate(_ parts: [Tensor], axis a: Int) throws -> Tensor {
        guard let first = parts.first else { return Tensor(zeros: [0]) }
        let ax = try first.axis(a)
        for p in parts where p.rank != first.rank || p.shape[..<ax] != first.shape[..<ax] || p.shape[(ax + 1)...] != first.shape[(ax + 1)...] {
            throw TLTensorError.shapeMismatch("cannot concatenate \(p.shape) with \(first.shape) along axis \(ax)")
        }
        let outer = first.shape[..<ax].reduce(1, *)
        var out: [Float] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for o in 0..<outer {
            for p in parts {
                let chunk = p.shape[ax...].reduce(1, *)
                out.append(contentsOf: p.data[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        var s = first.shape
        s[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        return Tensor(shape: s, data: out)
    }
}
