// File formats for `save`: pictures as PNG/SVG, tables as CSV/JSON, tensors as NumPy .npy and
// safetensors, and a whole cache as safetensors under TransformerLens hook names (plus logits),
// so results move straight to numpy and PyTorch.
import Foundation
import TLCore
import TLModel
import TLRender
import TLTensor

enum SaveFormats {
    static func encode(_ v: Value, format: String, session: Session) throws -> [UInt8] {
        switch format {
        case "png", "svg":
            let pic: AnyPicture
            switch v {
            case .result(let d, let data):
                if let p = d.pictures.first { pic = p } else if let data { pic = try session.picture(of: data, title: nil) } else {
                    throw TLLangError.runtime("this result has no picture to save as .\(format); save it as .csv or .json")
                }
            case .tensor(let t): pic = try session.picture(of: t, title: nil)
            default: throw TLLangError.runtime("a \(v.typeName) is not a picture; save tensors and results as .png")
            }
            return format == "png" ? try pic.picture.renderPNG().bytes : Array(try pic.picture.renderSVG().utf8)
        case "npy":
            guard let t = tensor(of: v) else { throw TLLangError.runtime("only tensors and results with data can be saved as .npy") }
            return npy(t.tensor)
        case "safetensors":
            if case .cache(let c) = v {
                var out: [UInt8] = []
                try writeCache(c) { out += $0 }
                return out
            }
            guard let t = tensor(of: v) else { throw TLLangError.runtime("only tensors, results and caches can be saved as .safetensors") }
            return safetensors([("value", t.tensor)], metadata: ["axes": t.axes.joined(separator: ",")])
        case "csv":
            if case .result(let d, _) = v, let table = d.records ?? d.tables.first { return Array(csv(table).utf8) }
            guard let t = tensor(of: v), t.tensor.rank <= 2 else { throw TLLangError.runtime("CSV holds tables and 1-D or 2-D tensors") }
            let cols = t.tensor.rank == 2 ? t.tensor.shape[1] : 1
            var lines: [String] = []
            for r in 0..<(t.tensor.count / max(cols, 1)) {
                lines.append((0..<cols).map { String(t.tensor.data[r * cols + $0]) }.joined(separator: ","))
            }
            return Array((lines.joined(separator: "\n") + "\n").utf8)
        case "json":
            var object: [(key: String, value: JSON)] = []
            if case .result(let d, _) = v {
                object.append(("text", .string(d.text)))
                func json(_ t: Table) -> JSON {
                    .object(["title": .string(t.title ?? ""), "columns": .strings(t.columns.map(\.name)),
                             "rows": .array(t.rows.map { .array($0.map(cellValue)) })])
                }
                object.append(("tables", .array(d.tables.map(json))))
                if let records = d.records { object.append(("records", json(records))) }
            }
            if let t = tensor(of: v) {
                guard t.tensor.data.allSatisfy(\.isFinite) else {
                    throw TLLangError.runtime("this tensor holds NaN or infinite values, which JSON cannot represent; save it as .npy or .safetensors")
                }
                object += [("axes", .strings(t.axes)), ("shape", .numbers(t.tensor.shape)), ("data", .array(t.tensor.data.map(JSON.float)))]
            }
            if case .number(let n) = v {
                guard n.isFinite else { throw TLLangError.runtime("\(n) has no JSON form; save it as .npy") }
                object.append(("value", .double(n)))
            }
            guard !object.isEmpty else { throw TLLangError.runtime("a \(v.typeName) cannot be saved as JSON") }
            do { return try JSON.object(object).bytes(.init(pretty: true, sortedKeys: true)) } catch {
                throw TLLangError.runtime("cannot save as JSON: \(error)")
            }
        default:
            throw TLLangError.runtime("unknown format '.\(format)'; use .png .svg .csv .json .npy or .safetensors")
        }
    }

    static func tensor(of v: Value) -> NamedTensor? {
        switch v {
        case .tensor(let t): return t
        case .result(_, let data): return data
        default: return nil
        }
    }

