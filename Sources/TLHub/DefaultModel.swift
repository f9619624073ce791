import Foundation

/// The small model bundled with tlsh so every tutorial works offline (`model` with no argument).
public enum DefaultModel {
    /// The bundled folder holding config.json, model.safetensors, vocab.json and merges.txt.
    /// Looked up without `Bundle.module`, whose generated accessor aborts the process when the
    /// resource bundle is missing (a binary copied away from its build folder): `override` (the
    /// hub environment's TLSH_DEFAULT_MODEL), then the resource bundle beside the executable, then
    /// the source tree it was built from. When none exists, the returned path does not exist and
    /// resolving it gives a clear error.
    public static func directory(override: URL? = nil) -> URL {
        let candidates = candidates(override: override)
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
            ?? candidates.last!
    }

    static func candidates(override: URL?) -> [URL] {
        var out: [URL] = []
        if let override { out.append(override) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in [executable, Bundle.main.bundleURL] {
            out.append(dir.appendingPathComponent("tlsh_TLHub.resources/DefaultModel"))
        }
        out.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/DefaultModel"))
        return out
    }
}
