// TransformerLens's ActivationCache: activations by full hook name in firing order, looked up by
// full or short name, plus the analyses that decompose the residual stream.
// A cache may keep its entries in Float32 (the default), in 16 bits or on disk (`CacheStorage`);
// reads always give a Float32 `Tensor`, so no consumer knows the difference.
import TLTensor

/// Where and how a run's cache keeps its activations (`run ... store=`).
public enum CacheStorage: String, Sendable, CaseIterable {
    /// Float32 in memory: exact.
    case f32
    /// IEEE half in memory (half the bytes; 11 significant bits, relative error ≤ 2^-11 in
    /// [2^-14, 65504], which covers activations; larger magnitudes become infinity).
    case f16
    /// bfloat16 in memory (half the bytes; 8 significant bits, relative error ≤ 2^-8, Float32's range).
    case bf16
    /// Float32 in a temporary safetensors file, read back on access (EngineContext.spillDirectory).
    case disk

    /// The 16-bit format of .f16 and .bf16.
    public var halfFormat: WeightDType? {
        switch self {
        case .f16: return .f16
        case .bf16: return .bf16
        case .f32, .disk: return nil
        }
    }

    /// Bytes of memory one cached element takes (0 on disk: the file holds it).
    public var memoryBytesPerElement: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .disk: return 0
        }
    }
}

/// Cached activations of one run, with batch dimension, keyed by full hook name.
public final class ActivationCache: @unchecked Sendable {
    public private(set) var keys: [String] = []
    /// One cached activation as kept.
    private enum Entry {
        case float(Tensor)
        case half(HalfTensor)
        /// In `spill`'s file.
        case spilled
    }
    private var store: [String: Entry] = [:]
    public let model: HookedTransformer
    /// How activations recorded by the run are kept.
    public let storage: CacheStorage
    /// The file of a disk-stored cache (created at its first activation).
    private var spill: CacheSpillFile?
    /// The names a disk-stored cache expects, for the header space its file reserves.
    private let expectedNames: [String]

    init(model: HookedTransformer, storage: CacheStorage = .f32, expecting expectedNames: [String] = []) {
        self.model = model
        self.storage = storage
        self.expectedNames = expectedNames
    }

    /// A cache of activations computed elsewhere (another engine running the same model), in the
    /// order given.
    public convenience init(model: HookedTransformer, entries: [(String, Tensor)]) {
        self.init(model: model)
        for (name, t) in entries { store(name, t) }
    }

    /// Keeps `t` under `name` in memory: Float32, or 16 bits in a 16-bit cache (entries added after
    /// the run of a disk-stored cache, by analyses or spliced SAEs, stay in memory in Float32).
    func store(_ name: String, _ t: Tensor) {
        if store[name] == nil { keys.append(name) }
        if let format = storage.halfFormat { store[name] = .half(HalfTensor(narrowing: t, to: format)) } else { store[name] = .float(t) }
    }

    /// An activation as the run produces it: narrowed or written to disk at once, so the Float32
    /// copy lives only as long as the forward pass needs it.
    func record(_ name: String, _ t: Tensor) throws {
        guard storage == .disk, spill?.reader == nil else { return store(name, t) }
        if spill == nil { spill = try CacheSpillFile(directory: EngineContext.current.effectiveSpillDirectory, expectedNames: expectedNames) }
        guard try spill!.append(name, t) else { return store(name, t) }
        if store[name] == nil { keys.append(name) }
        store[name] = .spilled
    }

    /// Ends the run's recording: a disk-stored cache writes its file's header and maps it.
    func finishRecording() throws { try spill?.seal() }

    /// The path of a disk-stored cache's file (nil until its first activation, and in memory).
    public var spillPath: String? { spill?.path }
    /// Bytes of the disk-stored cache's file.
    public var spillBytes: Int { spill?.fileBytes ?? 0 }

    /// Bytes the cached values take in memory (a disk-stored cache's entries count nothing).
    public var memoryBytes: Int {
        var total = 0
        for entry in store.values {
            switch entry {
            case .float(let t): total += 4 * t.count
            case .half(let h): total += h.byteCount
            case .spilled: break
            }
        }
        return total
    }

    /// The shape of entry `name`, without reading it (nil: not cached).
    public func shape(of name: String) -> [Int]? {
        guard let entry = store[name] else { return nil }
        switch entry {
        case .float(let t): return t.shape
        case .half(let h): return h.shape
        case .spilled: return spill?.reader?.tensors[name]?.shape
        }
    }

    /// Entry `name` as Float32 (widened from 16 bits, or read from the disk file); nil when it is
    /// not cached. Throws only when a disk-stored cache's file cannot be read back.
    public func tensor(_ name: String) throws -> Tensor? {
        guard let entry = store[name] else { return nil }
        switch entry {
        case .float(let t): return t
        case .half(let h): return h.widened()
        case .spilled: return try spill?.tensor(name)
        }
    }

    public var count: Int { keys.count }
    public func contains(_ name: String) -> Bool { store[name] != nil }

    /// Exact full name lookup. A disk-stored entry whose file cannot be read back reads as nil
    /// here; `tensor(_:)` and `get` say why.
    public subscript(_ name: String) -> Tensor? { try? tensor(name) }

    /// TransformerLens-style lookup: a full name, a short name, or a short name with a layer
    /// (negative counts from the end) and a layer type (`"scale", 4, "ln1"`).
    public func get(_ name: String, layer: Int? = nil, layerType: String? = nil) throws -> Tensor {
        var l = layer
        if let layer, layer < 0 { l = layer + model.config.nLayers }
        if let l, l < 0 || l >= model.config.nLayers {
            throw TLModelError.invalidInput("layer \(layer!) is out of range: the model has layers 0…\(model.config.nLayers - 1)")
        }
        let full = HookNames.actName(name, layer: l, layerType: layerType)
        guard let t = try tensor(full) else {
            let known = model.hookNames.contains(full)
            throw TLModelError.invalidInput(known
                ? "the cache has no '\(full)'; it was not cached (run without a names filter, or include it)"
                : "'\(full)' is not a hook name of this model; see `hooks` for the list")
        }
        return t
    }

    /// Replaces or adds an entry (used by compute_head_results and by analyses).
    public func set(_ name: String, _ t: Tensor) { store(name, t) }

    /// Adds an entry just before `other` in the key order (or at the end when `other` is not
    /// cached): spliced SAEs' hook_sae_* values go before the hook they replace.
    public func insert(_ name: String, _ t: Tensor, before other: String) {
        let isNew = store[name] == nil
        store(name, t)
        if isNew, let i = keys.firstIndex(of: other) {
            keys.removeLast()  // store appended it
            keys.insert(name, at: i)
        }
    }
}
