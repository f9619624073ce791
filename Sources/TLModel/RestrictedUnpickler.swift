// A pickle reader for PyTorch state dicts that never runs code. Python's pickle can call any
// function it names (os.system, eval, ...), so a .bin from the internet is a program, not data.
// This reader interprets only the opcodes torch.save emits for a dict of tensors, and "calls" only
// the few globals that build tensors from storages (each interpreted here, never looked up).
// Anything else stops the read with an error naming the opcode or global that was found.
import Foundation

/// A storage a tensor points into: `archive/data/<key>` holding `count` elements of `dtype`.
struct PickledStorage: Equatable {
    let key: String
    let dtype: String
    let count: Int
}

/// One tensor record from torch._utils._rebuild_tensor_v2.
struct PickledTensor: Equatable {
    let storage: PickledStorage
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The values a state-dict pickle can hold. Dicts and lists are reference boxes, as in Python, so
/// that a memoised container filled after it was stored is the same object when fetched back.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(module: String, name: String)
    case storage(PickledStorage)
    case tensor(PickledTensor)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .global(let m, let n): return "the global \(m).\(n)"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}

final class PickleList { var items: [PickleValue] = [] }
final class PickleDict { var items: [(key: PickleValue, value: PickleValue)] = [] }

/// torch's storage classes and the safetensors dtype names tlsh uses for them.
let torchStorageDTypes: [String: String] = [
    "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16", "DoubleStorage": "F64",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL",
]

