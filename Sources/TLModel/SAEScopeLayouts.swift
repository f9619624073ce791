// Gemma Scope (params.npz), Gemma Scope 2 (params.safetensors [+ config.json]) and Llama Scope
// (hyperparams.json + checkpoints/final.safetensors): the layouts SAELens converts when it loads
// those releases, read with the same cfg derivation. These layouts carry no hook name of their own:
// SAELens derives it (and the model) from the Hugging Face repo id and the folder, so tlsh does too,
// from the release table's repo and folder, or from a local path that keeps the release's names
// (a hub snapshot does: .../models--google--gemma-scope-2b-pt-res/snapshots/<sha>/layer_3/...).
// Widths come from the arrays' shapes (SAELens's names give the same numbers for real releases).
import Foundation
import TLCore

/// Where a converted SAE came from on the hub: SAELens derives its cfg from these two strings.
public struct SAEOrigin: Sendable, Equatable {
    public var repo: String
    public var folder: String
    public init(repo: String, folder: String) { self.repo = repo; self.folder = folder }

    /// The repo and folder a local path names: a hub snapshot's, else the path itself for both.
    public static func guess(from directory: URL) -> SAEOrigin {
        let parts = directory.standardizedFileURL.pathComponents
        if let i = parts.lastIndex(where: { $0.hasPrefix("models--") }), i + 2 < parts.count, parts[i + 1] == "snapshots" {
            let repo = parts[i].dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            return SAEOrigin(repo: repo, folder: parts[(i + 3)...].joined(separator: "/"))
        }
        // A local copy: the repo is the last component that looks like a release repo's name.
        let repo = parts.last { $0.contains("gemma-scope") || $0.contains("Llama") } ?? directory.path
        return SAEOrigin(repo: repo, folder: directory.path)
    }
}

/// The file layouts tlsh reads an SAE from.
public enum SAELayout: String, Sendable {
    case saeLens = "SAELens (cfg.json + sae_weights.safetensors)"
    case gemmaScope = "Gemma Scope (params.npz)"
    case gemmaScope2 = "Gemma Scope 2 (params.safetensors)"
    case llamaScope = "Llama Scope (hyperparams.json + checkpoints/final.safetensors)"

    public static func of(_ directory: URL) -> SAELayout? {
        let fm = FileManager.default
        func has(_ f: String) -> Bool { fm.fileExists(atPath: directory.appendingPathComponent(f).path) }
        if has("cfg.json") { return .saeLens }
        if has("params.npz") { return .gemmaScope }
        if has("params.safetensors") { return .gemmaScope2 }
        if has("hyperparams.json") { return .llamaScope }
        return nil
    }
}

extension SparseAutoencoder {
    /// Loads any supported layout. `origin` names the hub repo and folder (SAELens derives the hook
    /// from them); `normScalingFactor` is the release's dataset-level input scale, folded in as
    /// SAE.from_pretrained folds it (Llama Scope; without it the hyperparams' own value is used).
    public static func load(directory: URL, origin: SAEOrigin?, normScalingFactor: Double? = nil) throws -> SparseAutoencoder {
        switch SAELayout.of(directory) {
        case .saeLens?, nil:
            let sae = try load(directory: directory)
            if sae.config.normalization == .expectedAverageOnlyIn, let s = normScalingFactor { return sae.foldingNormScalingFactor(Float(s)) }
            return sae
        case .gemmaScope?: return try loadGemmaScope(directory, origin: origin ?? .guess(from: directory))
        case .gemmaScope2?: return try loadGemmaScope2(directory, origin: origin ?? .guess(from: directory))
        case .llamaScope?: return try loadLlamaScope(directory, origin: origin ?? .guess(from: directory), normScalingFactor: normScalingFactor)
        }
    }

