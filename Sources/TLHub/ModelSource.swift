import Foundation

/// Where a model's files come from.
public enum ModelSource: Sendable, Equatable, CustomStringConvertible {
    /// The small model bundled into tlsh (`DefaultModel.directory`); works offline.
    case embeddedDefault
    /// A directory holding config.json, safetensors weights and tokenizer files.
    case local(URL)
    /// A Hugging Face repo (`org/name`, or a legacy id such as `gpt2`) at a branch, tag or commit.
    case hub(repo: String, revision: String)

    public static let defaultRevision = "main"

    /// Names accepted as TransformerLens aliases (gpt2-small, distilgpt2, ...).
    public static var aliasNames: [String] { ModelAliases.allNames }
    /// TransformerLens's names (and tlsh's short forms) of the supported families beyond GPT-2.
    public static var familyAliasNames: [String] { ModelAliases.familyNames }

    /// Parses what a user typed after `model`.
    ///
    /// - `nil`, empty or `default`: the embedded default model.
    /// - Paths (`/abs`, `./rel`, `../rel`, `~/home`, or an existing directory): a local directory.
    /// - TransformerLens names and aliases (`gpt2-small`, `gpt2`, `gpt2-medium`, `distilgpt2`, ...).
    /// - Hub repo ids `org/name`, optionally `org/name@revision`; `revision` sets it too.
    public static func parse(_ name: String?, revision: String? = nil,
                             currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws -> ModelSource {
        let trimmed = (name ?? "").trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "default" {
            if let revision, !revision.isEmpty {
                throw TLHubError.invalidName(trimmed.isEmpty ? "default" : trimmed,
                                             reason: "the embedded default model has no revisions")
            }
            return .embeddedDefault
        }
        if looksLikePath(trimmed) {
            return .local(try existingDirectory(expandingTilde(trimmed), relativeTo: currentDirectory, original: trimmed))
        }
        // A bare name that is a directory here wins over the hub, like transformers' from_pretrained.
        let relative = currentDirectory.appendingPathComponent(trimmed)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: relative.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return .local(canonicalDirectory(relative))
        }

        var repo = trimmed
        var rev = revision.flatMap { $0.isEmpty ? nil : $0 }
        if let at = trimmed.firstIndex(of: "@") {
            repo = String(trimmed[..<at])
            let suffix = String(trimmed[trimmed.index(after: at)...])
            guard !suffix.isEmpty else { throw TLHubError.invalidName(trimmed, reason: "nothing follows '@'") }
            if let rev, rev != suffix {
                throw TLHubError.invalidName(trimmed, reason: "it names revision '\(suffix)' but revision: says '\(rev)'")
            }
            rev = suffix
        }
        if let official = ModelAliases.repo(forAlias: repo) { repo = official }
        try validateRepoID(repo, original: trimmed)
        if let rev { try validateRevision(rev, original: trimmed) }
        return .hub(repo: repo, revision: rev ?? defaultRevision)
    }

    public var description: String {
        switch self {
        case .embeddedDefault: return "default"
        case .local(let url): return url.path
        case let .hub(repo, revision): return revision == Self.defaultRevision ? repo : "\(repo)@\(revision)"
        }
    }

    // MARK: - Helpers

    static func looksLikePath(_ s: String) -> Bool {
        s.hasPrefix("/") || s.hasPrefix("./") || s.hasPrefix("../") || s.hasPrefix("~")
            || s == "." || s == ".."
    }

    static func expandingTilde(_ s: String) -> String {
        guard s.hasPrefix("~") else { return s }
        return (s as NSString).expandingTildeInPath
    }

    private static func existingDirectory(_ path: String, relativeTo base: URL, original: String) throws -> URL {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        let standardized = url.standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: standardized.path, isDirectory: &isDirectory) else {
            throw TLHubError.localDirectoryNotFound(original)
        }
        guard isDirectory.boolValue else {
            throw TLHubError.invalidName(original, reason: "it is a file; give the directory that holds config.json and the weights")
        }
        return canonicalDirectory(standardized)
    }

    /// One spelling per directory (standardized path, directory URL), so equal sources compare equal.
    static func canonicalDirectory(_ url: URL) -> URL {
        URL(fileURLWithPath: url.standardizedFileURL.path, isDirectory: true)
    }

    /// Hub rules: one or two segments of letters, digits, '-', '_', '.', not starting with '-' or '.',
    /// with no '--' or '..' (the cache folder name uses '--' as its separator).
    static func validateRepoID(_ repo: String, original: String) throws {
        let segments = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count <= 2 else {
            throw TLHubError.invalidName(original, reason: "a repo id has at most one '/' (org/name)")
        }
        for segment in segments {
            guard !segment.isEmpty else { throw TLHubError.invalidName(original, reason: "an empty part around '/'") }
            guard segment.count <= 96 else { throw TLHubError.invalidName(original, reason: "a part is longer than 96 characters") }
            let allowed = segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
            guard allowed else {
                throw TLHubError.invalidName(original, reason: "only letters, digits, '-', '_' and '.' may appear in a repo id")
            }
            if segment.hasPrefix("-") || segment.hasPrefix(".") || segment.contains("--") || segment.contains("..") {
                throw TLHubError.invalidName(original, reason: "a repo id part may not start with '-' or '.' nor contain '--' or '..'")
            }
        }
    }

    static func validateRevision(_ revision: String, original: String) throws {
        let bad = revision.contains { $0.isWhitespace || $0 == "\\" } || revision.hasPrefix("/")
            || revision.split(separator: "/").contains("..")
        if bad { throw TLHubError.invalidName(original, reason: "'\(revision)' is not a branch, tag or commit") }
    }
}
