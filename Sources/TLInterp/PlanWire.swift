// The JSON form of plans and tensors that tlsh and the nnsight worker exchange, one object a line
// (Sources/TLInterp/Resources/tlsh_nnsight_worker.py documents the protocol). Tensors are
// {"shape": [...], "data": base64 of little-endian float32}.
import Foundation
import TLCore
import TLTensor

public enum PlanWire {
    public static func encode(_ t: Tensor) -> JSON {
        var bytes = [UInt8](repeating: 0, count: t.count * 4)
        for (i, x) in t.data.enumerated() {
            let bits = x.bitPattern.littleEndian
            bytes[4 * i] = UInt8(truncatingIfNeeded: bits)
            bytes[4 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
            bytes[4 * i + 2] = UInt8(truncatingIfNeeded: bits >> 16)
            bytes[4 * i + 3] = UInt8(truncatingIfNeeded: bits >> 24)
        }
        return .object(["shape": .numbers(t.shape), "data": .string(Data(bytes).base64EncodedString())])
    }

    public static func decodeTensor(_ json: JSON?) throws -> Tensor {
        guard let json, let dims = json["shape"]?.array, let text = json["data"]?.string else {
            throw PlanWorkerError.protocolError("a tensor must be {\"shape\": [...], \"data\": base64}")
        }
        let shape = try dims.map { d -> Int in
            guard let n = d.wholeNumber else { throw PlanWorkerError.protocolError("a tensor's shape must be whole numbers, got \(d.compactText)") }
            return n
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw PlanWorkerError.protocolError("a tensor's shape \(shape) has a negative size") }
        guard let data = Data(base64Encoded: text) else { throw PlanWorkerError.protocolError("a tensor's data is not base64") }
        let count = shape.reduce(1, *)
        guard data.count == 4 * count else {
            throw PlanWorkerError.protocolError("a tensor of shape \(shape) needs \(4 * count) bytes, got \(data.count)")
        }
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            for i in 0..<count {
                let b0 = UInt32(raw[4 * i]), b1 = UInt32(raw[4 * i + 1])
                let b2 = UInt32(raw[4 * i + 2]), b3 = UInt32(raw[4 * i + 3])
                let bits: UInt32 = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
                values[i] = Float(bitPattern: bits)
            }
        }
        return Tensor(shape: shape, data: values)
    }

    public static func encode(_ plan: InterventionPlan) -> JSON {
        .object(["runs": .array(plan.runs.map { run in
            var fields: [(key: String, value: JSON)] = [("tokens", .numbers(run.tokens)),
                     ("reads", .array(run.reads.map { r in
                         var o: [(key: String, value: JSON)] = [("hook", .string(r.hook)), ("keep", .bool(r.keep))]
                         if let p = r.positions { o.append(("positions", .numbers(p))) }
                         if let c = r.columns { o.append(("columns", .numbers(c))) }
                         if let k = r.key { o.append(("key", .string(k))) }
                         switch r.processing {
                         case .reduce(let red)?: o.append(("reduce", encode(red)))
                         case .summary(let s)?: o.append(("summary", s.json))
                         case nil: break
                         }
                         return .object(o)
                     })),
                     ("writes", .array(run.writes.map { w in
                         var o: [(key: String, value: JSON)] = [("hook", .string(w.hook)), ("op", .string(w.op.rawValue))]
                         if let p = w.positions { o.append(("positions", .numbers(p))) }
                         if let h = w.head { o.append(("head", .integer(h))) }
                         switch w.value {
                         case .tensor(let t): o.append(("value", encode(t)))
                         case .read(let run, let hook): o.append(("value", .object(["run": .integer(run), "hook": .string(hook)])))
                         }
                         if w.promptOnly { o.append(("prompt_only", .bool(true))) }
                         return .object(o)
                     }))]
            if let g = run.generate { fields.append(("generate", encode(g))) }
            return .object(fields)
        })])
    }

    /// {"decode": bool, "log_softmax": bool, "top_k": k?, "pick": {"columns": [c]} | {"argmax_of": NAME}?}
    static func encode(_ r: InterventionPlan.Reduction) -> JSON {
        var o: [(key: String, value: JSON)] = [("decode", .bool(r.decode)), ("log_softmax", .bool(r.logSoftmax))]
        if let k = r.topK { o.append(("top_k", .integer(k))) }
        switch r.pick {
        case .columns(let c)?: o.append(("pick", .object(["columns": .numbers(c)])))
        case .argmaxOf(let name)?: o.append(("pick", .object(["argmax_of": .string(name)])))
        case nil: break
        }
        return .object(o)
    }

    /// {"new_tokens": n, "eos": id?, "sampling": {"greedy": true} | {"temperature", "top_k"?, "top_p"?, "freq_penalty", "seed"}}
    static func encode(_ g: InterventionPlan.Generation) -> JSON {
        let sampling: JSON
        switch g.sampling {
        case .greedy: sampling = .object(["greedy": .bool(true)])
        case .sample(let t, let k, let p, let f, let seed):
            var o: [(key: String, value: JSON)] = [("temperature", .float(t)), ("freq_penalty", .float(f)),
                                                   ("seed", .integer(Int(truncatingIfNeeded: seed & 0x7FFF_FFFF_FFFF_FFFF)))]
            if let k { o.append(("top_k", .integer(k))) }
            if let p { o.append(("top_p", .float(p))) }
            sampling = .object(o)
        }
        var o: [(key: String, value: JSON)] = [("new_tokens", .integer(g.newTokens)), ("sampling", sampling)]
        if let e = g.eos { o.append(("eos", .integer(e))) }
        return .object(o)
    }

    /// The runs of an execute reply: [{hook: tensor}].
    public static func decodeResult(_ json: JSON?, expectedRuns: Int) throws -> PlanResult {
        guard let runs = json?["runs"]?.array else {
            throw PlanWorkerError.protocolError("an execute reply must hold {\"runs\": [...]}")
        }
        guard runs.count == expectedRuns else {
            throw PlanWorkerError.protocolError("the plan has \(expectedRuns) runs but the reply has \(runs.count)")
        }
        return PlanResult(runs: try runs.map { run in
            guard let members = run.members else { throw PlanWorkerError.protocolError("each run of a reply must be {hook: tensor}") }
            var out: [String: Tensor] = [:]
            for (hook, t) in members { out[hook] = try decodeTensor(t) }
            return out
        })
    }

    /// One line of JSON (a compact document has no newline inside: strings escape theirs).
    public static func line(_ json: JSON) throws -> Data {
        do {
            var data = Data(try json.bytes())
            data.append(0x0A)
            return data
        } catch {
            throw PlanWorkerError.protocolError("a request cannot be sent: \(error)")
        }
    }
}
