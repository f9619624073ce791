import Foundation

/// Turns a `ModelSource` into a directory of model files: the embedded default, a local folder,
/// or a Hugging Face repo fetched into (or found in) the shared Hugging Face cache.
///
/// A repo already complete in the cache for the requested revision resolves with no network
/// request at all; pass `checkForUpdates: true` to ask the hub whether a branch moved.
public final class Hub: Sendable {
    public let environment: HubEnvironment
    let progress: (@Sendable (DownloadProgress) -> Void)?
    let isCancelled: (@Sendable () -> Bool)?
    let client: HTTPClient
    let cache: HubCache

    /// - Parameters:
    ///   - environment: where HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN are read.
    ///   - progress: called with per-file download progress (about 10 Hz, and once per finished file),
    ///     from a background thread.
    ///   - isCancelled: polled during downloads; returning true stops with `TLHubError.cancelled`.
    public init(environment: [String: String],
                progress: (@Sendable (DownloadProgress) -> Void)? = nil,
                isCancelled: (@Sendable () -> Bool)? = nil,
                timeout: TimeInterval = 30) {
        self.environment = HubEnvironment(environment)
        self.progress = progress
        self.isCancelled = isCancelled
        self.client = HTTPClient(timeout: timeout)
        self.cache = HubCache(root: self.environment.cacheDirectory)
    }

    /// Parses `name` (see `ModelSource.parse`) and resolves it.
    public func resolve(_ name: String?, revision: String? = nil, checkForUpdates: Bool = false) throws -> ModelFiles {
        try resolve(ModelSource.parse(name, revision: revision), checkForUpdates: checkForUpdates)
    }

    /// The model's files, downloaded into the cache when missing. Without `weights`, only
    /// config.json and the tokenizer files: a model whose weights another engine holds (a 70B model
    /// on NDIF) is named, tokenized and described here without fetching its 140 GB.
    public func resolve(_ source: ModelSource, checkForUpdates: Bool = false, weights: Bool = true) throws -> ModelFiles {
        switch source {
        case .embeddedDefault:
            let directory = DefaultModel.directory(override: environment.defaultModelDirectory)
            guard ModelFiles.missingNames(in: directory).isEmpty else {
                throw TLHubError.defaultModelMissing(directory: directory.path)
            }
            return try ModelFiles.inDirectory(directory)
        case .local(let directory):
            return try ModelFiles.inDirectory(directory, weights: weights)
        case let .hub(repo, revision):
            return try resolveHub(repo: repo, revision: revision, checkForUpdates: checkForUpdates, weights: weights)
        }
    }

    /// The cached snapshot of `repo` at `revision`, if complete (without `weights`: if it has the
    /// config and tokenizer); never touches the network. Also looks under the repo's other name
    /// (gpt2 and openai-community/gpt2 share files).
    public func cachedFiles(repo: String, revision: String = ModelSource.defaultRevision, weights: Bool = true) -> ModelFiles? {
        for candidate in ModelAliases.cacheCandidates(for: repo) {
            guard let commit = cache.commit(repo: candidate, revision: revision) else { continue }
            let snapshot = cache.snapshot(candidate, commit: commit)
            if ModelFiles.missingNames(in: snapshot, weights: weights).isEmpty,
               let files = try? ModelFiles.inDirectory(snapshot, commit: commit, weights: weights) {
                return files
            }
        }
        return nil
    }

    private func resolveHub(repo: String, revision: String, checkForUpdates: Bool, weights: Bool) throws -> ModelFiles {
        let cached = cachedFiles(repo: repo, revision: revision, weights: weights)
        if let cached, !checkForUpdates { return cached }
        if environment.offline {
            if let cached { return cached }
            throw notCachedError(repo: repo, revision: revision, offlineMode: true)
        }
        do {
            return try download(repo: repo, revision: revision, weights: weights)
        } catch TLHubError.noNetwork(let endpoint, let repo, let detail) {
            // Like huggingface_hub: when the hub is unreachable, a cached copy is good enough.
            if let cached { return cached }
            if cache.commit(repo: repo, revision: revision) != nil {
                throw notCachedError(repo: repo, revision: revision, offlineMode: false)
            }
            throw TLHubError.noNetwork(endpoint: endpoint, repo: repo, detail: detail)
        }
    }

    private func notCachedError(repo: String, revision: String, offlineMode: Bool) -> TLHubError {
        let missing: [String]
        if let commit = cache.commit(repo: repo, revision: revision) {
            let names = ModelFiles.missingNames(in: cache.snapshot(repo, commit: commit))
            missing = names.isEmpty ? ["a readable snapshot"] : names
        } else if HubCache.isCommitHash(revision) {
            missing = ["snapshots/\(revision)"]
        } else {
            missing = ["refs/\(revision) (never downloaded)"]
        }
        return .notCached(repo: repo, revision: revision, cacheDirectory: cache.repoFolder(repo).path,
                          missing: missing, offlineMode: offlineMode)
    }

