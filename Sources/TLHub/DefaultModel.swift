import Foundation

/// The small model bundled with tlsh so every tutorial works offline (`model` with no argument).
public enum DefaultModel {
    /// The bundled folder (Sources/TLHub/Resources/DefaultModel, copied into TLHub's resource
    /// bundle at build time). It holds config.json, model.safetensors, vocab.json, merges.txt.
    public static var directory: URL {
        let bundle = Bundle.module
        if let url = bundle.url(forResource: "DefaultModel", withExtension: nil) { return url }
        return bundle.bundleURL.appendingPathComponent("DefaultModel")
    }
}
