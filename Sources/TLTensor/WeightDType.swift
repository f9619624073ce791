// The precision a model keeps its weight matrices in (`model NAME dtype=`): Float32, or 16-bit
// bfloat16 / IEEE half panels that the products widen to Float32 as they read them (halfgemm.c).
// Activations, hooks and every accumulation stay Float32 whatever the dtype.
internal import TLKernels

public enum WeightDType: String, Sendable, CaseIterable {
    case f32, bf16, f16

    /// Bytes per stored weight.
    public var byteWidth: Int { self == .f32 ? 4 : 2 }

    /// The kernels' format code (TLK_HALF_*); nil for Float32.
    var halfFormat: Int32? {
        switch self {
        case .f32: return nil
        case .bf16: return Int32(TLK_HALF_BF16)
        case .f16: return Int32(TLK_HALF_F16)
        }
    }

    /// `x` as this dtype stores it (rounded to nearest even; Float32 unchanged).
    public func rounded(_ x: Float) -> Float {
        guard let f = halfFormat else { return x }
        return tlk_half_to_float(f, tlk_float_to_half(f, x))
    }

    /// The 16-bit pattern of `x` in this (half) dtype.
    public func bits(_ x: Float) -> UInt16 { tlk_float_to_half(halfFormat ?? Int32(TLK_HALF_BF16), x) }

    /// The naive product the packed kernels are checked against: C[m×n] = A[m×k] · B[k×n] with B
    /// row-major 16-bit values of this dtype, one scalar Float32 sum per output.
    public func referenceProduct(m: Int, k: Int, n: Int, a: [Float], b: [UInt16]) -> [Float] {
        precondition(self != .f32 && a.count == m * k && b.count == k * n)
        var c = [Float](repeating: 0, count: m * n)
        tlk_gemm_half_reference(m, k, n, a, b, halfFormat!, &c)
        return c
    }
}
