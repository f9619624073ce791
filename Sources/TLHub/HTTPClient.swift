import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP response; header names are lower-cased.
struct HTTPResponse: Sendable {
    let status: Int
    let headers: [String: String]
    /// The URL that answered (after any redirects that were followed).
    let url: URL
    /// The body, unless it was streamed to a sink.
    let body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) && header("location") != nil }
}

/// A transport failure (no response at all), as opposed to an HTTP status.
struct TransportError: Error, CustomStringConvertible {
    let detail: String
    /// True when the host could not be reached at all (DNS, refused, offline), as opposed to
    /// a connection that broke mid-transfer.
    let unreachable: Bool
    var description: String { detail }
}

/// Blocking HTTP over URLSession (libcurl underneath on Linux, so HTTPS works). Synchronous on
/// purpose: resolution runs before a model exists, and the callers are synchronous.
final class HTTPClient: Sendable {
    /// Seconds without progress before a request fails (huggingface_hub uses 10 for HEAD).
    let timeout: TimeInterval

    init(timeout: TimeInterval = 30) { self.timeout = timeout }

    /// One request. With `followRedirects` false the 3xx response itself is returned, which is how
    /// the hub's metadata (X-Linked-Etag, X-Linked-Size, Location) is read for LFS files.
    /// `sink`, when given, receives the body of a 2xx response in chunks (with the status) instead of `body`.
    func send(_ method: String, _ url: URL, headers: [String: String], followRedirects: Bool,
              isCancelled: (@Sendable () -> Bool)? = nil,
              sink: (@Sendable (Int, Data) throws -> Void)? = nil) throws -> HTTPResponse {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }

        let state = RequestState(followRedirects: followRedirects, sink: sink)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: state, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        // Wait in short slices so a cancellation request is noticed promptly.
        while state.done.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if isCancelled?() == true || state.sinkFailed {
                task.cancel()
                _ = state.done.wait(timeout: .now() + .seconds(5))
                break
            }
        }
        if isCancelled?() == true { throw TLHubError.cancelled }
        return try state.result(for: url)
    }
}

/// Collects one task's response; the delegate callbacks arrive on the session's serial queue.
private final class RequestState: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private let followRedirects: Bool
    private let sink: (@Sendable (Int, Data) throws -> Void)?
    private var response: HTTPURLResponse?
    private var body = Data()
    private var error: Error?
    private var sinkError: Error?

    init(followRedirects: Bool, sink: (@Sendable (Int, Data) throws -> Void)?) {
        self.followRedirects = followRedirects
        self.sink = sink
    }

    var sinkFailed: Bool { lock.withLock { sinkError != nil } }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(followRedirects ? request : nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        lock.withLock { self.response = response as? HTTPURLResponse }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (status, failed) = lock.withLock { (response?.statusCode ?? 0, sinkError != nil) }
        guard !failed else { return }
        if let sink, (200..<300).contains(status) {
            do { try sink(status, data) } catch {
                lock.withLock { sinkError = error }
                dataTask.cancel()
            }
        } else {
            // Error bodies are small; cap them so a misbehaving server cannot fill memory.
            lock.withLock { if body.count < 1 << 20 { body.append(data) } }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.withLock {
            if response == nil, let http = task.response as? HTTPURLResponse { response = http }
            self.error = error
        }
        done.signal()
    }

    func result(for requestURL: URL) throws -> HTTPResponse {
        try lock.withLock {
            if let sinkError { throw sinkError }
            if let error {
                // A response that arrived before the failure still tells the caller how far it got,
                // but a transfer that broke is a transport error the caller may retry.
                throw Self.transportError(error)
            }
            guard let response else {
                throw TransportError(detail: "no response from \(requestURL.host ?? requestURL.absoluteString)", unreachable: true)
            }
            var headers: [String: String] = [:]
            for (key, value) in response.allHeaderFields {
                if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
            }
            return HTTPResponse(status: response.statusCode, headers: headers, url: response.url ?? requestURL, body: body)
        }
    }

    private static func transportError(_ error: Error) -> TransportError {
        let nsError = error as NSError
        let unreachableCodes: Set<Int> = [
            NSURLErrorCannotConnectToHost, NSURLErrorCannotFindHost, NSURLErrorNotConnectedToInternet,
            NSURLErrorDNSLookupFailed, NSURLErrorSecureConnectionFailed, NSURLErrorUnsupportedURL,
        ]
        let unreachable = nsError.domain == NSURLErrorDomain && unreachableCodes.contains(nsError.code)
        return TransportError(detail: nsError.localizedDescription + " (code \(nsError.code))", unreachable: unreachable)
    }
}