    static func layer(in folder: String) -> Int? {
        guard let r = folder.range(of: #"layer_(\d+)"#, options: .regularExpression) else { return nil }
        return Int(folder[r].dropFirst("layer_".count))
    }

    /// SAELens's get_gemma_2_config_from_hf: hook and model from the repo id and the folder.
    public static func gemmaScopeNames(_ o: SAEOrigin) throws -> (hook: String, model: String) {
        let embedding = o.folder.contains("embedding")
        guard let layer = layer(in: o.folder) ?? (embedding ? 0 : nil) else {
            throw SAEError.invalidConfig(path: o.folder, reason: "a Gemma Scope folder names its layer (layer_N/width_…); keep the release's folder names or load it by release name")
        }
        let models = [("2b-it", "gemma-2-2b-it"), ("9b-it", "gemma-2-9b-it"), ("27b-it", "gemma-2-27b-it"),
                      ("2b", "gemma-2-2b"), ("9b", "gemma-2-9b"), ("27b", "gemma-2-27b")]
        guard let model = models.first(where: { o.repo.contains($0.0) })?.1 else {
            throw SAEError.invalidConfig(path: o.repo, reason: "cannot tell which Gemma 2 model this Gemma Scope SAE is for (2b, 9b or 27b in the repo name)")
        }
        let hook: String
        if o.repo.contains("res") { hook = embedding ? "hook_embed" : "blocks.\(layer).hook_resid_post" }
        else if o.repo.contains("mlp") { hook = "blocks.\(layer).hook_mlp_out" }
        else if o.repo.contains("att") { hook = "blocks.\(layer).attn.hook_z" }
        else { throw SAEError.invalidConfig(path: o.repo, reason: "cannot tell the hook of this Gemma Scope SAE (res, mlp or att in the repo name)") }
        return (hook, model)
    }

    static func loadGemmaScope(_ dir: URL, origin o: SAEOrigin) throws -> SparseAutoencoder {
        let (hook, model) = try gemmaScopeNames(o)
        let path = dir.appendingPathComponent("params.npz").path
        var arrays: [String: NumpyArray] = [:]
        do {
            for (k, v) in try NumpyArchive.read(npz: path) { arrays[k.hasPrefix("w_") ? "W_" + k.dropFirst(2) : k] = v }
        } catch let e as NumpyError { throw SAEError.unreadable(path: path, reason: e.description) }
        if let s = arrays.removeValue(forKey: "scaling_factor"), s.data.contains(where: { $0 != 1 }) {
            throw SAEError.unsupported("this Gemma Scope SAE has a finetuning scaling factor that is not 1; tlsh does not support finetuned scaling")
        }
        guard let wEnc = arrays["W_enc"], wEnc.shape.count == 2 else { throw SAEError.missingTensor(key: "W_enc", architecture: "Gemma Scope jumprelu") }
        let dIn = wEnc.shape[0], dSae = wEnc.shape[1]
        var tensors = try checked(arrays, ["W_enc": [dIn, dSae], "W_dec": [dSae, dIn], "b_enc": [dSae], "b_dec": [dIn], "threshold": [dSae]],
                                  architecture: "Gemma Scope jumprelu")
        if o.folder.contains("embedding") {
            // As SAELens: embedding SAEs were trained on embeddings scaled by sqrt(d_model).
            let s = Float(Double(dIn).squareRoot())
            tensors["W_enc"] = tensors["W_enc"]!.map { $0 / s }
            tensors["W_dec"] = tensors["W_dec"]!.map { $0 * s }
        }
        let config = SAEConfig(architecture: .jumprelu, dIn: dIn, dSae: dSae, dOut: dIn, dtype: "float32", applyBDecToInput: false,
                               normalization: .none, reshapeHookZ: hook.hasSuffix("hook_z"), k: nil, rescaleActsByDecoderNorm: false,
                               hookName: hook, hookNameOut: nil, modelName: model, neuronpediaID: nil, hookHeadIndex: nil)
        return SparseAutoencoder(config: config, tensors: tensors, logSparsity: nil, source: dir.path)
    }

    /// SAELens's get_gemma_3_config_from_hf: hook from the folder, model from config.json (or the repo).
    static func loadGemmaScope2(_ dir: URL, origin o: SAEOrigin) throws -> SparseAutoencoder {
        var raw = JSON.object([])
        let cfgURL = dir.appendingPathComponent("config.json")
        if let data = try? Data(contentsOf: cfgURL) {
            guard let obj = try? JSON.parse(data), case .object = obj else {
                throw SAEError.invalidConfig(path: cfgURL.path, reason: "not a JSON object")
            }
            raw = obj
            if let a = raw["architecture"]?.string, a != "jump_relu" {
                throw SAEError.unsupported("\(cfgURL.path): Gemma Scope 2 architecture '\(a)' is not supported (jump_relu)")
            }
        }
        guard let layer = layer(in: o.folder) else {
            throw SAEError.invalidConfig(path: o.folder, reason: "a Gemma Scope 2 folder names its layer (layer_N_width_…); keep the release's folder names or load it by release name")
        }
        let f = o.folder
        if f.contains("clt") { throw SAEError.unsupported("cross-layer transcoders (clt) are not supported") }
        let transcoder = f.contains("transcoder")
        let hook: String, hookOut: String?
        if f.contains("resid_post") { hook = "blocks.\(layer).hook_resid_post"; hookOut = nil }
        else if f.contains("attn_out") { hook = "blocks.\(layer).attn.hook_z"; hookOut = nil }
        else if f.contains("mlp_out") { hook = "blocks.\(layer).hook_mlp_out"; hookOut = nil }
        else if transcoder { hook = "blocks.\(layer).hook_mlp_in"; hookOut = "blocks.\(layer).hook_mlp_out" }
        else { throw SAEError.invalidConfig(path: f, reason: "cannot tell the hook of this Gemma Scope 2 SAE (resid_post, attn_out, mlp_out or transcoder in the folder)") }
        var model = raw["model_name"]?.string ?? o.repo.replacingOccurrences(of: "gemma-scope-2", with: "gemma-3")
        if !model.contains("google") { model = "google/" + model }
        model = model.replacingOccurrences(of: "-v3", with: "-3")
        if model.contains("270m") { model = model.replacingOccurrences(of: "-pt", with: "") }
        let path = dir.appendingPathComponent("params.safetensors").path
        let file = try SafeTensorsFile(path: path)
        guard let enc = file.tensors["w_enc"], enc.shape.count == 2 else { throw SAEError.missingTensor(key: "w_enc", architecture: "Gemma Scope 2 jumprelu") }
        let dIn = enc.shape[0], dSae = enc.shape[1]
        guard let dec = file.tensors["w_dec"], dec.shape.count == 2 else { throw SAEError.missingTensor(key: "w_dec", architecture: "Gemma Scope 2 jumprelu") }
        let dOut = transcoder ? dec.shape[1] : dIn
        var arrays: [String: NumpyArray] = [:]
        for (key, name) in [("w_enc", "W_enc"), ("w_dec", "W_dec"), ("b_enc", "b_enc"), ("b_dec", "b_dec"), ("threshold", "threshold")] {
            guard file.tensors[key] != nil else { throw SAEError.missingTensor(key: key, architecture: "Gemma Scope 2 jumprelu") }
            let t = try file.tensor(key)
            arrays[name] = NumpyArray(shape: t.shape, data: t.data)
        }
        var tensors = try checked(arrays, ["W_enc": [dIn, dSae], "W_dec": [dSae, dOut], "b_enc": [dSae], "b_dec": [dOut], "threshold": [dSae]],
                                  architecture: "Gemma Scope 2 jumprelu")
        let affine = transcoder && (raw["affine_connection"]?.bool ?? f.contains("affine"))
        if file.tensors["affine_skip_connection"] != nil {
            // Stored [d_in, d_out]; W_skip is [d_out, d_in].
            let t = try file.tensor("affine_skip_connection")
            guard t.shape == [dIn, dOut] else { throw SAEError.wrongShape(key: "affine_skip_connection", expected: [dIn, dOut], found: t.shape) }
            var skip = [Float](repeating: 0, count: dIn * dOut)
            for i in 0..<dIn { for j in 0..<dOut { skip[j * dIn + i] = t.data[i * dOut + j] } }
            if affine { tensors["W_skip"] = skip }
        } else if affine {
            throw SAEError.missingTensor(key: "affine_skip_connection", architecture: "Gemma Scope 2 affine transcoder")
        }
        let arch: SAEArchitecture = transcoder ? (affine ? .jumpreluSkipTranscoder : .jumpreluTranscoder) : .jumprelu
        let config = SAEConfig(architecture: arch, dIn: dIn, dSae: dSae, dOut: dOut, dtype: "float32", applyBDecToInput: false,
                               normalization: .none, reshapeHookZ: hook.hasSuffix("hook_z"), k: nil, rescaleActsByDecoderNorm: false,
                               hookName: hook, hookNameOut: hookOut, modelName: model, neuronpediaID: nil, hookHeadIndex: nil)
        return SparseAutoencoder(config: config, tensors: tensors, logSparsity: nil, source: dir.path)
    }

    /// SAELens's llama_scope loader: one scalar JumpReLU threshold, scaled by the dataset norm
    /// factor; then from_pretrained folds that factor into W_enc, W_dec and b_dec.
    static func loadLlamaScope(_ dir: URL, origin o: SAEOrigin, normScalingFactor: Double?) throws -> SparseAutoencoder {
        let hpURL = dir.appendingPathComponent("hyperparams.json")
        guard let data = try? Data(contentsOf: hpURL), let hp = try? JSON.parse(data), case .object = hp else {
            throw SAEError.invalidConfig(path: hpURL.path, reason: "not a readable JSON object")
        }
        guard let dIn = hp["d_model"]?.wholeNumber, let dSae = hp["d_sae"]?.wholeNumber,
              let hook = hp["hook_point_in"]?.string, let jrt = hp["jump_relu_threshold"]?.number,
              let avgIn = hp["dataset_average_activation_norm"]?["in"]?.number, avgIn > 0 else {
            throw SAEError.invalidConfig(path: hpURL.path, reason: "Llama Scope's hyperparams.json needs d_model, d_sae, hook_point_in, jump_relu_threshold and dataset_average_activation_norm.in")
        }
        let nsf = Double(dIn).squareRoot() / avgIn
        let path = dir.appendingPathComponent("checkpoints/final.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SAEError.unreadable(path: path, reason: "missing; Llama Scope keeps the weights in checkpoints/final.safetensors beside hyperparams.json")
        }
        let file = try SafeTensorsFile(path: path)
        func read(_ key: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensors[key] else { throw SAEError.missingTensor(key: key, architecture: "Llama Scope jumprelu") }
            guard info.shape == shape else { throw SAEError.wrongShape(key: key, expected: shape, found: info.shape) }
            return try file.tensor(key).data
        }
        let enc = try read("encoder.weight", [dSae, dIn]), dec = try read("decoder.weight", [dIn, dSae])
        var wEnc = [Float](repeating: 0, count: dIn * dSae), wDec = [Float](repeating: 0, count: dSae * dIn)
        for f in 0..<dSae { for i in 0..<dIn { wEnc[i * dSae + f] = enc[f * dIn + i]; wDec[f * dIn + i] = dec[i * dSae + f] } }
        let tensors: [String: [Float]] = ["W_enc": wEnc, "W_dec": wDec, "b_enc": try read("encoder.bias", [dSae]), "b_dec": try read("decoder.bias", [dIn]),
                                          "threshold": [Float](repeating: Float(jrt * nsf), count: dSae)]
        let config = SAEConfig(architecture: .jumprelu, dIn: dIn, dSae: dSae, dOut: dIn, dtype: "float32", applyBDecToInput: false,
                               normalization: .expectedAverageOnlyIn, reshapeHookZ: hook.hasSuffix("hook_z"), k: nil, rescaleActsByDecoderNorm: false,
                               hookName: hook, hookNameOut: nil, modelName: "meta-llama/Llama-3.1-8B", neuronpediaID: nil, hookHeadIndex: nil)
        let sae = SparseAutoencoder(config: config, tensors: tensors, logSparsity: nil, source: dir.path)
        // The threshold above is already in the folded units, so the fold must happen.
        return sae.foldingNormScalingFactor(Float(normScalingFactor ?? nsf))
    }

    private static func checked(_ arrays: [String: NumpyArray], _ expected: [String: [Int]], architecture: String) throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (key, shape) in expected {
            guard let a = arrays[key] else { throw SAEError.missingTensor(key: key, architecture: architecture) }
            guard a.shape == shape else { throw SAEError.wrongShape(key: key, expected: shape, found: a.shape) }
            out[key] = a.data
        }
        return out
    }
}
