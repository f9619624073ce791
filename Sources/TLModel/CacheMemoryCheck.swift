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

    /// Bytes that caching every hook passing `names` takes for such a run, plus its logits.
    public func estimatedCacheBytes(batch: Int, positions: Int, names: (String) -> Bool) -> Double {
        let cached = hookNames.filter(names).reduce(0.0) { $0 + activationElements(hook: $1, batch: batch, positions: positions) }
        let logits = Double(batch) * Double(positions) * Double(config.dVocab)
        return 4 * (cached + logits)
    }

    /// Throws when the cache of a run would not fit in the memory available now.
    func checkCacheFits(batch: Int, positions: Int, names: (String) -> Bool) throws {
        guard let available = MemoryBudget.availableBytes() else { return }
        let needed = estimatedCacheBytes(batch: batch, positions: positions, names: names)
        guard needed > Double(available) else { return }
        throw TLModelError.invalidInput(
            "caching the activations of this run (\(batch) × \(positions) tokens) needs about \(MemoryBudget.describe(bytes: needed)) of memory, "
            + "\(MemoryBudget.describe(bytes: Double(available))) available; cache fewer activations with a names filter "
            + "(e.g. only blocks.*.hook_resid_post, whose size grows linearly with the prompt, not quadratically like the attention patterns), "
            + "or use a shorter prompt")
    }
}
