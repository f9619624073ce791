// A sparse autoencoder's (or transcoder's) cfg.json in SAELens's layout: the fields that change
// the math, and the metadata block that says where it attaches (hook_name, hook_name_out) and
// what it was trained on (model_name, neuronpedia_id). Both SAELens 6's form (metadata block)
// and the older flat form (hook_point / hook_name at the top level) are read, as SAELens's
// handle_config_defaulting reads them.
import Foundation
import TLCore

/// Every failure a user can cause while loading or attaching an SAE, with the fix.
public enum SAEError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalidConfig(path: String, reason: String)
    case unsupported(String)
    case wrongShape(key: String, expected: [Int], found: [Int])
    case missingTensor(key: String, architecture: String)
    case incompatible(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidConfig(let path, let reason): return "\(path): \(reason)"
        case .unsupported(let m): return m
        case .wrongShape(let key, let expected, let found):
            return "SAE tensor '\(key)' has shape \(found) but cfg.json implies \(expected); does cfg.json belong to these weights?"
        case .missingTensor(let key, let arch):
            return "sae_weights.safetensors has no '\(key)', which a \(arch) SAE needs"
        case .incompatible(let m): return m
        }
    }
}

/// The architectures SAELens 6 can load for inference (registry names), plus "batchtopk", whose
/// inference form is a JumpReLU SAE with the learned threshold (SAELens saves it that way).
public enum SAEArchitecture: String, Sendable, CaseIterable {
    case standard, gated, jumprelu, topk, batchtopk
    case transcoder
    case skipTranscoder = "skip_transcoder"
    case jumpreluTranscoder = "jumprelu_transcoder"
    case jumpreluSkipTranscoder = "jumprelu_skip_transcoder"

    public var isTranscoder: Bool {
        switch self {
        case .transcoder, .skipTranscoder, .jumpreluTranscoder, .jumpreluSkipTranscoder: return true
        default: return false
        }
    }

    /// Whether features pass a per-feature threshold (JumpReLU, and BatchTopK at inference).
    var usesThreshold: Bool { self == .jumprelu || self == .batchtopk || self == .jumpreluTranscoder || self == .jumpreluSkipTranscoder }
    var hasSkip: Bool { self == .skipTranscoder || self == .jumpreluSkipTranscoder }
}

/// SAELens's normalize_activations.
public enum SAENormalization: String, Sendable {
    case none
    /// Anthropic's dataset-level scaling: a no-op at run time; SAELens folds the release's
    /// norm_scaling_factor into the weights when it loads a release that lists one.
    case expectedAverageOnlyIn = "expected_average_only_in"
    /// Each input row scaled to norm sqrt(d_in), the output scaled back.
    case constantNormRescale = "constant_norm_rescale"
    /// Each input row centred and divided by (unbiased std + 1e-5), the output mapped back.
    case layerNorm = "layer_norm"
}

public struct SAEConfig: Sendable, Equatable {
    public var architecture: SAEArchitecture
    public var dIn: Int
    public var dSae: Int
    /// The decoder's width: d_out for transcoders, d_in otherwise.
    public var dOut: Int
    /// The weights' dtype in cfg.json (tlsh computes in Float32 whatever it is).
    public var dtype: String
    public var applyBDecToInput: Bool
    public var normalization: SAENormalization
    /// reshape_activations == "hook_z": [.., n_heads, d_head] is flattened to n_heads·d_head.
    public var reshapeHookZ: Bool
    /// TopK's k.
    public var k: Int?
    /// TopK: select by activation × decoder norm and divide the norm out again before decoding.
    public var rescaleActsByDecoderNorm: Bool
    public var hookName: String
    /// Where a transcoder writes (nil: the SAE writes where it reads).
    public var hookNameOut: String?
    public var modelName: String?
    public var neuronpediaID: String?
    public var hookHeadIndex: Int?

    /// The hook the spliced SAE replaces: the output hook for transcoders.
    public var outputHook: String { hookNameOut ?? hookName }

