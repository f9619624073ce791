// The model object users hold: configuration, processed weights, hooks, and the entry points that
// mirror TransformerLens's HookedTransformer (run, run_with_cache, start/stop_at_layer).
import Foundation
import TLTensor

/// A forward hook: reads the activation at a hook point and may modify it in place (same shape).
public typealias HookFunction = (inout Tensor, HookPoint) throws -> Void

/// Which hook points a hook applies to.
public enum HookFilter: @unchecked Sendable {
    case name(String)
    case predicate((String) -> Bool)

    public func matches(_ name: String) -> Bool {
        switch self {
        case .name(let n): return n == name
        case .predicate(let p): return p(name)
        }
    }
}

public struct ForwardHook {
    public var filter: HookFilter
    public var function: HookFunction
    public init(_ filter: HookFilter, _ function: @escaping HookFunction) { self.filter = filter; self.function = function }
    public init(name: String, _ function: @escaping HookFunction) { self.init(.name(name), function) }
}

/// Options of one forward pass.
public struct RunOptions {
    /// Hooks active for this run only (TransformerLens's run_with_hooks / fwd_hooks).
    public var hooks: [ForwardHook] = []
    /// Which activations to cache; nil caches nothing (plain forward).
    public var cacheFilter: ((String) -> Bool)? = nil
    /// How the cache keeps what it caches: Float32 (the default, and what every internal user
    /// needs), 16 bits, or a file on disk (`run ... store=`).
    public var cacheStorage: CacheStorage = .f32
    /// First block to run (inclusive); the input is then the residual stream before it.
    public var startAtLayer: Int? = nil
    /// Block to stop before (exclusive); the run then returns that residual instead of logits.
    public var stopAtLayer: Int? = nil
    /// [batch][pos]: 1 for real tokens, 0 for padding (right or left).
    public var attentionMask: [[Int]]? = nil
    /// Positions (per sequence, negative from the end) at which to compute logits; nil = all.
    public var logitPositions: [Int]? = nil
    /// Vocabulary columns to compute logits for (e.g. the two tokens of a logit difference);
    /// nil = the whole vocabulary. The logits' last axis then follows this list.
    public var logitTokens: [Int]? = nil
    /// Checked between blocks so a front end can stop long work.
    public var isCancelled: (() -> Bool)? = nil
    /// Past keys and values for incremental decoding; appended to by the run.
    public var kvCache: KVCache? = nil

    public init() {}
}

/// What a forward pass produced.
public struct RunOutput {
    /// [batch, pos (or logitPositions.count), d_vocab]; nil when stopAtLayer is set.
    public var logits: Tensor?
    /// The residual stream [batch, pos, d_model] at stopAtLayer.
    public var residual: Tensor?
    public var cache: ActivationCache
}

extension LayerWeights {
    /// The block with its matrices dropped (a 16-bit model keeps them only as panels).
    func withoutMatrices() -> LayerWeights {
        var l = self
        l.wQKV = []; l.wO = []; l.wIn = []; l.wOut = []
        if l.wGate != nil { l.wGate = [] }
        return l
    }
}

/// A transformer of any supported family (ModelFamily) with TransformerLens's hook points.
public final class HookedTransformer: @unchecked Sendable {
    public let config: ModelConfig
    public private(set) var weights: ModelWeights
    public let processing: ProcessingOptions
    /// The precision of the block matrices (`model NAME dtype=`): in a 16-bit dtype they exist only
    /// as 16-bit panels and `weights`' matrix arrays are empty (`floatLayer` widens one block).
    public let dtype: WeightDType
    public var optionalHooks = OptionalHooks()
    /// Hooks that stay registered across runs (add_hook with is_permanent, or between runs).
    public var registeredHooks: [ForwardHook] = []

    /// Each block's matrices and W_U with the forms the products read (WeightMatrix): the Float32
    /// arrays of `weights` (shared, not copied), their 64-column panels and the bf16 copies for a
    /// reduced matmul precision; weights never change after init, so the forms stay equal.
    let blocks: [BlockMatrices]
    let unembedMatrix: WeightMatrix
    /// Whether the matrices may build their bf16 copies (decided once per precision).
    let reducedPermission: ReducedPrecisionPermission
    /// Rotary frequencies of a rotary model (nil for learned positions).
    let rotary: Rotary?

    /// A model of `weights` whose block matrices are kept in `dtype`. `converted` gives the 16-bit
    /// matrices of blocks a loader already converted (their matrices in `weights` then empty).
    public convenience init(config: ModelConfig, weights: ModelWeights, processing: ProcessingOptions, dtype: WeightDType = .f32) {
        self.init(config: config, weights: weights, processing: processing, dtype: dtype, converted: [],
                  permission: ReducedPrecisionPermission(config: config))
    }

