import Foundation

/// Everything that can go wrong turning a model name into a directory of files.
/// Each message names the problem and the way out.
public enum TLHubError: Error, CustomStringConvertible, Equatable {
    /// The name is not an alias, an `org/name` repo id, a local directory or `default`.
    case invalidName(String, reason: String)
    /// A name that looks like a path, but nothing is there.
    case localDirectoryNotFound(String)
    /// A directory (local, cached snapshot or embedded) lacks files a model needs.
    case missingFiles(directory: String, missing: [String], present: [String])
    /// The embedded default model has not been bundled into this build.
    case defaultModelMissing(directory: String)
    /// The repo exists but has neither safetensors nor pytorch_model.bin weights (e.g. only flax or gguf files).
    case missingSafetensors(repo: String, revision: String, available: [String])
    /// HF_HUB_OFFLINE is set (or the network is gone) and the cache lacks what is needed.
    case notCached(repo: String, revision: String, cacheDirectory: String, missing: [String], offlineMode: Bool)
    /// The endpoint could not be reached at all.
    case noNetwork(endpoint: String, repo: String, detail: String)
    /// 404 on the repo.
    case repoNotFound(repo: String, endpoint: String)
    /// The repo exists but the branch, tag or commit does not.
    case revisionNotFound(repo: String, revision: String)
    /// 401/403: gated (Llama, Gemma: a licence to accept on the repo's page), private, or a bad token.
    case unauthorized(repo: String, status: Int, gated: Bool, tokenSent: Bool, endpoint: String)
    /// Any other HTTP failure.
    case httpStatus(url: String, status: Int, message: String)
    /// The server answered without the Hugging Face headers this client needs.
    case notAHubEndpoint(url: String, missingHeader: String)
    /// The downloaded LFS object does not hash to its published SHA-256.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The download ended with a different size than the server announced.
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// The transfer kept failing after the retries.
    case downloadFailed(file: String, attempts: Int, detail: String)
    /// Reading or writing the cache failed.
    case fileSystem(path: String, detail: String)
    /// The caller's `isCancelled` returned true.
    case cancelled

    static let offlineAlternatives = """
        Without a network you can: set HF_HUB_OFFLINE=1 and use a model already in the Hugging Face cache \
        (downloaded once by tlsh or Python); give a local directory (`model ./my-gpt2`); \
        or use the embedded default model (`model` with no argument).
        """

    public var description: String {
        switch self {
        case let .invalidName(name, reason):
            return "'\(name)' is not a model name: \(reason). Use an alias (gpt2-small), a Hugging Face repo id "
                + "(org/name or org/name@revision), a local directory (./path, /path, ~/path), or `default`."
        case let .localDirectoryNotFound(path):
            return "No directory at '\(path)'. Check the path; to download from the hub instead, use a repo id like org/name."
        case let .missingFiles(directory, missing, present):
            let has = present.isEmpty ? "it is empty" : "it has: " + present.joined(separator: ", ")
            return "The model directory '\(directory)' lacks \(missing.joined(separator: ", ")); \(has). "
                + "A model needs config.json, model.safetensors (or model.safetensors.index.json and its shards), "
                + "and tokenizer.json or vocab.json + merges.txt."
        case let .defaultModelMissing(directory):
            return "The embedded default model is not in this build (looked in '\(directory)'). "
                + "Rebuild tlsh with the model files in Sources/TLHub/Resources/DefaultModel, or name a model: `model gpt2-small`."
        case let .missingSafetensors(repo, revision, available):
            let list = available.isEmpty ? "no weight files" : available.joined(separator: ", ")
            return "\(repo)@\(revision) has no model.safetensors, pytorch_model.bin or their .index.json (it has \(list)). "
                + "tlsh reads safetensors and torch.save checkpoints only: convert the weights (e.g. with Python's safetensors `save_file`) "
                + "into a local directory and load that, or pick a repo or revision that publishes safetensors."
        case let .notCached(repo, revision, cache, missing, offlineMode):
            let why = offlineMode ? "HF_HUB_OFFLINE is set, so nothing is downloaded" : "the hub could not be reached"
            return "\(repo)@\(revision) is not in the cache at '\(cache)' (missing: \(missing.joined(separator: ", "))) and \(why). "
                + (offlineMode ? "Unset HF_HUB_OFFLINE to download it, or use a local directory or the embedded default model (`model` with no argument)."
                               : Self.offlineAlternatives)
        case let .noNetwork(endpoint, repo, detail):
            return "Cannot reach \(endpoint) to download \(repo) (\(detail)). " + Self.offlineAlternatives
        case let .repoNotFound(repo, endpoint):
            let names = repo.contains("/") ? ""
                : " TransformerLens names tlsh knows: " + ModelAliases.allNames.joined(separator: ", ") + "."
            return "No model repo '\(repo)' on \(endpoint) (404). Check the spelling (org/name); "
                + "if it is private, set HF_TOKEN to a token that can read it." + names
        case let .revisionNotFound(repo, revision):
            return "\(repo) has no branch, tag or commit '\(revision)'. Use `@main` or a revision listed on the repo's page."
        case let .unauthorized(repo, status, gated, tokenSent, endpoint):
            let what = gated ? "is gated: accept its licence at \(endpoint)/\(repo) (signed in), then" : "needs authorisation:"
            let token = tokenSent ? "the token that was sent (HF_TOKEN or $HF_HOME/token) was refused; use one with read access to it"
                                  : "set HF_TOKEN (or log in so $HF_HOME/token exists) with a token that can read it"
            return "\(repo) \(what) \(token) (HTTP \(status))."
        case let .httpStatus(url, status, message):
            return "HTTP \(status) from \(url)\(message.isEmpty ? "" : ": " + message)."
        case let .notAHubEndpoint(url, header):
            return "The response from \(url) lacks the \(header) header, so it does not come from a Hugging Face hub. "
                + "Check HF_ENDPOINT, proxies and firewalls."
        case let .checksumMismatch(file, expected, actual):
            return "\(file) is corrupt: its SHA-256 is \(actual) but the hub publishes \(expected). "
                + "The partial file was deleted; run the command again to download it afresh."
        case let .sizeMismatch(file, expected, actual):
            return "\(file) arrived with \(actual) bytes but the hub announced \(expected). Run the command again to resume."
        case let .downloadFailed(file, attempts, detail):
            return "Downloading \(file) failed after \(attempts) attempts (\(detail)). The partial file is kept; "
                + "run the command again to resume. " + Self.offlineAlternatives
        case let .fileSystem(path, detail):
            return "Cannot write or read '\(path)': \(detail). Check permissions and free space, or point HF_HUB_CACHE elsewhere."
        case .cancelled:
            return "Download cancelled. The partial file is kept and resumes next time."
        }
    }
}
