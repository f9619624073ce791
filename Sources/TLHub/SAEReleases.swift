// SAELens's release table (pretrained_saes.yaml, trimmed by tools/saes/release_table.py): which
// Hugging Face repo and folder hold each SAE of a release, and its Neuronpedia id.
import Foundation

public struct SAERelease: Sendable, Equatable {
    public let name: String
    public let repo: String
    public let model: String
    /// The file layout, as SAELens's conversion_func names it: nil (SAELens's own layout),
    /// "gemma_2" (Gemma Scope params.npz), "gemma_3" (Gemma Scope 2) or "llama_scope".
    public let format: String?
    /// SAE id → (folder in the repo, Neuronpedia id, dataset-level input scale to fold in).
    public let saes: [String: Entry]

    public struct Entry: Sendable, Equatable {
        public let path: String
        public let neuronpedia: String?
        public let normScalingFactor: Double?
    }
}

public enum SAEReleases {
    /// The bundled table, found like the default model (resource bundle beside the executable,
    /// then the source tree); `override` (the hub environment's TLSH_SAE_RELEASES) names another file.
    public static func tableURL(override: URL? = nil) -> URL {
        var candidates: [URL] = []
        if let override { candidates.append(override) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in [executable, Bundle.main.bundleURL] {
            candidates.append(dir.appendingPathComponent("tlsh_TLHub.resources/SAEReleases/sae_releases.json"))
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/SAEReleases/sae_releases.json"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) } ?? candidates.last!
    }

    /// The files a release's SAE needs in its folder, and those it may have.
    public static func files(format: String?) -> (required: [String], optional: [String]) {
        switch format {
        case "gemma_2": return (["params.npz"], [])
        case "gemma_3": return (["params.safetensors"], ["config.json"])
        case "llama_scope": return (["hyperparams.json", "checkpoints/final.safetensors"], [])
        default: return (["cfg.json", "sae_weights.safetensors"], ["sparsity.safetensors"])
        }
    }

    /// Every release in the table.
    public static func load(from url: URL = tableURL()) throws -> [String: SAERelease] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TLHubError.fileSystem(path: url.path, detail: "the SAE release table is missing; rebuild tlsh or set TLSH_SAE_RELEASES")
        }
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let releases = top["releases"] as? [String: Any] else {
            throw TLHubError.fileSystem(path: url.path, detail: "the SAE release table is not valid JSON")
        }
        var out: [String: SAERelease] = [:]
        for (name, value) in releases {
            guard let r = value as? [String: Any], let repo = r["repo_id"] as? String, let saes = r["saes"] as? [String: Any] else { continue }
            var entries: [String: SAERelease.Entry] = [:]
            for (id, v) in saes {
                // The table leaves out a path equal to the id (most Gemma Scope entries), to stay small.
                guard let e = v as? [String: Any] else { continue }
                let path = e["path"] as? String ?? id
                entries[id] = SAERelease.Entry(path: path, neuronpedia: e["neuronpedia"] as? String,
                                               normScalingFactor: (e["norm_scaling_factor"] as? NSNumber)?.doubleValue)
            }
            out[name] = SAERelease(name: name, repo: repo, model: r["model"] as? String ?? "", format: r["format"] as? String, saes: entries)
        }
        return out
    }
}
