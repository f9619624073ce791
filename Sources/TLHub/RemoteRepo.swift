import Foundation
import TLCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the hub says about one file, read from the HEAD of its resolve URL (huggingface_hub's
/// `get_hf_file_metadata`): the commit, the blob name, the size, and where to GET it.
struct FileMetadata: Sendable {
    let file: String
    /// X-Repo-Commit: the commit the revision resolved to.
    let commit: String
    /// X-Linked-Etag (LFS: the sha256) or ETag (git blob sha1), quotes and W/ stripped.
    let etag: String
    /// X-Linked-Size, else Content-Length of a non-redirect response.
    let size: Int64?
    /// The Location of a redirect to a CDN, else the resolve URL itself.
    let downloadURL: URL
}

/// The requests one repo needs: HEAD per file, and the model-info API for listing files.
struct RemoteRepo {
    let repo: String
    let environment: HubEnvironment
    let client: HTTPClient
    let isCancelled: (@Sendable () -> Bool)?

    static let maxRedirects = 10

    func resolveURL(revision: String, file: String) -> URL? {
        var pathAllowed = CharacterSet.urlPathAllowed
        let segmentAllowed = pathAllowed.subtracting(CharacterSet(charactersIn: "/"))
        pathAllowed.remove(charactersIn: "?#")
        guard let rev = revision.addingPercentEncoding(withAllowedCharacters: segmentAllowed),
              let path = file.addingPercentEncoding(withAllowedCharacters: pathAllowed) else { return nil }
        return URL(string: "\(environment.endpoint)/\(repo)/resolve/\(rev)/\(path)")
    }

    /// Headers for requests to the hub itself. The token never goes to another host.
    func headers(for url: URL) -> [String: String] {
        var headers = ["User-Agent": "tlsh/0.1 (huggingface_hub-compatible)", "Accept-Encoding": "identity"]
        if let token = environment.token, Self.sameHost(url, URL(string: environment.endpoint)) {
            headers["Authorization"] = "Bearer \(token)"
        }
        return headers
    }

    static func sameHost(_ a: URL, _ b: URL?) -> Bool {
        guard let b else { return false }
        return a.scheme == b.scheme && a.host?.lowercased() == b.host?.lowercased() && a.port == b.port
    }

    /// HEAD the file at `revision`. Follows redirects that stay on the hub (renamed repos answer
    /// 307 to their new name) and stops at the first one that leaves it (the LFS CDN), whose
    /// headers carry the metadata. Returns nil when the file does not exist at that revision.
    func metadata(revision: String, file: String) throws -> FileMetadata? {
        guard var url = resolveURL(revision: revision, file: file) else {
            throw TLHubError.invalidName("\(repo)@\(revision)", reason: "cannot form a URL for \(file)")
        }
        var response: HTTPResponse
        var redirects = 0
        while true {
            response = try request("HEAD", url, followRedirects: false)
            guard response.isRedirect, let location = response.header("location"),
                  let target = URL(string: location, relativeTo: url)?.absoluteURL else { break }
            guard Self.sameHost(url, target) else { break }
            redirects += 1
            if redirects > Self.maxRedirects {
                throw TLHubError.httpStatus(url: url.absoluteString, status: response.status, message: "too many redirects")
            }
            url = target
        }
        if try !check(response, revision: revision, url: url) { return nil }

        guard let commit = response.header("x-repo-commit") else {
            throw TLHubError.notAHubEndpoint(url: url.absoluteString, missingHeader: "X-Repo-Commit")
        }
        guard let rawETag = response.header("x-linked-etag") ?? response.header("etag") else {
            throw TLHubError.notAHubEndpoint(url: url.absoluteString, missingHeader: "ETag")
        }
        let size = response.header("x-linked-size").flatMap { Int64($0) }
            ?? (response.isRedirect ? nil : response.header("content-length").flatMap { Int64($0) })
        var downloadURL = url
        if response.isRedirect, let location = response.header("location"),
           let target = URL(string: location, relativeTo: url)?.absoluteURL {
            downloadURL = target
        }
        return FileMetadata(file: file, commit: commit, etag: Self.normalizeETag(rawETag), size: size, downloadURL: downloadURL)
    }

    /// `W/"abc"` and `"abc"` both become `abc`, as huggingface_hub names blobs.
    static func normalizeETag(_ etag: String) -> String {
        var value = Substring(etag.trimmingCharacters(in: .whitespaces))
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        return value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// The repo's file names at `revision`, from `{endpoint}/api/models/{repo}/revision/{rev}`.
    func listFiles(revision: String) -> [String]? {
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))
        guard let rev = revision.addingPercentEncoding(withAllowedCharacters: allowed),
              let url = URL(string: "\(environment.endpoint)/api/models/\(repo)/revision/\(rev)"),
              let response = try? request("GET", url, followRedirects: true), response.status == 200,
              let siblings = (try? JSON.parse(response.body))?["siblings"]?.array else { return nil }
        return siblings.compactMap { $0["rfilename"]?.string }.sorted()
    }

    func request(_ method: String, _ url: URL, followRedirects: Bool) throws -> HTTPResponse {
        do {
            return try client.send(method, url, headers: headers(for: url), followRedirects: followRedirects,
                                   isCancelled: isCancelled)
        } catch let error as TransportError {
            throw TLHubError.noNetwork(endpoint: environment.endpoint, repo: repo, detail: error.detail)
        }
    }

    /// Maps an HTTP status to TLHubError the way huggingface_hub's `hf_raise_for_status` reads
    /// X-Error-Code. Returns false for "this file does not exist at this revision".
    func check(_ response: HTTPResponse, revision: String, url: URL) throws -> Bool {
        let status = response.status
        if (200..<400).contains(status) { return true }
        let code = response.header("x-error-code")
        let message = response.header("x-error-message")
            ?? String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        switch (status, code) {
        case (_, "RevisionNotFound"):
            throw TLHubError.revisionNotFound(repo: repo, revision: revision)
        case (_, "EntryNotFound"):
            return false
        case (_, "GatedRepo"):
            throw TLHubError.unauthorized(repo: repo, status: status, gated: true, tokenSent: environment.token != nil, endpoint: environment.endpoint)
        case (_, "RepoNotFound"):
            throw TLHubError.repoNotFound(repo: repo, endpoint: environment.endpoint)
        case (401, _), (403, _):
            throw TLHubError.unauthorized(repo: repo, status: status, gated: false, tokenSent: environment.token != nil, endpoint: environment.endpoint)
        case (404, _):
            // Without an error code, a commit header means the repo answered: the file is absent.
            if response.header("x-repo-commit") != nil { return false }
            throw TLHubError.repoNotFound(repo: repo, endpoint: environment.endpoint)
        default:
            throw TLHubError.httpStatus(url: url.absoluteString, status: status, message: message)
        }
    }
}
