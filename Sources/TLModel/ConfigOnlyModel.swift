// A model known by its configuration alone: its weights live with another engine (nnsight on NDIF
// holds a 70B model's 140 GB), while tlsh still needs the config for hook names, shapes, memory
// estimates and plans, and the tokenizer for prompts. Every entry point that would read a weight
// refuses with the way out instead of indexing an empty array.
import Foundation

extension HookedTransformer {
    /// `directory`'s config.json as a model without weights (`hasWeights` false).
    public static func configOnly(directory: URL) throws -> HookedTransformer {
        let config = try readConfig(directory: directory)
        let none = ModelWeights(wE: [], wPos: [], layers: [], lnFinalW: nil, lnFinalB: nil, wU: [], bU: [])
        return HookedTransformer(config: config, weights: none, processing: .none)
    }

    /// `directory`'s config.json, read as `load` and `configOnly` both need it.
    static func readConfig(directory: URL) throws -> ModelConfig {
        let configURL = directory.appendingPathComponent("config.json")
        let data: Data
        do { data = try Data(contentsOf: configURL) } catch {
            throw TLModelError.fileUnreadable(path: configURL.path, reason: "no readable config.json")
        }
        return try ModelConfig.fromHuggingFace(json: data, path: configURL.path)
    }

    /// Whether the weights are here (false for `configOnly`).
    public var hasWeights: Bool { !weights.wE.isEmpty }

    /// Refuses work that needs the weights on a model loaded without them.
    func requireWeights() throws {
        guard hasWeights else {
            throw TLModelError.invalidInput("this model was loaded without its weights (config.json and the tokenizer only, for a remote engine); "
                + "load them with `model NAME weights=true` to run it here")
        }
    }
}