    /// HEAD every file the model needs (pinning the commit from the first answer so all files come
    /// from one commit), then download what the cache lacks; without `weights`, no weight file.
    private func download(repo: String, revision: String, weights: Bool) throws -> ModelFiles {
        let remote = RemoteRepo(repo: repo, environment: environment, client: client, isCancelled: isCancelled)
        guard let config = try remote.metadata(revision: revision, file: ModelFiles.configName) else {
            let listing = remote.listFiles(revision: revision) ?? []
            throw TLHubError.missingFiles(directory: "\(repo)@\(revision) on \(environment.endpoint)",
                                          missing: [ModelFiles.configName], present: listing)
        }
        let commit = config.commit
        try cache.writeRef(repo: repo, revision: revision, commit: commit)

        var plan: [FileMetadata] = [config]
        // Ask for a file, remembering absences in .no_exist like huggingface_hub does.
        func lookup(_ file: String) throws -> FileMetadata? {
            if cache.isMarkedMissing(repo: repo, commit: commit, file: file) { return nil }
            let meta = try remote.metadata(revision: commit, file: file)
            if meta == nil { cache.markMissing(repo: repo, commit: commit, file: file) }
            return meta
        }

        // Tokenizer: tokenizer.json and/or vocab.json + merges.txt.
        let tokenizerJSON = try lookup(ModelFiles.tokenizerJSONName)
        let vocab = try lookup(ModelFiles.vocabName)
        let merges = try lookup(ModelFiles.mergesName)
        // Families beyond GPT-2 run on token ids without one (as ModelFiles.tokenizerOptional says
        // for local directories); only then is config.json fetched ahead to read its model_type.
        func tokenizerOptional() throws -> Bool {
            try fetch([config], repo: repo, remote: remote, counting: 1)
            return ModelFiles.tokenizerOptional(in: cache.snapshot(repo, commit: commit))
        }
        guard try tokenizerJSON != nil || (vocab != nil && merges != nil) || tokenizerOptional() else {
            throw TLHubError.missingFiles(directory: "\(repo)@\(revision) on \(environment.endpoint)",
                                          missing: ["\(ModelFiles.tokenizerJSONName) (or \(ModelFiles.vocabName) + \(ModelFiles.mergesName))"],
                                          present: remote.listFiles(revision: commit) ?? [])
        }
        plan += [tokenizerJSON, vocab, merges].compactMap { $0 }
        plan += try [ModelFiles.tokenizerConfigName, ModelFiles.generationConfigName].compactMap(lookup)

        var downloads = plan
        guard weights else {
            try fetch(downloads, repo: repo, remote: remote, counting: downloads.count)
            return try ModelFiles.inDirectory(cache.snapshot(repo, commit: commit), commit: commit, weights: false)
        }
        // Weights: one safetensors file, or an index and its shards; failing both, PyTorch's
        // pytorch_model.bin or its index (many Pythia revisions publish only these).
        func appendShards(of index: FileMetadata) throws {
            try fetch([index], repo: repo, remote: remote, counting: 1)
            let indexURL = cache.pointer(repo, commit: commit, file: index.file)
            for shard in try ModelFiles.shardNames(indexURL: indexURL) {
                guard let meta = try lookup(shard) else {
                    throw TLHubError.missingFiles(directory: "\(repo)@\(revision) on \(environment.endpoint)",
                                                  missing: [shard], present: remote.listFiles(revision: commit) ?? [])
                }
                downloads.append(meta)
            }
        }
        if let single = try lookup(ModelFiles.weightsName) {
            downloads.append(single)
        } else if let index = try lookup(ModelFiles.weightIndexName) {
            try appendShards(of: index)
        } else if let single = try lookup(ModelFiles.pytorchWeightsName) {
            downloads.append(single)
        } else if let index = try lookup(ModelFiles.pytorchWeightIndexName) {
            try appendShards(of: index)
        } else {
            let files = remote.listFiles(revision: commit)
            let weightExtensions = [".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt", ".gguf", ".onnx", ".safetensors"]
            let weights = files?.filter { name in weightExtensions.contains { name.hasSuffix($0) } }
            let available = weights.flatMap { $0.isEmpty ? nil : $0 } ?? files
                ?? ["(file list unavailable; \(ModelFiles.weightsName) and \(ModelFiles.weightIndexName) are 404)"]
            throw TLHubError.missingSafetensors(repo: repo, revision: revision, available: available)
        }
        try fetch(downloads, repo: repo, remote: remote, counting: downloads.count)
        return try ModelFiles.inDirectory(cache.snapshot(repo, commit: commit), commit: commit)
    }

    func fetch(_ files: [FileMetadata], repo: String, remote: RemoteRepo, counting count: Int) throws {
        let downloader = BlobDownload(repo: repo, cache: cache, remote: remote, client: client,
                                      progress: progress, isCancelled: isCancelled)
        for (offset, meta) in files.enumerated() {
            if isCancelled?() == true { throw TLHubError.cancelled }
            try downloader.fetch(meta, fileIndex: offset + 1, fileCount: count)
        }
    }
}
