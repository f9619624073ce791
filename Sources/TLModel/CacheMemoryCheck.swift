// A run that caches activations is refused up front when its cache cannot fit in memory: on a long
// prompt the attention scores and patterns (2 · n_layers · n_heads · pos² floats) grow quadratically,
// and running out of memory half-way through would kill the process instead of reporting an error.
import Foundation
import TLTensor

/// How much memory a run may use.
public enum MemoryBudget {
    /// Bytes available to this process: the engine context's memory limit when it has one (tests,
    /// or a user's own cap through `TLSH_MEMORY_LIMIT_BYTES`), else `MemAvailable` from
    /// /proc/meminfo; nil when neither is known (then nothing is checked).
    public static func availableBytes(limit: Int? = EngineContext.current.memoryLimitBytes) -> Int? {
        if let limit, limit > 0 { return limit }
        guard let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes.multipliedReportingOverflow(by: 1024).overflow ? Int.max : kilobytes * 1024
        }
        return nil
    }

    /// Bytes free for an unprivileged writer on the file system holding `directory`; nil when unknown.
    public static func freeDiskBytes(at directory: String) -> Int? {
        var st = statvfs()
        guard statvfs(directory, &st) == 0 else { return nil }
        let (bytes, overflow) = Int(st.f_bavail).multipliedReportingOverflow(by: Int(st.f_frsize))
        return overflow ? Int.max : bytes
    }

    /// "3.2 GB", "840 MB": sizes in decimal units, two significant figures or so.
    public static func describe(bytes: Double) -> String {
        if bytes >= 1e9 { return String(format: "%.1f GB", bytes / 1e9) }
        if bytes >= 1e6 { return String(format: "%.0f MB", bytes / 1e6) }
        return String(format: "%.0f kB", max(bytes / 1e3, 1))
    }
}

extension HookedTransformer {
    /// Float32 elements of hook `name`'s activation for `batch` sequences of `positions` tokens,
    /// from the hook registry's shape (every hook, optional ones included); d_model per row for a
    /// name the registry does not know.
    public func activationElements(hook name: String, batch: Int, positions: Int) -> Double {
        guard let spec = HookRegistry.spec(for: name) else { return Double(batch) * Double(positions) * Double(config.dModel) }
        return spec.shape(config, batch: batch, positions: positions).reduce(1.0) { $0 * Double($1) }
    }

    /// Bytes that caching every hook passing `names` takes for such a run, plus its logits, in
    /// Float32 (`storage` .f32), 16 bits, or on disk, where memory holds only the logits and the
    /// largest activation on its way to the file.
    public func estimatedCacheBytes(batch: Int, positions: Int, names: (String) -> Bool, storage: CacheStorage = .f32) -> Double {
        let sizes = hookNames.filter(names).map { activationElements(hook: $0, batch: batch, positions: positions) }
        let logits = Double(batch) * Double(positions) * Double(config.dVocab)
        let transient = storage == .disk ? 4 * (sizes.max() ?? 0) : 0
        return Double(storage.memoryBytesPerElement) * sizes.reduce(0, +) + 4 * logits + transient
    }

    /// Bytes of the file a disk-stored cache of such a run writes (its Float32 activations).
    public func estimatedSpillBytes(batch: Int, positions: Int, names: (String) -> Bool) -> Double {
        4 * hookNames.filter(names).reduce(0.0) { $0 + activationElements(hook: $1, batch: batch, positions: positions) }
    }

    /// How to store a run's cache when the user did not say: in Float32 when it fits in the memory
    /// available now (or nothing is known), else on disk when that fits (its memory share and the
    /// spill directory's free space), else Float32 again, which `checkCacheFits` then refuses with
    /// the ways out. Disk is the only automatic alternative because it is exact: 16 bits would
    /// silently change the numbers.
    public func automaticCacheStorage(batch: Int, positions: Int, names: (String) -> Bool) -> CacheStorage {
        guard let available = MemoryBudget.availableBytes(),
              estimatedCacheBytes(batch: batch, positions: positions, names: names) > Double(available) else { return .f32 }
        guard estimatedCacheBytes(batch: batch, positions: positions, names: names, storage: .disk) <= Double(available),
              let diskFree = MemoryBudget.freeDiskBytes(at: EngineContext.current.effectiveSpillDirectory),
              estimatedSpillBytes(batch: batch, positions: positions, names: names) <= Double(diskFree) else { return .f32 }
        return .disk
    }

    /// Throws when the cache of a run would not fit in the memory available now (or, on disk, in
    /// the free space of the spill directory), naming the ways out that would fit.
    func checkCacheFits(batch: Int, positions: Int, names: (String) -> Bool, storage: CacheStorage = .f32) throws {
        let directory = EngineContext.current.effectiveSpillDirectory
        let diskNeeded = estimatedSpillBytes(batch: batch, positions: positions, names: names)
        let diskFree = MemoryBudget.freeDiskBytes(at: directory)
        if storage == .disk, let diskFree, diskNeeded > Double(diskFree) {
            throw TLModelError.invalidInput(
                "storing the activations of this run (\(batch) × \(positions) tokens) on disk needs about \(MemoryBudget.describe(bytes: diskNeeded)) "
                + "in \(directory), \(MemoryBudget.describe(bytes: Double(diskFree))) free; set TLSH_SPILL_DIR to a larger disk, "
                + "cache fewer activations with a names filter (names=), or use a shorter prompt")
        }
        guard let available = MemoryBudget.availableBytes() else { return }
        let needed = estimatedCacheBytes(batch: batch, positions: positions, names: names, storage: storage)
        guard needed > Double(available) else { return }
        // The other ways to store it, with whether each would fit now.
        func fits(_ bytes: Double) -> String { bytes <= Double(available) ? "fits" : "does not fit either" }
        var alternatives: [String] = []
        if storage.memoryBytesPerElement > 2 {
            let half = estimatedCacheBytes(batch: batch, positions: positions, names: names, storage: .f16)
            alternatives.append("keep it in 16 bits with store=f16 or store=bf16 (about \(MemoryBudget.describe(bytes: half)), \(fits(half)))")
        }
        if storage != .disk {
            let onDisk = estimatedCacheBytes(batch: batch, positions: positions, names: names, storage: .disk)
            let room = diskFree.map { diskNeeded <= Double($0) ? "\(MemoryBudget.describe(bytes: Double($0))) free there" : "only \(MemoryBudget.describe(bytes: Double($0))) free there" } ?? "free space unknown"
            alternatives.append("write it to disk with store=disk (about \(MemoryBudget.describe(bytes: diskNeeded)) in \(directory), \(room); "
                                + "about \(MemoryBudget.describe(bytes: onDisk)) of memory, \(fits(onDisk)))")
        }
        throw TLModelError.invalidInput(
            "caching the activations of this run (\(batch) × \(positions) tokens)\(storage == .f32 ? "" : " with store=\(storage.rawValue)") needs about \(MemoryBudget.describe(bytes: needed)) of memory, "
            + "\(MemoryBudget.describe(bytes: Double(available))) available; cache fewer activations with a names filter "
            + "(e.g. only blocks.*.hook_resid_post, whose size grows linearly with the prompt, not quadratically like the attention patterns), "
            + alternatives.map { $0 + ", " }.joined()
            + "or use a shorter prompt")
    }
}
