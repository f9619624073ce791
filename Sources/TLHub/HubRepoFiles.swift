// Named files of any hub repo (an SAE release's cfg.json and sae_weights.safetensors under a
// folder), fetched into the same Hugging Face cache as models and found there next time.
import Foundation

extension Hub {
    /// The snapshot directory of `repo` at `revision` holding every file of `required` (and of
    /// `optional` that the repo has). Cached files resolve with no network request.
    public func snapshot(repo: String, revision: String = ModelSource.defaultRevision,
                         required: [String], optional: [String] = []) throws -> URL {
        if let commit = cache.commit(repo: repo, revision: revision) {
            let snapshot = cache.snapshot(repo, commit: commit)
            if required.allSatisfy({ FileManager.default.fileExists(atPath: snapshot.appendingPathComponent($0).path) }) {
                return snapshot
            }
        }
        if environment.offline {
            throw TLHubError.notCached(repo: repo, revision: revision, cacheDirectory: cache.repoFolder(repo).path,
                                       missing: required, offlineMode: true)
        }
        let remote = RemoteRepo(repo: repo, environment: environment, client: client, isCancelled: isCancelled)
        guard let first = required.first else { throw TLHubError.invalidName(repo, reason: "no files asked for") }
        guard let head = try remote.metadata(revision: revision, file: first) else {
            throw TLHubError.missingFiles(directory: "\(repo)@\(revision) on \(environment.endpoint)", missing: [first],
                                          present: remote.listFiles(revision: revision) ?? [])
        }
        let commit = head.commit
        try cache.writeRef(repo: repo, revision: revision, commit: commit)
        var plan = [head]
        for file in required.dropFirst() {
            guard let meta = try remote.metadata(revision: commit, file: file) else {
                throw TLHubError.missingFiles(directory: "\(repo)@\(revision) on \(environment.endpoint)", missing: [file],
                                              present: remote.listFiles(revision: commit) ?? [])
            }
            plan.append(meta)
        }
        for file in optional {
            if cache.isMarkedMissing(repo: repo, commit: commit, file: file) { continue }
            if let meta = try remote.metadata(revision: commit, file: file) { plan.append(meta) } else {
                cache.markMissing(repo: repo, commit: commit, file: file)
            }
        }
        try fetch(plan, repo: repo, remote: remote, counting: plan.count)
        return cache.snapshot(repo, commit: commit)
    }
}
