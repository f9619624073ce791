import Foundation

/// The settings huggingface_hub reads from the environment, read the same way so both tools
/// share one cache and one token.
public struct HubEnvironment: Sendable, Equatable {
    /// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    public let home: URL
    /// `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`.
    public let cacheDirectory: URL
    /// `HF_ENDPOINT` without a trailing slash, else `https://huggingface.co`.
    public let endpoint: String
    /// `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is 1/ON/YES/TRUE: never touch the network.
    public let offline: Bool
    /// `HF_TOKEN` (or the legacy `HUGGING_FACE_HUB_TOKEN`), else the token file
    /// (`HF_TOKEN_PATH`, else `$HF_HOME/token`).
    public let token: String?

    /// `TLSH_DEFAULT_MODEL`: a folder to use instead of the bundled default model.
    public let defaultModelDirectory: URL?
    /// `TLSH_SAE_RELEASES`: a release table to use instead of the bundled one.
    public let saeReleaseTable: URL?

    public static let defaultEndpoint = "https://huggingface.co"

    public init(_ env: [String: String]) {
        let userHome = env["HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        func path(_ value: String) -> URL {
            let expanded = value.hasPrefix("~") ? userHome.path + value.dropFirst() : value
            return URL(fileURLWithPath: expanded).standardizedFileURL
        }
        func nonEmpty(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }

        let xdgCache = nonEmpty("XDG_CACHE_HOME").map(path) ?? userHome.appendingPathComponent(".cache")
        home = nonEmpty("HF_HOME").map(path) ?? xdgCache.appendingPathComponent("huggingface")
        cacheDirectory = (nonEmpty("HF_HUB_CACHE") ?? nonEmpty("HUGGINGFACE_HUB_CACHE")).map(path)
            ?? home.appendingPathComponent("hub")
        var endpoint = nonEmpty("HF_ENDPOINT") ?? Self.defaultEndpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        offline = Self.isTrue(env["HF_HUB_OFFLINE"] ?? env["TRANSFORMERS_OFFLINE"])
        defaultModelDirectory = nonEmpty("TLSH_DEFAULT_MODEL").map { URL(fileURLWithPath: $0) }
        saeReleaseTable = nonEmpty("TLSH_SAE_RELEASES").map { URL(fileURLWithPath: $0) }

        if let token = nonEmpty("HF_TOKEN") ?? nonEmpty("HUGGING_FACE_HUB_TOKEN") {
            self.token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            let file = nonEmpty("HF_TOKEN_PATH").map(path) ?? home.appendingPathComponent("token")
            let text = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            token = (text?.isEmpty ?? true) ? nil : text
        }
    }

    /// huggingface_hub's truth values for boolean variables.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(value.uppercased())
    }
}
