// The writing half of the JSON facility: a `JSON` value to bytes. Used where tlsh writes JSON whose
// shape is dynamic (saved values, circuits, safetensors headers, the nnsight worker's requests);
// fixed, trusted shapes may use Codable. Keys keep their order unless `sortedKeys` (stable output
// for files people diff); numbers are written so the reader gives the same value back.
import Foundation

extension JSON {
    /// How `text` lays a document out.
    public struct Layout: Sendable {
        /// Newlines and two-space indentation inside objects and arrays.
        public var pretty: Bool
        /// Object keys in code-point order instead of insertion order.
        public var sortedKeys: Bool
        public init(pretty: Bool = false, sortedKeys: Bool = false) { self.pretty = pretty; self.sortedKeys = sortedKeys }
        public static let compact = Layout()
    }

    /// A value that has no JSON form (NaN or an infinity: JSON has no literal for them).
    public struct UnrepresentableValue: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let value: Double
        public var description: String { "\(path) is \(value), which JSON cannot represent" }
    }

    /// The document as UTF-8 bytes, on one line unless `layout.pretty` (a compact document never
    /// contains a newline: strings escape theirs, so it can be one line of a line protocol).
    public func bytes(_ layout: Layout = .compact) throws(UnrepresentableValue) -> [UInt8] {
        var out: [UInt8] = []
        try JSONWriter(layout: layout).write(self, path: "$", depth: 0, into: &out)
        return out
    }

    /// The document as text (see `bytes`).
    public func text(_ layout: Layout = .compact) throws(UnrepresentableValue) -> String {
        String(decoding: try bytes(layout), as: UTF8.self)
    }

    /// An object from members in this order.
    public static func object(_ members: KeyValuePairs<String, JSON>) -> JSON {
        .object(members.map { (key: $0.key, value: $0.value) })
    }

    /// Convenience forms for building documents.
    public static func numbers(_ values: [Int]) -> JSON { .array(values.map { .integer($0) }) }
    public static func numbers(_ values: [Double]) -> JSON { .array(values.map { .double($0) }) }
    public static func strings(_ values: [String]) -> JSON { .array(values.map { .string($0) }) }

    /// A Float as the shortest decimal that reads back to it (0.1, not 0.10000000149011612).
    public static func float(_ f: Float) -> JSON { .double(Double("\(f)") ?? Double(f)) }
}

struct JSONWriter {
    let layout: JSON.Layout

    func write(_ value: JSON, path: String, depth: Int, into out: inout [UInt8]) throws(JSON.UnrepresentableValue) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .integer(let i): out += Array(String(i).utf8)
        case .double(let d):
            guard d.isFinite else { throw JSON.UnrepresentableValue(path: path, value: d) }
            // Swift prints the shortest text that reads back to the same Double; whole numbers
            // keep their ".0" so a reader still sees a floating-point value.
            out += Array(d.description.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += Array("[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1, into: &out)
                try write(item, path: "\(path)[\(i)]", depth: depth + 1, into: &out)
            }
            newline(depth, into: &out)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { out += Array("{}".utf8); return }
            let ordered = layout.sortedKeys ? members.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } : members
            out.append(UInt8(ascii: "{"))
            for (i, member) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1, into: &out)
                Self.writeString(member.key, into: &out)
                out += layout.pretty ? Array(": ".utf8) : [UInt8(ascii: ":")]
                try write(member.value, path: "\(path).\(member.key)", depth: depth + 1, into: &out)
            }
            newline(depth, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func newline(_ depth: Int, into out: inout [UInt8]) {
        guard layout.pretty else { return }
        out.append(0x0A)
        out += [UInt8](repeating: 0x20, count: 2 * depth)
    }

    /// A string literal: quote, backslash and control characters escaped; everything else as UTF-8.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x00..<0x20:
                out += Array("\\u00".utf8)
                out += Array(byte.upperHex.utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
