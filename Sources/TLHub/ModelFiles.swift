import Foundation
import TLCore

/// The files of one model, all inside `directory` (a local folder, a cache snapshot or the
/// embedded default). TLHub only locates them; TLModel and TLTokenizer read them.
public struct ModelFiles: Sendable, Equatable {
    /// The folder holding the files (for the hub: `.../snapshots/<commit>`).
    public let directory: URL
    /// Hugging Face `config.json`.
    public let configURL: URL
    /// `model.safetensors`, or the shards named by `model.safetensors.index.json`, in order (or the
    /// same for `pytorch_model.bin` when the directory has no safetensors).
    public let weightFiles: [URL]
    /// `model.safetensors.index.json` when the weights are sharded.
    public let weightIndexURL: URL?
    /// `tokenizer.json` (the fast-tokenizer file), when present.
    public let tokenizerJSON: URL?
    /// `vocab.json` and `merges.txt` (byte-level BPE), when both are present.
    public let vocabJSON: URL?
    public let mergesTXT: URL?
    /// `tokenizer_config.json`, `generation_config.json`: optional extras.
    public let tokenizerConfigURL: URL?
    public let generationConfigURL: URL?
    /// The commit the snapshot belongs to (hub only).
    public let commit: String?

    /// Every tokenizer file found, for callers that just need to know what exists.
    public var tokenizerFiles: [URL] { [tokenizerJSON, vocabJSON, mergesTXT, tokenizerConfigURL].compactMap { $0 } }

    static let configName = "config.json"
    static let weightsName = "model.safetensors"
    static let weightIndexName = "model.safetensors.index.json"
    /// PyTorch's checkpoint and its shard index, used when a repo (or revision) has no safetensors.
    static let pytorchWeightsName = "pytorch_model.bin"
    static let pytorchWeightIndexName = "pytorch_model.bin.index.json"
    static let tokenizerJSONName = "tokenizer.json"
    static let vocabName = "vocab.json"
    static let mergesName = "merges.txt"
    static let tokenizerConfigName = "tokenizer_config.json"
    static let generationConfigName = "generation_config.json"

    /// Locates the model files in `directory`, throwing `missingFiles` (listing what is there) when
    /// config, weights or tokenizer are absent, or `missingSafetensors`-style detail via `missingFiles`.
    /// Without `weights`, only config.json and the tokenizer are required (a model whose weights
    /// another engine holds: nnsight on NDIF).
    public static func inDirectory(_ directory: URL, commit: String? = nil, weights: Bool = true) throws -> ModelFiles {
        let missing = missingNames(in: directory, weights: weights)
        if !missing.isEmpty {
            throw TLHubError.missingFiles(directory: directory.path, missing: missing, present: listing(of: directory))
        }
        let file = { (name: String) -> URL? in
            let url = directory.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.path) ? url : nil
        }
        // Safetensors first; PyTorch's pytorch_model.bin (or its index) only when there is none.
        let useSafetensors = file(weightsName) != nil || file(weightIndexName) != nil
        let single = file(useSafetensors ? weightsName : pytorchWeightsName)
        let index = single == nil ? file(useSafetensors ? weightIndexName : pytorchWeightIndexName) : nil
        let weights: [URL]
        if let single { weights = [single] } else if let index {
            weights = try shardNames(indexURL: index).map { directory.appendingPathComponent($0) }
        } else { weights = [] }
        let hasBPE = file(vocabName) != nil && file(mergesName) != nil
        return ModelFiles(directory: directory, configURL: directory.appendingPathComponent(configName),
                          weightFiles: weights, weightIndexURL: index, tokenizerJSON: file(tokenizerJSONName),
                          vocabJSON: hasBPE ? file(vocabName) : nil, mergesTXT: hasBPE ? file(mergesName) : nil,
                          tokenizerConfigURL: file(tokenizerConfigName), generationConfigURL: file(generationConfigName),
                          commit: commit)
    }

    /// Names of required files absent from `directory` (empty when complete). Shards listed by an
    /// index count as required; no weight file does without `weights`.
    static func missingNames(in directory: URL, weights: Bool = true) -> [String] {
        let exists = { (name: String) in FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) }
        var missing: [String] = []
        if !exists(configName) { missing.append(configName) }
        if !weights {
        } else if exists(weightsName) || exists(pytorchWeightsName) {
        } else if let indexName = [weightIndexName, pytorchWeightIndexName].first(where: exists) {
            let shards = (try? shardNames(indexURL: directory.appendingPathComponent(indexName))) ?? []
            if shards.isEmpty { missing.append("shards listed in \(indexName) (its weight_map is unreadable or empty)") }
            missing += shards.filter { !exists($0) }
        } else {
            missing.append(weightsName)
        }
        if !exists(tokenizerJSONName) && !(exists(vocabName) && exists(mergesName)) && !tokenizerOptional(in: directory) {
            missing.append("\(tokenizerJSONName) (or \(vocabName) + \(mergesName))")
        }
        return missing
    }

    /// Models of the families beyond GPT-2 load without a tokenizer (they then run on token ids):
    /// their tokenizers are not GPT-2's, so a missing one is not an incomplete download.
    static func tokenizerOptional(in directory: URL) -> Bool {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(configName)),
              let type = (try? JSON.parse(data))?["model_type"]?.string else { return false }
        return type != "gpt2"
    }

    /// The distinct shard file names in a safetensors index's `weight_map`, sorted.
    static func shardNames(indexURL: URL) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: indexURL) } catch {
            throw TLHubError.fileSystem(path: indexURL.path, detail: error.localizedDescription)
        }
        guard let map = (try? JSON.parse(data))?["weight_map"]?.members else {
            throw TLHubError.missingFiles(directory: indexURL.deletingLastPathComponent().path,
                                          missing: ["a weight_map object in \(indexURL.lastPathComponent)"], present: [])
        }
        let names = Set(map.compactMap { $0.value.string })
        for name in names where name.contains("..") || name.hasPrefix("/") {
            throw TLHubError.missingFiles(directory: indexURL.deletingLastPathComponent().path,
                                          missing: ["a plain shard file name instead of '\(name)'"], present: [])
        }
        return names.sorted()
    }

    static func listing(of directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }
}
