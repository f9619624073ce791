import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The Hugging Face cache layout, as huggingface_hub writes it:
///
///     <cache>/models--org--name/
///         blobs/<etag>                 file contents, named by ETag (sha256 for LFS, git sha1 otherwise)
///         blobs/<etag>.incomplete      a download in progress (resumable)
///         snapshots/<commit>/<file>    relative symlink ../../blobs/<etag>
///         refs/<revision>              the commit hash a branch or tag pointed to
///         .no_exist/<commit>/<file>    empty marker: the file is absent at that commit
///     <cache>/.locks/models--org--name/<etag>.lock
struct HubCache {
    let root: URL

    static func folderName(repo: String) -> String {
        (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    static func isCommitHash(_ s: String) -> Bool {
        s.count == 40 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    static func isSHA256(_ s: String) -> Bool {
        s.count == 64 && s.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    func repoFolder(_ repo: String) -> URL { root.appendingPathComponent(Self.folderName(repo: repo)) }
    func blob(_ repo: String, etag: String) -> URL { repoFolder(repo).appendingPathComponent("blobs/\(etag)") }
    func incomplete(_ repo: String, etag: String) -> URL { repoFolder(repo).appendingPathComponent("blobs/\(etag).incomplete") }
    func snapshot(_ repo: String, commit: String) -> URL { repoFolder(repo).appendingPathComponent("snapshots/\(commit)") }
    func pointer(_ repo: String, commit: String, file: String) -> URL { snapshot(repo, commit: commit).appendingPathComponent(file) }
    func ref(_ repo: String, revision: String) -> URL { repoFolder(repo).appendingPathComponent("refs/\(revision)") }
    func noExistMarker(_ repo: String, commit: String, file: String) -> URL {
        repoFolder(repo).appendingPathComponent(".no_exist/\(commit)/\(file)")
    }
    func lockFile(_ repo: String, etag: String) -> URL {
        root.appendingPathComponent(".locks/\(Self.folderName(repo: repo))/\(etag).lock")
    }

    /// The commit a revision names in this cache: the revision itself when it is a full hash,
    /// else the content of refs/<revision>.
    func commit(repo: String, revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        guard let text = try? String(contentsOf: ref(repo, revision: revision), encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// Records that `revision` points at `commit` (atomically: write a temp file, rename).
    func writeRef(repo: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let url = ref(repo, revision: revision)
        if let current = try? String(contentsOf: url, encoding: .utf8), current == commit { return }
        try makeDirectory(url.deletingLastPathComponent())
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            try Data(commit.utf8).write(to: temp)
            try replace(temp, with: url)
        } catch let error as TLHubError { throw error } catch {
            throw TLHubError.fileSystem(path: url.path, detail: error.localizedDescription)
        }
    }

    /// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink.
    func linkPointer(repo: String, commit: String, file: String, etag: String) throws {
        let link = pointer(repo, commit: commit, file: file)
        try makeDirectory(link.deletingLastPathComponent())
        // snapshots/<commit>/ is two levels below the repo folder, plus one per '/' in the file name.
        let depth = 2 + file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + "blobs/\(etag)"
        try? FileManager.default.removeItem(at: link)
        do {
            try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target)
        } catch {
            throw TLHubError.fileSystem(path: link.path, detail: "cannot create symlink: \(error.localizedDescription)")
        }
    }

    /// Best effort, like huggingface_hub: remember that `file` is absent at `commit`.
    func markMissing(repo: String, commit: String, file: String) {
        let marker = noExistMarker(repo, commit: commit, file: file)
        try? FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: marker.path) {
            _ = FileManager.default.createFile(atPath: marker.path, contents: Data())
        }
    }

    func isMarkedMissing(repo: String, commit: String, file: String) -> Bool {
        FileManager.default.fileExists(atPath: noExistMarker(repo, commit: commit, file: file).path)
    }

    func makeDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw TLHubError.fileSystem(path: url.path, detail: error.localizedDescription)
        }
    }

    /// rename(2): atomic within one filesystem, and replaces an existing destination.
    func replace(_ source: URL, with destination: URL) throws {
        if rename(source.path, destination.path) != 0 {
            let detail = String(cString: strerror(errno))
            throw TLHubError.fileSystem(path: destination.path, detail: "rename failed: \(detail)")
        }
    }
}

/// An exclusive advisory lock (flock) on a file, so two processes never append to the same
/// `.incomplete` file. Released by `unlock` or when the process ends.
final class FileLock {
    private var descriptor: Int32

    init(_ url: URL) throws {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        descriptor = open(url.path, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else {
            throw TLHubError.fileSystem(path: url.path, detail: String(cString: strerror(errno)))
        }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno != EINTR {
                let detail = String(cString: strerror(errno))
                close(descriptor)
                throw TLHubError.fileSystem(path: url.path, detail: "cannot lock: \(detail)")
            }
        }
    }

    func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
