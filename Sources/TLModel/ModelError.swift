// Every failure a user can cause while loading or running a model, with a message that names the
// problem and, where there is one, the fix.

public enum TLModelError: Error, CustomStringConvertible, Equatable {
    case fileUnreadable(path: String, reason: String)
    case corruptSafetensors(path: String, reason: String)
    /// A pytorch_model.bin that is not a torch.save state dict tlsh can read safely.
    case invalidPyTorchCheckpoint(path: String, reason: String)
    case unsupportedDType(path: String, key: String, dtype: String)
    case missingTensor(key: String, expectedShape: [Int])
    case wrongShape(key: String, expected: [Int], found: [Int])
    case unexpectedTensor(key: String)
    case invalidConfig(String)
    case unsupportedArchitecture(String)
    case invalidInput(String)
    case cancelled

    public var description: String {
        switch self {
        case .fileUnreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .corruptSafetensors(let path, let reason):
            return "\(path) is not a valid safetensors file: \(reason). Re-download it, or check that the file is complete."
        case .invalidPyTorchCheckpoint(let path, let reason):
            return "\(path) cannot be read as a PyTorch checkpoint: \(reason). tlsh reads torch.save state dicts of tensors and never runs pickled code; if the file should be one, re-download it or convert it to model.safetensors."
        case .unsupportedDType(let path, let key, let dtype):
            return "\(path): tensor '\(key)' has dtype \(dtype); tlsh reads F32, F16 and BF16. Convert the checkpoint to one of these."
        case .missingTensor(let key, let shape):
            return "the checkpoint has no tensor '\(key)' (expected shape \(shape)). Is this a GPT-2 checkpoint?"
        case .wrongShape(let key, let expected, let found):
            return "tensor '\(key)' has shape \(found) but the config implies \(expected). Does config.json belong to these weights?"
        case .unexpectedTensor(let key):
            return "the checkpoint has an unexpected tensor '\(key)' that a GPT-2 model does not use. Is this a GPT-2 checkpoint?"
        case .invalidConfig(let m):
            return "invalid config.json: \(m)"
        case .unsupportedArchitecture(let m):
            return "unsupported architecture: \(m)"
        case .invalidInput(let m):
            return m
        case .cancelled:
            return "interrupted"
        }
    }
}