    static func cellValue(_ c: Table.Cell) -> JSON {
        switch c {
        case .text(let s), .token(let s): return .string(s)
        case .int(let i): return .integer(i)
        case .float(let f): return f.isFinite ? .double(f) : .string(String(f))
        case .empty: return .null
        }
    }

    /// A cell as CSV text: numbers as Swift prints them (shortest round trip), an empty cell empty.
    static func csvText(_ c: Table.Cell) -> String {
        switch c {
        case .text(let s), .token(let s): return s
        case .int(let i): return String(i)
        case .float(let f): return String(f)
        case .empty: return ""
        }
    }

    static func csv(_ t: Table) -> String {
        func field(_ s: String) -> String { s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var lines = [t.columns.map { field($0.name) }.joined(separator: ",")]
        for row in t.rows { lines.append(row.map { field(csvText($0)) }.joined(separator: ",")) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// NumPy .npy version 1.0, little-endian float32, C order.
    static func npy(_ t: Tensor) -> [UInt8] {
        let shape = t.shape.isEmpty ? "()" : "(" + t.shape.map(String.init).joined(separator: ", ") + (t.shape.count == 1 ? ",)" : ")")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let len = UInt16(header.utf8.count)
        out += [UInt8(len & 0xff), UInt8(len >> 8)]
        out += Array(header.utf8)
        for f in t.data { withUnsafeBytes(of: f.bitPattern.littleEndian) { out += $0 } }
        return out
    }

    /// safetensors with F32 tensors in the given order.
    static func safetensors(_ entries: [(String, Tensor)], metadata: [String: String]) -> [UInt8] {
        var out = safetensorsHeader(entries.map { ($0.0, $0.1.shape) }, metadata: metadata)
        for (_, t) in entries { t.data.withUnsafeBytes { out += $0 } }
        return out
    }

    /// The header (length and JSON) of a safetensors file of F32 tensors of these shapes, in order.
    static func safetensorsHeader(_ entries: [(String, [Int])], metadata: [String: String]) -> [UInt8] {
        var header: [(key: String, value: JSON)] = [("__metadata__", .object(metadata.map { (key: $0.key, value: .string($0.value)) }))]
        var offset = 0
        for (name, shape) in entries {
            let bytes = 4 * shape.reduce(1, *)
            header.append((name, .object(["dtype": .string("F32"), "shape": .numbers(shape),
                                          "data_offsets": .numbers([offset, offset + bytes])])))
            offset += bytes
        }
        // Strings, whole numbers and sorted keys only: nothing here can fail to encode.
        var json = (try? JSON.object(header).bytes(.init(sortedKeys: true))) ?? Array("{}".utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
        return out + json
    }

    /// A whole cache as safetensors (every activation under its hook name, then the logits), handed
    /// to `append` one entry at a time: a cache stored on disk or in 16 bits is widened entry by
    /// entry, so saving never holds more than one Float32 activation beside the cache.
    static func writeCache(_ c: CacheValue, _ append: (UnsafeRawBufferPointer) throws -> Void) throws {
        var shapes: [(String, [Int])] = []
        for key in c.cache.keys {
            guard let shape = c.cache.shape(of: key) else { continue }
            shapes.append((key, shape))
        }
        let header = safetensorsHeader(shapes + [("logits", c.logits.shape)],
                                       metadata: ["format": "pt", "producer": "tlsh", "tokens": c.tokens.map(String.init).joined(separator: ",")])
        try header.withUnsafeBytes { try append($0) }
        for (key, shape) in shapes {
            let t: Tensor?
            do { t = try c.cache.tensor(key) } catch { throw TLLangError.runtime("\(error)") }
            guard let t, t.shape == shape else { throw TLLangError.runtime("the cache's entry \(key) changed while it was being saved") }
            try t.data.withUnsafeBytes { try append($0) }
        }
        try c.logits.data.withUnsafeBytes { try append($0) }
    }
}
