// Contiguous row-major Float32 tensors: the one numeric type that the engine, the library and the
// language pass around. Storage is a Swift array, so copies are copy-on-write and a tensor is a value.

/// Errors from tensor operations whose operands come from user input (shapes, indices, axes).
public enum TLTensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case indexOutOfRange(String)
    case invalidAxis(String)
    /// The machine lacks what an operation needs (the message says what and what to use instead).
    case unsupported(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .indexOutOfRange(let m): return "index out of range: \(m)"
        case .invalidAxis(let m): return "invalid axis: \(m)"
        case .unsupported(let m): return m
        }
    }
}

/// A dense Float32 tensor in row-major order. `shape == []` is a scalar holding one value.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public var data: [Float]

    /// Wraps `data` (row-major) with `shape`; the element count must match.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A tensor whose every element the caller will write before reading (outputs of products
    /// and kernels): skips zero-filling, which for large activations costs a full memory pass.
    public init(uninitialized shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, data: [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count })
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Number of elements.
    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// Row-major strides in elements.
    public var strides: [Int] { Tensor.strides(for: shape) }

    public static func strides(for shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// The single value of a one-element tensor.
    public var scalarValue: Float? { data.count == 1 ? data[0] : nil }

    /// Element at a full multi-index (negative indices count from the end).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            let j = i < 0 ? i + shape[axis] : i
            precondition(j >= 0 && j < shape[axis], "index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + j
        }
        return flat
    }

    /// Same data, new shape; one dimension may be -1 and is inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let inferred = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            s[inferred] = known == 0 ? 0 : count / known
        }
        return Tensor(shape: s, data: data)
    }

    /// Normalises a possibly negative axis, throwing for one out of range.
    public func axis(_ a: Int) throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0 && r < rank else {
            throw TLTensorError.invalidAxis("axis \(a) for a tensor of rank \(rank) (shape \(shape))")
        }
        return r
    }

    public var description: String {
        let preview = data.prefix(6).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(data.count > 6 ? ", …" : "")])"
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
