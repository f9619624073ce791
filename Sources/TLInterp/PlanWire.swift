// The JSON form of plans and tensors that tlsh and the nnsight worker exchange, one object a line
// (Sources/TLInterp/Resources/tlsh_nnsight_worker.py documents the protocol). Tensors are
// {"shape": [...], "data": base64 of little-endian float32}.
import Foundation
import TLTensor

public enum PlanWire {
    public static func encode(_ t: Tensor) -> [String: Any] {
        var bytes = [UInt8](repeating: 0, count: t.count * 4)
        for (i, x) in t.data.enumerated() {
            let bits = x.bitPattern.littleEndian
            bytes[4 * i] = UInt8(truncatingIfNeeded: bits)
            bytes[4 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
            bytes[4 * i + 2] = UInt8(truncatingIfNeeded: bits >> 16)
            bytes[4 * i + 3] = UInt8(truncatingIfNeeded: bits >> 24)
        }
        return ["shape": t.shape, "data": Data(bytes).base64EncodedString()]
    }

    public static func decodeTensor(_ any: Any?) throws -> Tensor {
        guard let obj = any as? [String: Any], let shape = obj["shape"] as? [Int], let text = obj["data"] as? String else {
            throw PlanWorkerError.protocolError("a tensor must be {\"shape\": [...], \"data\": base64}")
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

    public static func encode(_ plan: InterventionPlan) -> [String: Any] {
        ["runs": plan.runs.map { run -> [String: Any] in
            ["tokens": run.tokens,
             "reads": run.reads.map { r -> [String: Any] in
                 var o: [String: Any] = ["hook": r.hook, "keep": r.keep]
                 if let p = r.positions { o["positions"] = p }
                 if let c = r.columns { o["columns"] = c }
                 return o
             },
             "writes": run.writes.map { w -> [String: Any] in
                 var o: [String: Any] = ["hook": w.hook, "op": w.op.rawValue]
                 if let p = w.positions { o["positions"] = p }
                 if let h = w.head { o["head"] = h }
                 switch w.value {
                 case .tensor(let t): o["value"] = encode(t)
                 case .read(let run, let hook): o["value"] = ["run": run, "hook": hook]
                 }
                 return o
             }]
        }]
    }

    /// The runs of an execute reply: [{hook: tensor}].
    public static func decodeResult(_ any: Any?, expectedRuns: Int) throws -> PlanResult {
        guard let obj = any as? [String: Any], let runs = obj["runs"] as? [[String: Any]] else {
            throw PlanWorkerError.protocolError("an execute reply must hold {\"runs\": [...]}")
        }
        guard runs.count == expectedRuns else {
            throw PlanWorkerError.protocolError("the plan has \(expectedRuns) runs but the reply has \(runs.count)")
        }
        return PlanResult(runs: try runs.map { run in try run.mapValues { try decodeTensor($0) } })
    }

    /// One line of JSON (no newline inside: JSONSerialization escapes them).
    public static func line(_ obj: [String: Any]) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        data.append(0x0A)
        return data
    }
}
