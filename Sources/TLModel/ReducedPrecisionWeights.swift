// The weight matrices as bfloat16 tiles for `set matmul=high|medium` (TLTensor/MatmulPrecision),
// built on first use of each matrix so that models run at the default precision pay nothing.
// Weights never change after init, so a packed copy never goes stale.
import Synchronization
import TLTensor

/// Which of the model's weight products a `linear` call is.
enum WeightSlot: Hashable, Sendable {
    case qkv(Int), o(Int), mlpIn(Int), mlpOut(Int), unembed
}

final class ReducedPrecisionWeights: Sendable {
    private let matrices = Mutex<[WeightSlot: BF16Matrix]>([:])

    /// W [rows × columns] in bf16 tiles, packed on first request; nil where AMX is unavailable.
    func matrix(_ slot: WeightSlot, _ w: [Float], rows: Int, columns: Int) -> BF16Matrix? {
        matrices.withLock { cache in
            if let m = cache[slot] { return m }
            guard let m = BF16Matrix(w, rows: rows, columns: columns) else { return nil }
            cache[slot] = m
            return m
        }
    }

    /// How many matrices have been packed.
    var count: Int { matrices.withLock { $0.count } }
}

extension HookedTransformer {
    /// The 64-column panels of the weight in `slot`, if they were built.
    func panels(_ slot: WeightSlot) -> PackedMatrix? {
        switch slot {
        case .qkv(let l): return packedLayers[l].qkv
        case .o(let l): return packedLayers[l].o
        case .mlpIn(let l): return packedLayers[l].mlpIn
        case .mlpOut(let l): return packedLayers[l].mlpOut
        case .unembed: return packedUnembed
        }
    }
}
