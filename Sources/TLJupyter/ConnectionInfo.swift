import Foundation

/// The connection file Jupyter writes before starting a kernel: where to bind and how to sign.
public struct ConnectionInfo: Sendable, Equatable {
    public enum Transport: String, Sendable { case tcp, ipc }

    public var transport: Transport
    public var ip: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int
    /// HMAC key bytes (the UTF-8 of the file's `key`); empty means messages are not signed.
    public var key: [UInt8]
    public var signatureScheme: String
    public var kernelName: String?

    /// Reads and validates a connection file.
    public static func load(path: String) throws -> ConnectionInfo {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KernelError.connectionFile(path: path, problem: "cannot read the file")
        }
        return try parse(Array(data), path: path)
    }

    /// Validates the JSON of a connection file; `path` only appears in error messages.
    public static func parse(_ bytes: [UInt8], path: String = "<connection file>") throws -> ConnectionInfo {
        func fail(_ problem: String) -> KernelError { .connectionFile(path: path, problem: problem) }
        let json: JSONValue
        do { json = try JSONValue.decode(bytes) } catch { throw fail("not valid JSON (\(error))") }
        guard json.objectValue != nil else { throw fail("expected a JSON object") }

        let transportName = json["transport"].stringValue ?? "tcp"
        guard let transport = Transport(rawValue: transportName) else {
            throw fail("transport \"\(transportName)\" is not supported (use \"tcp\" or \"ipc\")")
        }
        guard let ip = json["ip"].stringValue, !ip.isEmpty else { throw fail("missing \"ip\"") }
        func port(_ field: String) throws -> Int {
            guard let value = json[field].intValue else { throw fail("missing or non-integer \"\(field)\"") }
            // ipc "ports" are file-name suffixes, but tcp ports must be real, fixed ports: the client has
            // already been told them, so a wildcard (0) could never be reached.
            guard value > 0, value <= 65535 else { throw fail("\"\(field)\" is \(value); expected 1...65535") }
            return value
        }
        let key = json["key"].stringValue ?? ""
        let scheme = json["signature_scheme"].stringValue ?? "hmac-sha256"
        if !key.isEmpty && scheme != "hmac-sha256" {
            throw fail("signature_scheme \"\(scheme)\" is not supported (only hmac-sha256)")
        }
        return ConnectionInfo(
            transport: transport, ip: ip,
            shellPort: try port("shell_port"), iopubPort: try port("iopub_port"), stdinPort: try port("stdin_port"),
            controlPort: try port("control_port"), hbPort: try port("hb_port"),
            key: Array(key.utf8), signatureScheme: scheme, kernelName: json["kernel_name"].stringValue)
    }

    /// The ZeroMQ endpoint for a port: `tcp://ip:port`, or `ipc://ip-port` as jupyter_client names them.
    public func endpoint(port: Int) -> String {
        switch transport {
        case .tcp: return "tcp://\(ip.contains(":") ? "[\(ip)]" : ip):\(port)"
        case .ipc: return "ipc://\(ip)-\(port)"
        }
    }
}