struct RestrictedUnpickler {
    /// Why a pickle was refused; the caller adds the file name.
    struct Refusal: Error { let reason: String }

    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Globals the reader interprets; everything else is refused.
    static let allowedGlobals: Set<String> = Set(
        ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
         "torch._utils._rebuild_parameter_with_state"] + torchStorageDTypes.keys.map { "torch.\($0)" })

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Interprets the whole pickle and returns the value STOP leaves on the stack.
    mutating func load() throws -> PickleValue {
        while true {
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: _ = try take(8)                                  // FRAME (length only)
            case 0x2e:                                                  // STOP
                guard let top = stack.popLast() else { throw Refusal(reason: "STOP with an empty stack") }
                return top
            case 0x28: marks.append(stack.count)                         // MARK
            case 0x30: _ = try pop()                                     // POP
            case 0x31: _ = try popMark()                                 // POP_MARK
            case 0x32: stack.append(try peek())                          // DUP
            case 0x4e: stack.append(.none)                               // NONE
            case 0x88: stack.append(.bool(true))                         // NEWTRUE
            case 0x89: stack.append(.bool(false))                        // NEWFALSE
            case 0x4a: stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4))))))  // BININT
            case 0x4b: stack.append(.int(Int(try byte())))               // BININT1
            case 0x4d: stack.append(.int(Int(try uint(2))))              // BININT2
            case 0x8a: stack.append(.int(try long(Int(try byte()))))     // LONG1
            case 0x47:                                                   // BINFLOAT (big-endian)
                let raw = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case 0x58: stack.append(.string(try text(Int(try uint(4)))))  // BINUNICODE
            case 0x8c: stack.append(.string(try text(Int(try byte()))))   // SHORT_BINUNICODE
            case 0x8d: stack.append(.string(try text(try length(8))))     // BINUNICODE8
            case 0x29: stack.append(.tuple([]))                          // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))               // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                 // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x5d: stack.append(.list(PickleList()))                 // EMPTY_LIST
            case 0x61: let v = try pop(); try list(try peek()).items.append(v)        // APPEND
            case 0x65: let vs = try popMark(); try list(try peek()).items += vs      // APPENDS
            case 0x7d: stack.append(.dict(PickleDict()))                 // EMPTY_DICT
            case 0x73:                                                   // SETITEM
                let v = try pop(), k = try pop()
                try dict(try peek()).items.append((k, v))
            case 0x75:                                                   // SETITEMS
                let vs = try popMark()
                guard vs.count % 2 == 0 else { throw Refusal(reason: "SETITEMS with an odd number of values") }
                let d = try dict(try peek())
                for i in stride(from: 0, to: vs.count, by: 2) { d.items.append((vs[i], vs[i + 1])) }
            case 0x63:                                                   // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                   // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw Refusal(reason: "STACK_GLOBAL without two strings")
                }
                stack.append(try global(module, name))
            case 0x52:                                                   // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x62:                                                   // BUILD: object state is not needed
                _ = try pop()                                            // (state dicts keep `_metadata` here)
                _ = try peek()
            case 0x51: stack.append(try persistent(try pop()))           // BINPERSID
            case 0x71: memo[Int(try byte())] = try peek()                // BINPUT
            case 0x72: memo[Int(try uint(4))] = try peek()               // LONG_BINPUT
            case 0x94: memo[memo.count] = try peek()                     // MEMOIZE
            case 0x68: stack.append(try fetch(Int(try byte())))          // BINGET
            case 0x6a: stack.append(try fetch(Int(try uint(4))))         // LONG_BINGET
            default:
                throw Refusal(reason: "opcode \(Self.describe(opcode)) at byte \(position - 1), which a state dict of tensors does not use")
            }
        }
    }

    // MARK: Interpreted calls

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        guard Self.allowedGlobals.contains("\(module).\(name)") else {
            throw Refusal(reason: "it refers to \(module).\(name), which is not part of a tensor record (a pickle can run any function it names; tlsh runs none)")
        }
        return .global(module: module, name: name)
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let module, let name) = callable, case .tuple(let a) = args else {
            throw Refusal(reason: "REDUCE applies \(callable.kind) to \(args.kind)")
        }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw Refusal(reason: "OrderedDict called with arguments") }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard a.count >= 4, case .storage(let storage) = a[0], case .int(let offset) = a[1],
                  let shape = ints(a[2]), let strides = ints(a[3]) else {
                throw Refusal(reason: "_rebuild_tensor_v2 called with \(a.map(\.kind)) instead of (storage, offset, size, stride, ...)")
            }
            return .tensor(PickledTensor(storage: storage, offset: offset, shape: shape, strides: strides))
        default:  // _rebuild_parameter(data, requires_grad, hooks[, state]): the data is the tensor
            guard let first = a.first, case .tensor = first else {
                throw Refusal(reason: "\(name) called without a tensor")
            }
            return first
        }
    }

    /// torch.save's persistent id for a storage: ('storage', StorageClass, key, location, numel).
    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0],
              case .global("torch", let cls) = t[1], let dtype = torchStorageDTypes[cls],
              case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw Refusal(reason: "a persistent id that is not a torch storage record")
        }
        return .storage(PickledStorage(key: key, dtype: dtype, count: count))
    }

    private func ints(_ v: PickleValue) -> [Int]? {
        guard case .tuple(let items) = v else { return nil }
        var out: [Int] = []
        for item in items { guard case .int(let n) = item else { return nil }; out.append(n) }
        return out
    }

    // MARK: Stack and bytes

    private mutating func pop() throws -> PickleValue {
        if let m = marks.last, stack.count <= m { throw Refusal(reason: "an opcode pops past a MARK") }
        guard let v = stack.popLast() else { throw Refusal(reason: "an opcode pops an empty stack") }
        return v
    }

    private func peek() throws -> PickleValue {
        guard let v = stack.last else { throw Refusal(reason: "an opcode reads an empty stack") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw Refusal(reason: "an opcode needs a MARK that is not there") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func fetch(_ index: Int) throws -> PickleValue {
        guard let v = memo[index] else { throw Refusal(reason: "memo entry \(index) is read before it is written") }
        return v
    }

    private func list(_ v: PickleValue) throws -> PickleList {
        guard case .list(let l) = v else { throw Refusal(reason: "APPEND to \(v.kind)") }
        return l
    }

    private func dict(_ v: PickleValue) throws -> PickleDict {
        guard case .dict(let d) = v else { throw Refusal(reason: "SETITEM on \(v.kind)") }
        return d
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Refusal(reason: "the pickle ends without STOP") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw Refusal(reason: "the pickle ends inside an opcode's argument") }
        defer { position += n }
        return bytes[position..<position + n]
    }

    /// A little-endian unsigned integer of `n` bytes.
    private mutating func uint(_ n: Int) throws -> UInt64 {
        try take(n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count) else { throw Refusal(reason: "a length of \(v) bytes past the end of the pickle") }
        return Int(v)
    }

    /// LONG1: a little-endian two's-complement integer of `n` bytes (at most 8 here).
    private mutating func long(_ n: Int) throws -> Int {
        guard n <= 8 else { throw Refusal(reason: "an integer of \(n) bytes") }
        if n == 0 { return 0 }
        let raw = try uint(n)
        let shift = UInt64(64 - 8 * n)
        return Int(Int64(bitPattern: raw << shift) >> Int64(shift))
    }

    private mutating func text(_ n: Int) throws -> String {
        let raw = try take(n)
        guard let s = String(bytes: raw, encoding: .utf8) else { throw Refusal(reason: "a string that is not UTF-8") }
        return s
    }

    /// A newline-terminated ASCII line (GLOBAL's arguments).
    private mutating func line() throws -> String {
        guard let end = bytes[position...].prefix(256).firstIndex(of: 0x0a) else {
            throw Refusal(reason: "GLOBAL without a newline-terminated name")
        }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private static let opcodeNames: [UInt8: String] = [
        0x69: "INST", 0x6f: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2",
        0x84: "EXT4", 0x49: "INT", 0x4c: "LONG", 0x8b: "LONG4", 0x53: "STRING", 0x54: "BINSTRING",
        0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8e: "BINBYTES8",
        0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x46: "FLOAT", 0x6c: "LIST", 0x64: "DICT",
        0x67: "GET", 0x70: "PUT", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
    ]

    static func describe(_ opcode: UInt8) -> String {
        let hex = "0x" + String(opcode, radix: 16)
        return opcodeNames[opcode].map { "\($0) (\(hex))" } ?? hex
    }
}
