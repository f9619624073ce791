// Reads the golden fixtures written by tools/goldens/generate.py (TransformerLens 3.9).
import Foundation
import XCTest
@testable import TLModel
import TLTensor

/// One fixture model's directory: the HF checkpoint, golden tensors and meta.json.
struct Golden {
    let name: String
    let directory: URL
    let file: SafeTensorsFile
    let meta: [String: Any]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    init(_ name: String, file: String = "golden.safetensors") throws {
        self.name = name
        directory = Golden.root.appendingPathComponent(name)
        self.file = try SafeTensorsFile(path: directory.appendingPathComponent(file).path)
        let data = try Data(contentsOf: directory.appendingPathComponent(file == "golden.safetensors" ? "meta.json" : "interp.json"))
        meta = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    var hfDirectory: URL { directory.appendingPathComponent("hf") }

    func tensor(_ key: String) throws -> Tensor {
        let (shape, data) = try file.tensor(key)
        return Tensor(shape: shape, data: data)
    }

    func has(_ key: String) -> Bool { file.tensors[key] != nil }

    var tokens: [String: Any] { meta["tokens"] as! [String: Any] }
    var seqA: [Int] { tokens["seq_a"] as! [Int] }
    var seqB: [Int] { tokens["seq_b"] as! [Int] }
    func int(_ key: String) -> Int { tokens[key] as! Int }

    func labels(_ analysis: String) -> [String] {
        ((meta["analysis"] as! [String: Any])["labels"] as! [String: Any])[analysis] as! [String]
    }

    func cacheKeys(_ kind: String) -> [String] {
        (meta["cache_keys"] as! [String: Any])[kind] as! [String]
    }
}

/// Asserts max |a − b| ≤ tol with matching element counts (and shapes unless `ignoreShape`).
func assertClose(_ a: Tensor, _ b: Tensor, tol: Float, _ what: String, ignoreShape: Bool = false,
                 file: StaticString = #filePath, line: UInt = #line) {
    if !ignoreShape { XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line) }
    guard a.count == b.count else { XCTFail("\(what): \(a.count) vs \(b.count) elements", file: file, line: line); return }
    let d = a.maxAbsDifference(b)
    XCTAssertTrue(d <= tol, "\(what): max |a−b| = \(d) > \(tol)", file: file, line: line)
}

let goldenModels = ["tiny-a", "tiny-b", "tiny-c"]
