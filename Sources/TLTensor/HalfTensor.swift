// A tensor kept in 16 bits (bfloat16 or IEEE half) to halve its memory: an activation cache stored
// with `run ... store=f16|bf16` narrows each activation as it is cached and widens it back to a
// Float32 `Tensor` whenever it is read, so every consumer sees an ordinary tensor.
internal import TLKernels

public struct HalfTensor: Sendable, Equatable {
    public let shape: [Int]
    /// The 16-bit patterns, row-major.
    public let bits: [UInt16]
    /// .bf16 or .f16 (never .f32).
    public let format: WeightDType

    /// `t` rounded to `format`, to nearest even (IEEE half overflows to infinity past 65504).
    public init(narrowing t: Tensor, to format: WeightDType) {
        precondition(format != .f32, "a HalfTensor holds bf16 or f16 values")
        let f = format.halfFormat!
        self.shape = t.shape
        self.format = format
        self.bits = t.data.withUnsafeBufferPointer { src in
            [UInt16](unsafeUninitializedCapacity: src.count) { dst, initialized in
                if src.count > 0 { tlk_narrow_to_half(f, src.count, src.baseAddress!, dst.baseAddress!) }
                initialized = src.count
            }
        }
    }

    public var count: Int { bits.count }
    /// Bytes the values take (2 per element).
    public var byteCount: Int { 2 * bits.count }

    /// The values as Float32 (exact: every 16-bit value is a Float32).
    public func widened() -> Tensor {
        let f = format.halfFormat!
        let data = bits.withUnsafeBufferPointer { src in
            HugePages.array(count: src.count) { dst in tlk_widen_from_half(f, src.count, src.baseAddress!, dst.baseAddress!) }
        }
        return Tensor(shape: shape, data: data)
    }
}