    init(config: ModelConfig, weights: ModelWeights, processing: ProcessingOptions, dtype: WeightDType,
         converted: [BlockMatrices?], permission: ReducedPrecisionPermission) {
        self.config = config; self.processing = processing; self.dtype = dtype
        rotary = config.isRotary ? Rotary(config: config) : nil
        reducedPermission = permission
        let roomForPanels = dtype != .f32 || Self.panelsFit(config: config, availableBytes: MemoryBudget.availableBytes())
        // Float32 blocks whose panels do not fit beside the row-major arrays keep the panels alone
        // (the same bytes): few-row products then stream the panels instead of OpenBLAS repacking
        // the arrays on every call, which ran a 1B model's 11-token forward at 4x its streaming time.
        let blocksAsPanels = dtype == .f32 && !roomForPanels
        var weights = weights
        var blocks: [BlockMatrices] = []
        for l in weights.layers.indices {
            if l < converted.count, let done = converted[l] { blocks.append(done); continue }
            let block = BlockMatrices(weights.layers[l], config: config, dtype: dtype, panels: roomForPanels, panelsOnly: blocksAsPanels,
                                      permission: permission)
            blocks.append(block)
            if dtype != .f32 || block.qkv.panelsOnly { weights.layers[l] = weights.layers[l].withoutMatrices() }
        }
        self.blocks = blocks
        // W_U stays Float32 in every dtype (its logits feed every analysis). A model with no room
        // for a second copy — a 16-bit one (2.1 GB of W_U for Llama-3's vocabulary), or a Float32
        // one whose blocks are panels only — keeps W_U's Float32 panels alone (the same bytes):
        // read in place, its few-row products walked a row stride of the whole vocabulary per k, a
        // TLB miss per row, and ran GPT-2 XL's 11-token unembedding at 5 GB/s (31% of a bf16
        // Llama-3.2-1B-shaped 11-token forward). A model without weights (configOnly) has none.
        let unembedShape = weights.wU.isEmpty ? (0, 0) : (config.dModel, config.dVocab)
        unembedMatrix = WeightMatrix(weights.wU, rows: unembedShape.0, columns: unembedShape.1,
                                     panels: !weights.wU.isEmpty && dtype == .f32 && roomForPanels,
                                     panelsOnly: !weights.wU.isEmpty && (blocksAsPanels || dtype != .f32), permission: permission)
        if unembedMatrix.panelsOnly { weights.wU = [] }
        self.weights = weights
    }

    /// The weight matrix in `slot`, which every product with the model's weights goes through.
    public func matrix(_ slot: WeightSlot) -> WeightMatrix {
        switch slot {
        case .qkv(let l): return blocks[l].qkv
        case .o(let l): return blocks[l].o
        case .mlpIn(let l): return blocks[l].mlpIn
        case .mlpGate(let l):
            guard let gate = blocks[l].mlpGate else { preconditionFailure("block \(l) has no gated MLP") }
            return gate
        case .mlpOut(let l): return blocks[l].mlpOut
        case .unembed: return unembedMatrix
        }
    }

    /// The 64-column panels of the weight in `slot`, if they were built.
    func panels(_ slot: WeightSlot) -> PackedMatrix? { matrix(slot).panels }

    /// Block `l` with its matrices in Float32 (a 16-bit model's widened from its panels, built on
    /// each call): for the analyses and gradients that read the matrices themselves.
    public func floatLayer(_ l: Int) -> LayerWeights {
        var layer = weights.layers[l]
        guard l < blocks.count, blocks[l].qkv.panelsOnly else { return layer }
        layer.wQKV = blocks[l].qkv.float32; layer.wO = blocks[l].o.float32
        layer.wIn = blocks[l].mlpIn.float32; layer.wOut = blocks[l].mlpOut.float32
        if let gate = blocks[l].mlpGate { layer.wGate = gate.float32 }
        return layer
    }

