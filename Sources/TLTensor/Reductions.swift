// Reductions along one axis and top-k, for the language's `mean(x, over=pos)` and for tables.

public enum Reduction: String, Sendable, CaseIterable {
    case sum, mean, max, min, norm, argmax, argmin
}

extension Tensor {
    /// Reduces `axis` away (or keeps it with length 1 when `keepAxis`).
    public func reduce(_ kind: Reduction, axis a: Int, keepAxis: Bool = false) throws -> Tensor {
        let ax = try axis(a)
        let (outer, length, inner) = split(at: ax)
        guard length > 0 || kind == .sum || kind == .norm else {
            throw TLTensorError.shapeMismatch("\(kind.rawValue) over an empty axis")
        }
        var out = [Float](repeating: 0, count: outer * inner)
        data.withUnsafeBufferPointer { src in
            for o in 0..<outer {
                for t in 0..<inner {
                    let base = o * length * inner + t
                    var acc: Float
                    switch kind {
                    case .sum, .mean, .norm:
                        var s: Double = 0
                        for j in 0..<length {
                            let v = Double(src[base + j * inner])
                            s += kind == .norm ? v * v : v
                        }
                        acc = kind == .mean ? Float(s / Double(length)) : kind == .norm ? Float(s.squareRoot()) : Float(s)
                    case .max, .min, .argmax, .argmin:
                        var best = src[base], bestIndex = 0
                        for j in 1..<max(length, 1) {
                            let v = src[base + j * inner]
                            if (kind == .max || kind == .argmax) ? v > best : v < best { best = v; bestIndex = j }
                        }
                        acc = (kind == .argmax || kind == .argmin) ? Float(bestIndex) : best
                    }
                    out[o * inner + t] = acc
                }
            }
        }
        var s = shape
        if keepAxis { s[ax] = 1 } else { s.remove(at: ax) }
        return Tensor(shape: s, data: out)
    }

    /// Reduces every element to one scalar tensor.
    public func reduceAll(_ kind: Reduction) throws -> Tensor {
        try reshaped([count]).reduce(kind, axis: 0)
    }

    /// Indices and values of the `k` largest elements of a 1-D slice, largest first; ties keep the
    /// lower index first (as torch.topk does on CPU for distinct values).
    public static func topK(_ values: UnsafeBufferPointer<Float>, k: Int) -> [(index: Int, value: Float)] {
        let k = Swift.min(k, values.count)
        guard k > 0 else { return [] }
        var heap: [(index: Int, value: Float)] = []
        heap.reserveCapacity(k + 1)
        for i in 0..<values.count {
            let v = values[i]
            if heap.count < k {
                heap.append((i, v))
                if heap.count == k { heap.sort { $0.value > $1.value || ($0.value == $1.value && $0.index < $1.index) } }
            } else if v > heap[k - 1].value {
                // Insertion into a sorted array is fine for the small k used by tables.
                var j = k - 1
                heap[j] = (i, v)
                while j > 0 && heap[j - 1].value < v { heap.swapAt(j, j - 1); j -= 1 }
            }
        }
        if heap.count < k || k == values.count { heap.sort { $0.value > $1.value || ($0.value == $1.value && $0.index < $1.index) } }
        return heap
    }

    /// Top-k of the last axis of a 1-D tensor.
    public func topK(_ k: Int) -> [(index: Int, value: Float)] {
        data.withUnsafeBufferPointer { Tensor.topK($0, k: k) }
    }
}
