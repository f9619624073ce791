// The weight matrices as bfloat16 tiles for `set matmul=high|medium` (TLTensor/MatmulPrecision):
// each WeightMatrix builds its own on first use, so that models run at the default precision pay
// nothing; here is what they cost and whether a model may build them (ReducedPrecisionPermission).
import TLTensor

extension HookedTransformer {
    /// Bytes of the bf16 copies that `precision` needs for this model's weight products (hi for
    /// medium, hi and lo for high; 0 for highest).
    public func reducedPrecisionBytes(_ precision: MatmulPrecision) -> Int {
        Self.reducedPrecisionBytes(config: config, precision)
    }

    static func reducedPrecisionBytes(config: ModelConfig, _ precision: MatmulPrecision) -> Int {
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
        reducedPermission.permits(precision)
    }

    /// Whether those copies fit: at most half of the memory still available (nil: unknown, so yes).
    public func reducedPrecisionFits(_ precision: MatmulPrecision, availableBytes: Int? = MemoryBudget.availableBytes()) -> Bool {
        Self.reducedPrecisionFits(config: config, precision, availableBytes: availableBytes)
    }

    static func reducedPrecisionFits(config: ModelConfig, _ precision: MatmulPrecision, availableBytes: Int?) -> Bool {
        availableBytes.map { reducedPrecisionBytes(config: config, precision) <= $0 / 2 } ?? true
    }

    /// How many of the model's matrices have built their bf16 copy.
    var reducedCopies: Int { (blocks.flatMap(\.all) + [unembedMatrix]).filter(\.hasReducedCopy).count }
}
