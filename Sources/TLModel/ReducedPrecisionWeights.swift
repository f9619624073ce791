// The weight matrices as bfloat16 tiles for `set matmul=high|medium` (TLTensor/MatmulPrecision),
// built on first use of each matrix so that models run at the default precision pay nothing.
// Weights never change after init, so a packed copy never goes stale.
import Synchronization
import TLTensor

/// Which of the model's weight products a `linear` call is.
enum WeightSlot: Hashable, Sendable {
    case qkv(Int), o(Int), mlpIn(Int), mlpGate(Int), mlpOut(Int), unembed
}

final class ReducedPrecisionWeights: Sendable {
    private let matrices = Mutex<[WeightSlot: BF16Matrix]>([:])
    private let decided = Mutex<[MatmulPrecision: Bool]>([:])

    /// Whether this model may build its copies for `precision`: decided once, before the first
    /// one is packed, by `HookedTransformer.reducedPrecisionFits` (where they would not fit, the
    /// products stay Float32 rather than risk running out of memory half-way through a run).
    func permitted(_ precision: MatmulPrecision, for model: HookedTransformer) -> Bool {
        decided.withLock { cache in
            if let known = cache[precision] { return known }
            let fits = model.reducedPrecisionFits(precision)
            cache[precision] = fits
            return fits
        }
    }

    /// W [rows × columns] in bf16 tiles for `precision`, packed on first request (with the lo
    /// halves only once "high" asks for them); nil where AMX is unavailable.
    func matrix(_ slot: WeightSlot, _ w: [Float], rows: Int, columns: Int, precision: MatmulPrecision) -> BF16Matrix? {
        let withLo = precision == .high
        return matrices.withLock { cache in
            if let m = cache[slot], m.hasLo || !withLo { return m }
            guard let m = BF16Matrix(w, rows: rows, columns: columns, withLo: withLo) else { return nil }
            cache[slot] = m
            return m
        }
    }

    /// How many matrices have been packed.
    var count: Int { matrices.withLock { $0.count } }
}

extension HookedTransformer {
    /// Bytes of the bf16 copies that `precision` needs for this model's weight products (hi for
    /// medium, hi and lo for high; 0 for highest).
    public func reducedPrecisionBytes(_ precision: MatmulPrecision) -> Int {
        guard precision != .highest else { return 0 }
        let d = config.dModel, hd = config.nHeads * config.dHead, lo = precision == .high
        let perLayer = BF16Matrix.bytes(rows: d, columns: config.qkvWidth, withLo: lo) + BF16Matrix.bytes(rows: hd, columns: d, withLo: lo)
            + (config.gatedMLP ? 2 : 1) * BF16Matrix.bytes(rows: d, columns: config.dMLP, withLo: lo)
            + BF16Matrix.bytes(rows: config.dMLP, columns: d, withLo: lo)
        return config.nLayers * perLayer + BF16Matrix.bytes(rows: d, columns: config.dVocab, withLo: lo)
    }

    /// Whether this model builds its copies for `precision` (else its products stay Float32):
    /// `reducedPrecisionFits` as it stood the first time anyone asked, so what the language reports
    /// and what the forward pass does agree.
    public func reducedPrecisionPermitted(_ precision: MatmulPrecision) -> Bool {
        precision == .highest || reducedWeights.permitted(precision, for: self)
    }

    /// Whether those copies fit: at most half of the memory still available (nil: unknown, so yes).
    public func reducedPrecisionFits(_ precision: MatmulPrecision, availableBytes: Int? = MemoryBudget.availableBytes()) -> Bool {
        availableBytes.map { reducedPrecisionBytes(precision) <= $0 / 2 } ?? true
    }
}

extension HookedTransformer {
    /// The 64-column panels of the weight in `slot`, if they were built.
    func panels(_ slot: WeightSlot) -> PackedMatrix? {
        switch slot {
        case .qkv(let l): return packedLayers[l].qkv
        case .o(let l): return packedLayers[l].o
        case .mlpIn(let l): return packedLayers[l].mlpIn
        case .mlpGate(let l): return packedLayers[l].mlpGate
        case .mlpOut(let l): return packedLayers[l].mlpOut
        case .unembed: return packedUnembed
        }
    }
}
