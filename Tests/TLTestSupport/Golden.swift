// Reads the golden fixtures written by tools/goldens/generate.py (TransformerLens 3.9).
import Foundation
import XCTest
import TLModel
import TLTensor

/// One fixture model's directory: the HF checkpoint, golden tensors and meta.json.
public struct Golden {
    public let name: String
    public let directory: URL
    public let file: SafeTensorsFile
    public let meta: [String: Any]

    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    /// Fixtures of the families beyond GPT-2 (tools/goldens/families.py).
    public static let familiesRoot = root.deletingLastPathComponent().appendingPathComponent("families")

    public init(_ name: String, file: String = "golden.safetensors", root: URL = Golden.root) throws {
        self.name = name
        directory = root.appendingPathComponent(name)
        self.file = try SafeTensorsFile(path: directory.appendingPathComponent(file).path)
        let data = try Data(contentsOf: directory.appendingPathComponent(file == "golden.safetensors" ? "meta.json" : file.replacingOccurrences(of: ".safetensors", with: ".json")))
        meta = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    public var hfDirectory: URL { directory.appendingPathComponent("hf") }

    public func tensor(_ key: String) throws -> Tensor {
        let (shape, data) = try file.tensor(key)
        return Tensor(shape: shape, data: data)
    }

    public func has(_ key: String) -> Bool { file.tensors[key] != nil }

    public var tokens: [String: Any] { meta["tokens"] as! [String: Any] }
    public var seqA: [Int] { tokens["seq_a"] as! [Int] }
    public var seqB: [Int] { tokens["seq_b"] as! [Int] }
    public func int(_ key: String) -> Int { tokens[key] as! Int }

    public func labels(_ analysis: String) -> [String] {
        ((meta["analysis"] as! [String: Any])["labels"] as! [String: Any])[analysis] as! [String]
    }

    public func cacheKeys(_ kind: String) -> [String] {
        (meta["cache_keys"] as! [String: Any])[kind] as! [String]
    }
}

/// Asserts max |a − b| ≤ tol with matching element counts (and shapes unless `ignoreShape`).
public func assertClose(_ a: Tensor, _ b: Tensor, tol: Float, _ what: String, ignoreShape: Bool = false,
                 file: StaticString = #filePath, line: UInt = #line) {
    if !ignoreShape { XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line) }
    guard a.count == b.count else { XCTFail("\(what): \(a.count) vs \(b.count) elements", file: file, line: line); return }
    let d = a.maxAbsDifference(b)
    XCTAssertTrue(d <= tol, "\(what): max |a−b| = \(d) > \(tol)", file: file, line: line)
}

public let goldenModels = ["tiny-a", "tiny-b", "tiny-c"]
