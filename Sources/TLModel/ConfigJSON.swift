// A typed view of a Hugging Face config.json: every value a parser reads is checked for its type, so
// `"layer_norm_epsilon": "silu"` is an error naming the key, the expected type and the file rather
// than a silent fall-back to the default.
import Foundation

public struct ConfigJSON {
    public let path: String
    let values: [String: Any]

    /// Parses `data` as a JSON object.
    public init(data: Data, path: String) throws {
        self.path = path
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TLModelError.invalidConfig("\(path) is not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw TLModelError.invalidConfig("\(path) must hold a JSON object")
        }
        values = dict
    }

    /// True when `key` is present with a non-null value.
    public func has(_ key: String) -> Bool { values[key].map { !($0 is NSNull) } ?? false }

    private func wrongType(_ key: String, expected: String) -> TLModelError {
        let found = values[key].map { "\($0)" } ?? "nothing"
        return .invalidConfig("\(path): \"\(key)\" must be \(expected), but it is \(Self.jsonType(values[key])) \(found.prefix(60))")
    }

    /// A whole number, or nil when the key is absent or null. 4.0 is accepted; 4.5, 1e19, a string or a
    /// boolean is an error.
    public func int(_ key: String) throws -> Int? {
        guard has(key), let raw = values[key] else { return nil }
        guard let number = raw as? NSNumber, !Self.isBoolean(number) else { throw wrongType(key, expected: "a whole number") }
        if let exact = Int(exactly: number.doubleValue) { return exact }
        throw TLModelError.invalidConfig("\(path): \(key) = \(number) is not a whole number in range")
    }

    /// The first of `keys` that is present, as a whole number.
    public func int(_ keys: [String]) throws -> Int? {
        for key in keys { if let v = try int(key) { return v } }
        return nil
    }

    /// A finite number, or nil when absent or null.
    public func double(_ key: String) throws -> Double? {
        guard has(key), let raw = values[key] else { return nil }
        guard let number = raw as? NSNumber, !Self.isBoolean(number), number.doubleValue.isFinite else {
            throw wrongType(key, expected: "a finite number")
        }
        return number.doubleValue
    }

    /// A string, or nil when absent or null.
    public func string(_ key: String) throws -> String? {
        guard has(key), let raw = values[key] else { return nil }
        guard let s = raw as? String else { throw wrongType(key, expected: "a string") }
        return s
    }

    /// A boolean, or nil when absent or null.
    public func bool(_ key: String) throws -> Bool? {
        guard has(key), let raw = values[key] else { return nil }
        guard let number = raw as? NSNumber, Self.isBoolean(number) else { throw wrongType(key, expected: "true or false") }
        return number.boolValue
    }

    /// A list of strings, or nil when absent or null.
    public func strings(_ key: String) throws -> [String]? {
        guard has(key), let raw = values[key] else { return nil }
        guard let list = raw as? [Any], let strings = list as? [String] else { throw wrongType(key, expected: "a list of strings") }
        return strings
    }

    /// A nested object, or nil when absent or null.
    public func object(_ key: String) throws -> ConfigJSON? {
        guard has(key), let raw = values[key] else { return nil }
        guard let dict = raw as? [String: Any] else { throw wrongType(key, expected: "an object") }
        return ConfigJSON(values: dict, path: "\(path) → \(key)")
    }

    private init(values: [String: Any], path: String) { self.values = values; self.path = path }

    /// JSONSerialization returns booleans as NSNumbers too (and `is Bool` holds for 0 and 1); a
    /// boolean's objCType is "c", a JSON number's never is.
    static func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    static func jsonType(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "null"
        case let n as NSNumber: return isBoolean(n) ? "a boolean" : "a number"
        case is String: return "a string"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default: return "a value"
        }
    }
}