    /// Bytes the parameters take in memory: the Float32 arrays plus a 16-bit model's panels (the
    /// Float32 panels, a second copy for speed, are `panelBytes`).
    public var weightBytes: Int {
        let w = weights
        var floats = w.wE.count + w.wPos.count + w.wU.count + w.bU.count + (w.lnFinalW?.count ?? 0) + (w.lnFinalB?.count ?? 0)
        for l in w.layers {
            floats += l.wQKV.count + l.bQKV.count + l.wO.count + l.bO.count + l.wIn.count + (l.wGate?.count ?? 0)
                + l.bIn.count + l.wOut.count + l.bOut.count + (l.ln1W?.count ?? 0) + (l.ln1B?.count ?? 0)
                + (l.ln2W?.count ?? 0) + (l.ln2B?.count ?? 0) + (l.ln1PostW?.count ?? 0) + (l.ln2PostW?.count ?? 0)
                + (l.qNormW?.count ?? 0) + (l.kNormW?.count ?? 0)
        }
        return floats * 4 + (blocksArePanelsOnly ? blockPanelBytes : 0) + (unembedMatrix.panelsOnly ? unembedMatrix.panels!.bytes : 0)
    }

    /// Bytes of a 16-bit model's block matrices (their panels, without the padding of a last
    /// partial panel); 0 in Float32, whose matrices are counted in `weights`.
    public var halfMatrixBytes: Int {
        guard dtype != .f32 else { return 0 }
        return blocks.flatMap(\.all).reduce(0) { $0 + ($1.panels.map { $0.rows * $0.columns * 2 } ?? 0) }
    }

    /// Bytes of the Float32 panels (a Float32 model's second copy of its matrices, and W_U's).
    public var panelBytes: Int {
        (blocksArePanelsOnly ? 0 : blockPanelBytes) + (unembedMatrix.panelsOnly ? 0 : unembedMatrix.panels?.bytes ?? 0)
    }

    /// Bytes the weight products read in one forward pass: every block matrix and W_U, in the
    /// form the products stream (Float32, or a 16-bit dtype's panels).
    public var matrixStreamBytes: Int {
        (blocks.flatMap(\.all) + [unembedMatrix]).reduce(0) { $0 + $1.rows * $1.columns * ($1.isHalf ? 2 : 4) }
    }

    /// Whether the block matrices exist only as panels (16-bit, or Float32 too big for two copies).
    public var blocksArePanelsOnly: Bool { blocks.first?.qkv.panelsOnly ?? false }

    /// Bytes of the block matrices' panels.
    var blockPanelBytes: Int { blocks.flatMap(\.all).reduce(0) { $0 + ($1.panels?.bytes ?? 0) } }

    /// Whether the panels (a second copy of the block matrices and W_U) fit: they are skipped,
    /// and products go to OpenBLAS, when they would take more than a quarter of the memory still
    /// available — gpt2-xl's 6.2 GB of panels on a 16 GB machine, say.
    /// The memory is the memory left once the Float32 model is in it: `weightsLoaded` false (before
    /// loading) subtracts the weights' own bytes, so the decision taken before and after the load
    /// is the same.
    static func panelsFit(config: ModelConfig, availableBytes: Int?, weightsLoaded: Bool = true) -> Bool {
        let d = config.dModel, hd = config.nHeads * config.dHead
        let blocks = config.nLayers * (d * config.qkvWidth + hd * d + (config.gatedMLP ? 3 : 2) * d * config.dMLP)
        let panelBytes = (blocks + d * ((config.dVocab + 63) / 64 * 64)) * 4
        if !weightsLoaded, let available = availableBytes {
            let weightBytes = (blocks + 2 * d * config.dVocab) * 4  // blocks, W_E and W_U in Float32
            return panelBytes <= (available - weightBytes) / 4
        }
        return availableBytes.map { panelBytes <= $0 / 4 } ?? true
    }

    /// Loads a Hugging Face directory of a supported family (config.json + safetensors, sharded or
    /// not) and processes the weights as TransformerLens's from_pretrained does for that family
    /// (ProcessingOptions.effective), or not, with `.none`.
    /// In a 16-bit `dtype` each block is processed and converted as soon as it is read, so the
    /// model never exists in Float32 (peak: the 16-bit blocks, one Float32 block, the embeddings);
    /// so is a Float32 model whose panels do not fit beside its arrays (into panels alone).
    public static func load(directory: URL, processing: ProcessingOptions = .default, dtype: WeightDType = .f32) throws -> HookedTransformer {
        let config = try readConfig(directory: directory)
        let applied = processing.effective(for: config)
        // Float32 blocks too big for two copies become panels as they are read, like 16-bit ones,
        // so the model never holds both forms at once.
        let blocksAsPanels = dtype == .f32 && !panelsFit(config: config, availableBytes: MemoryBudget.availableBytes(), weightsLoaded: false)
        guard dtype != .f32 || blocksAsPanels else {
            var weights = try ModelWeights.fromHuggingFace(try Checkpoint(directory: directory), config: config)
            weights.process(applied, config: config)
            return HookedTransformer(config: config, weights: weights, processing: applied)
        }
        let permission = ReducedPrecisionPermission(config: config)
        var converted: [BlockMatrices?] = []
        var weights = try ModelWeights.fromHuggingFace(try Checkpoint(directory: directory), config: config) { l, layer in
            layer.process(applied, config: config)
            let block = BlockMatrices(layer, config: config, dtype: dtype, panels: true, panelsOnly: blocksAsPanels, permission: permission)
            converted.append(block)
            if dtype != .f32 || block.qkv.panelsOnly {
                layer = layer.withoutMatrices()
                // The block's Float32 arrays are freed from here on; handing their pages back before
                // the next block is read trims the load's peak a little (Llama-3.2-1B: 6.31 → 6.13 GB).
                ProcessMemory.releaseFreedMemory()
            }
            precondition(converted.count == l + 1)
        }
        weights.process(applied, config: config, includingLayers: converted.count != weights.layers.count)
        if converted.count != weights.layers.count { converted = [] }  // a loader that does not stream: convert after
        return HookedTransformer(config: config, weights: weights, processing: applied, dtype: dtype, converted: converted,
                                 permission: permission)
    }

