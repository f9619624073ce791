/// Everything that can go wrong in the kernel, phrased so the message names the problem and the fix.
public enum KernelError: Error, CustomStringConvertible, Equatable {
    /// The connection file could not be read or is not what jupyter_client writes.
    case connectionFile(path: String, problem: String)
    /// A ZeroMQ call failed; `operation` names the socket and call, `reason` is zmq_strerror.
    case zmq(operation: String, reason: String)
    /// A received multipart message does not follow the Jupyter wire format.
    case malformedMessage(String)
    /// The HMAC signature of a received message does not match the connection file's key.
    case badSignature
    /// A received message is larger than the configured limit (bytes).
    case messageTooLarge(bytes: Int, limit: Int)
    /// Installing the kernelspec failed.
    case kernelspec(String)
    /// The `tlsh kernel` command line could not be understood.
    case usage(String)

    public var description: String {
        switch self {
        case let .connectionFile(path, problem):
            return "connection file \(path): \(problem). Start the kernel through Jupyter (it writes this file), "
                + "or pass a file with transport, ip, the five *_port fields, key and signature_scheme."
        case let .zmq(operation, reason):
            return "ZeroMQ \(operation) failed: \(reason)"
        case let .malformedMessage(problem):
            return "malformed Jupyter message: \(problem)"
        case .badSignature:
            return "message signature does not match the connection file's key (is the client using the same key?)"
        case let .messageTooLarge(bytes, limit):
            return "message of \(bytes) bytes exceeds the limit of \(limit) bytes "
                + "(raise it with TLSH_KERNEL_MAX_MESSAGE_BYTES)"
        case let .kernelspec(problem):
            return "kernelspec install: \(problem)"
        case let .usage(problem):
            return "tlsh kernel: \(problem)\n\(KernelCommandLine.usage)"
        }
    }
}
