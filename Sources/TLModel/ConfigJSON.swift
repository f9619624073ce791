// A typed view of a Hugging Face config.json: every value a parser reads is checked for its type, so
// `"layer_norm_epsilon": "silu"` is an error naming the key, the expected type and the file rather
// than a silent fall-back to the default. Parsed by TLCore's JSON reader (a malformed file is reported
// with its line and byte).
import Foundation
import TLCore

public struct ConfigJSON {
    public let path: String
    let values: JSON

    /// Parses `data` as a JSON object.
    public init(data: Data, path: String) throws {
        self.path = path
        let object: JSON
        do { object = try JSON.parse(data) } catch {
            throw TLModelError.invalidConfig("\(path) is not valid JSON (\(error))")
        }
        guard case .object = object else {
            throw TLModelError.invalidConfig("\(path) must hold a JSON object, not \(object.typeName)")
        }
        values = object
    }

    /// True when `key` is present with a non-null value.
    public func has(_ key: String) -> Bool { values[key].map { !$0.isNull } ?? false }

    private func wrongType(_ key: String, expected: String) -> TLModelError {
        let found = values[key]?.compactText ?? "nothing"
        return .invalidConfig("\(path): \"\(key)\" must be \(expected), but it is \(values[key]?.typeName ?? "null") \(found.prefix(60))")
    }

    /// A whole number, or nil when the key is absent or null. 4.0 is accepted; 4.5, 1e19, a string or a
    /// boolean is an error.
    public func int(_ key: String) throws -> Int? {
        guard has(key), let raw = values[key] else { return nil }
        guard let number = raw.number else { throw wrongType(key, expected: "a whole number") }
        if let exact = raw.wholeNumber { return exact }
        throw TLModelError.invalidConfig("\(path): \(key) = \(raw.compactText) is not a whole number in range (\(number))")
    }

    /// The first of `keys` that is present, as a whole number.
    public func int(_ keys: [String]) throws -> Int? {
        for key in keys { if let v = try int(key) { return v } }
        return nil
    }

    /// A finite number, or nil when absent or null.
    public func double(_ key: String) throws -> Double? {
        guard has(key), let raw = values[key] else { return nil }
        guard let number = raw.number, number.isFinite else { throw wrongType(key, expected: "a finite number") }
        return number
    }

    /// A string, or nil when absent or null.
    public func string(_ key: String) throws -> String? {
        guard has(key), let raw = values[key] else { return nil }
        guard let s = raw.string else { throw wrongType(key, expected: "a string") }
        return s
    }

    /// A boolean, or nil when absent or null.
    public func bool(_ key: String) throws -> Bool? {
        guard has(key), let raw = values[key] else { return nil }
        guard let b = raw.bool else { throw wrongType(key, expected: "true or false") }
        return b
    }

    /// A list of strings, or nil when absent or null.
    public func strings(_ key: String) throws -> [String]? {
        guard has(key), let raw = values[key] else { return nil }
        guard let list = raw.array else { throw wrongType(key, expected: "a list of strings") }
        var strings: [String] = []
        for element in list {
            guard let s = element.string else { throw wrongType(key, expected: "a list of strings") }
            strings.append(s)
        }
        return strings
    }

    /// A nested object, or nil when absent or null.
    public func object(_ key: String) throws -> ConfigJSON? {
        guard has(key), let raw = values[key] else { return nil }
        guard case .object = raw else { throw wrongType(key, expected: "an object") }
        return ConfigJSON(values: raw, path: "\(path) → \(key)")
    }

    private init(values: JSON, path: String) { self.values = values; self.path = path }
}