    /// Whether LayerNorms were folded (TransformerLens then uses LayerNormPre).
    public var isLNFolded: Bool { processing.foldLN }

    /// Every hook name this model fires, in order.
    public var hookNames: [String] { HookNames.all(config: config, optional: optionalHooks) }

    // MARK: Entry points

    /// Forward pass on token ids [batch][pos] (all rows the same length; pad and mask for ragged input).
    public func run(tokens: [[Int]], options: RunOptions = RunOptions()) throws -> RunOutput {
        try requireWeights()
        guard let first = tokens.first, !first.isEmpty else { throw TLModelError.invalidInput("no tokens to run") }
        for row in tokens where row.count != first.count {
            throw TLModelError.invalidInput("all sequences in a batch must have the same length; pad them and pass an attention mask")
        }
        let past = options.kvCache?.length ?? 0
        guard past + first.count <= config.nCtx else {
            throw TLModelError.invalidInput("the input has \(past + first.count) tokens but the model's context is \(config.nCtx) (n_ctx); shorten the prompt")
        }
        for row in tokens { for t in row where t < 0 || t >= config.dVocab {
            throw TLModelError.invalidInput("token id \(t) is outside the vocabulary (0..<\(config.dVocab))")
        } }
        if let names = options.cacheFilter {
            try checkCacheFits(batch: tokens.count, positions: past + first.count, names: names, storage: options.cacheStorage)
        }
        if let mask = options.attentionMask {
            guard mask.count == tokens.count, mask.allSatisfy({ $0.count == first.count }) else {
                throw TLModelError.invalidInput("the attention mask must have the shape of the tokens [\(tokens.count), \(first.count)]")
            }
        }
        return try Forward(model: self, options: options).run(tokens: tokens)
    }

    /// Forward pass from a residual stream [batch, pos, d_model] starting at `options.startAtLayer`.
    public func run(residual: Tensor, options: RunOptions) throws -> RunOutput {
        try requireWeights()
        guard residual.rank == 3, residual.shape[2] == config.dModel else {
            throw TLModelError.invalidInput("a residual input must have shape [batch, pos, \(config.dModel)], got \(residual.shape)")
        }
        return try Forward(model: self, options: options).run(residual: residual)
    }

    /// run_with_cache: logits plus every activation whose name passes `names` (nil = all).
    /// `storage`: how the cache keeps them (Float32, 16 bits, or on disk; reads give Float32).
    public func runWithCache(tokens: [[Int]], names: ((String) -> Bool)? = nil, hooks: [ForwardHook] = [],
                             isCancelled: (() -> Bool)? = nil, storage: CacheStorage = .f32) throws -> (logits: Tensor, cache: ActivationCache) {
        var o = RunOptions()
        o.cacheFilter = names ?? { _ in true }
        o.cacheStorage = storage
        o.hooks = hooks
        o.isCancelled = isCancelled
        let out = try run(tokens: tokens, options: o)
        return (out.logits!, out.cache)
    }

    /// Normalises a layer index that may be negative; throws with the valid range.
    public func resolveLayer(_ layer: Int, allowEnd: Bool = false) throws -> Int {
        let n = config.nLayers
        let l = layer < 0 ? layer + n : layer
        guard l >= 0 && (l < n || (allowEnd && l == n)) else {
            throw TLModelError.invalidInput("layer \(layer) is out of range: this model has layers 0…\(n - 1)\(allowEnd ? " (or \(n) for the end)" : "") (negative counts from the end)")
        }
        return l
    }
}