    /// Parses cfg.json's bytes; `path` names the file in errors.
    public static func parse(json data: Data, path: String) throws -> SAEConfig {
        let top: JSON
        do { top = try JSON.parse(data) } catch {
            throw SAEError.invalidConfig(path: path, reason: "not valid JSON (\(error))")
        }
        guard case .object = top else { throw SAEError.invalidConfig(path: path, reason: "the top level is not a JSON object") }
        let meta = top["metadata"] ?? .object([])
        // SAELens 6 keeps hook and model in "metadata"; older files have them at the top level.
        func field(_ key: String) -> JSON? {
            if let v = meta[key], !v.isNull { return v }
            if let v = top[key], !v.isNull { return v }
            return nil
        }
        func int(_ key: String) throws -> Int? {
            guard let v = field(key) else { return nil }
            if let n = v.wholeNumber, abs(n) < 1 << 50 { return n }
            throw SAEError.invalidConfig(path: path, reason: "'\(key)' must be a whole number, found \(v.compactText)")
        }
        func string(_ key: String) -> String? { field(key)?.string }
        func bool(_ key: String, default d: Bool) -> Bool { field(key)?.bool ?? field(key)?.number.map { $0 != 0 } ?? d }

        guard let dIn = try int("d_in"), dIn > 0 else { throw SAEError.invalidConfig(path: path, reason: "cfg.json needs a positive d_in") }
        guard let dSae = try int("d_sae"), dSae > 0 else { throw SAEError.invalidConfig(path: path, reason: "cfg.json needs a positive d_sae") }
        guard let hook = string("hook_name") ?? string("hook_point") else {
            throw SAEError.invalidConfig(path: path, reason: "cfg.json names no hook (metadata.hook_name, or hook_point in older files)")
        }
        // Pre-6.0 files: activation_fn "topk" with activation_fn_kwargs.k means a TopK SAE.
        var archName = string("architecture") ?? "standard"
        var k = try int("k")
        if top["architecture"] == nil, string("activation_fn") ?? string("activation_fn_str") == "topk",
           let kk = field("activation_fn_kwargs")?["k"]?.wholeNumber {
            archName = "topk"; k = kk
        }
        guard let arch = SAEArchitecture(rawValue: archName) else {
            throw SAEError.unsupported("\(path): architecture '\(archName)' is not supported; tlsh reads " + SAEArchitecture.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if arch == .topk { guard let k, k > 0 else { throw SAEError.invalidConfig(path: path, reason: "a topk SAE needs a positive k") } }
        var normalization = SAENormalization.none
        if let v = field("normalize_activations") {
            if let b = v.bool { normalization = b ? .expectedAverageOnlyIn : .none }  // pre-6.0 boolean form
            else if let s = v.string {
                guard let n = SAENormalization(rawValue: s) else {
                    throw SAEError.unsupported("\(path): normalize_activations '\(s)' is not supported; tlsh reads none, expected_average_only_in, constant_norm_rescale and layer_norm")
                }
                normalization = n
            }
        }
        let reshape: Bool
        if let r = string("reshape_activations") {
            guard r == "none" || r == "hook_z" else { throw SAEError.unsupported("\(path): reshape_activations '\(r)' is not supported (none or hook_z)") }
            reshape = r == "hook_z"
        } else {
            reshape = hook.hasSuffix("hook_z")  // pre-6.0 default
        }
        if reshape && !hook.hasSuffix("_z") {
            throw SAEError.invalidConfig(path: path, reason: "reshape_activations hook_z needs a hook_z hook, not \(hook)")
        }
        let dOut = arch.isTranscoder ? (try int("d_out") ?? dIn) : dIn
        let applyBDec = bool("apply_b_dec_to_input", default: !arch.isTranscoder)
        if arch.isTranscoder && applyBDec {
            throw SAEError.invalidConfig(path: path, reason: "apply_b_dec_to_input is not supported for transcoders (SAELens refuses it too)")
        }
        return SAEConfig(architecture: arch, dIn: dIn, dSae: dSae, dOut: dOut, dtype: string("dtype") ?? "float32",
                         applyBDecToInput: applyBDec, normalization: normalization, reshapeHookZ: reshape, k: k,
                         rescaleActsByDecoderNorm: bool("rescale_acts_by_decoder_norm", default: false),
                         hookName: hook, hookNameOut: arch.isTranscoder ? (string("hook_name_out") ?? hook) : nil,
                         modelName: string("model_name"), neuronpediaID: string("neuronpedia_id"), hookHeadIndex: try int("hook_head_index"))
    }
}
