// Fuzzes what tlsh reads from downloaded model files: the safetensors header (length prefix, JSON, dtypes,
// shapes, offsets), shard indexes and config.json, up to the shape checks of the weight loader.
import Foundation
import TLModel
import XCTest

/// Builds a safetensors file: 8-byte little-endian header length, JSON header, data.
func makeSafetensors(_ tensors: [(name: String, dtype: String, shape: [Int], data: [UInt8])],
                     metadata: [String: String]? = ["format": "pt"]) -> [UInt8] {
    var entries: [String] = []
    if let metadata {
        let body = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        entries.append("\"__metadata__\":{\(body)}")
    }
    var data: [UInt8] = []
    for t in tensors {
        entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + t.data.count)]}")
        data += t.data
    }
    let header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    return safetensorsBytes(header: header, data: data)
}

func safetensorsBytes(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let length = declaredLength ?? UInt64(header.count)
    return withUnsafeBytes(of: length.littleEndian) { Array($0) } + header + data
}

/// The header and data sections of a safetensors file (the file must be well-formed).
func splitSafetensors(_ bytes: [UInt8]) -> (header: [UInt8], data: [UInt8]) {
    let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    return (Array(bytes[8..<(8 + length)]), Array(bytes[(8 + length)...]))
}

final class SafeTensorsFuzzTests: XCTestCase {
    static let seeds: [[UInt8]] = {
        let f32 = (0..<6).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00]  // 1, -2, 65504, smallest subnormal
        let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0x40]
        var seeds = [
            makeSafetensors([("a", "F32", [2, 3], f32)]),
            makeSafetensors([("x.weight", "F16", [4], f16), ("y", "BF16", [1, 2], bf16), ("empty", "F32", [0, 3], [])]),
            makeSafetensors([("scalar", "F32", [], Array(f32[0..<4]))], metadata: nil),
            makeSafetensors([("b", "F32", [3, 2], f32), ("c", "F16", [2, 2], f16)], metadata: ["format": "pt", "k": "v"]),
        ]
        if let real = try? Data(contentsOf: FuzzPaths.fixture("golden/tiny-c/hf/model.safetensors")) { seeds.append(Array(real)) }
        return seeds
    }()

    static let dictionary = ["\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"",
                             "\"__metadata__\"", "[", "]", "{", "}", ",", ":", "null", "true", "[0,0]", "[]", "-1",
                             "\"\\u0000\"", "\"\\ud800\""]

    func testSafeTensorsFileOnMutatedFiles() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 2500, defaultSeconds: 15)
        let path = FuzzPaths.lastInput("safetensors").path
        let report = fuzz("safetensors", corpus: Self.seeds, dictionary: Self.dictionary, budget: budget) { _ in
            let file = try SafeTensorsFile(path: path)
            var total = 0
            for (key, info) in file.tensors {
                // Invariants of an accepted file: each tensor's bytes lie inside the data section and
                // convert to exactly product(shape) floats.
                let count = info.shape.reduce(1, *)
                XCTAssertLessThanOrEqual(info.begin, info.end)
                let (shape, data) = try file.tensor(key)
                XCTAssertEqual(shape, info.shape)
                XCTAssertEqual(data.count, count, "tensor \(key) of \(path)")
                total += data.count
            }
            _ = try Checkpoint(files: [file])
        }
        XCTAssertEqual(report.inputs, min(budget.iterations, report.inputs))
        XCTAssertGreaterThan(report.rejected, 0, "mutations never reached an error path; the harness is not mutating")
    }

    /// config.json + the safetensors header of tiny-c (its data section kept), through the full loader:
    /// config parsing, tensor lookup, shape checks against the config, weight processing.
    func testModelDirectoryOnMutatedConfigAndHeader() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 3000, defaultSeconds: 15)
        let fixture = FuzzPaths.fixture("golden/tiny-c/hf")
        let config = try Array(Data(contentsOf: fixture.appendingPathComponent("config.json")))
        let (header, data) = splitSafetensors(try Array(Data(contentsOf: fixture.appendingPathComponent("model.safetensors"))))
        let separator = Array("\n@@TLSH-FUZZ-FILE@@\n".utf8)
        let directory = FuzzPaths.lastInput("model")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The input is config.json, a separator, then the header JSON; the data section is tiny-c's.
        func persist(_: String, _ input: [UInt8]) throws {
            let split = input.firstRange(of: separator)
            let configBytes = split.map { Array(input[..<$0.lowerBound]) } ?? input
            let headerBytes = split.map { Array(input[$0.upperBound...]) } ?? header
            try Data(configBytes).write(to: directory.appendingPathComponent("config.json"))
            try Data(safetensorsBytes(header: headerBytes, data: data)).write(to: directory.appendingPathComponent("model.safetensors"))
        }
        let dictionary = Self.dictionary + ["\"n_embd\"", "\"n_head\"", "\"n_layer\"", "\"n_ctx\"", "\"n_positions\"",
                                            "\"vocab_size\"", "\"n_inner\"", "\"model_type\"", "\"gpt2\"", "\"llama\"",
                                            "\"transformer.\"", "\"lm_head.weight\"", "\"h.0.\"", "\"wte.weight\""]
        let report = fuzz("model", corpus: [config + separator + header], dictionary: dictionary, budget: budget,
                          persist: persist) { _ in
            let model = try HookedTransformer.load(directory: directory)
            // An accepted model must run: every weight has the shape its config implies.
            let out = try model.run(tokens: [[0, min(1, model.config.dVocab - 1)]])
            XCTAssertEqual(out.logits?.shape, [1, 2, model.config.dVocab])
        }
        XCTAssertGreaterThan(report.accepted, 0, "the unmutated seed must load")
    }

    /// model.safetensors.index.json: the weight map names shard files inside the model directory only.
    func testShardIndexOnMutatedJSON() throws {
        let budget = FuzzBudget.fromEnvironment(defaultIterations: 3000, defaultSeconds: 8)
        let directory = FuzzPaths.lastInput("shard-index")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let f32 = (0..<4).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
        try Data(makeSafetensors([("a", "F32", [4], f32)])).write(to: directory.appendingPathComponent("model-00001-of-00002.safetensors"))
        try Data(makeSafetensors([("b", "F32", [2, 2], f32)])).write(to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        let seed = Array(#"{"metadata":{"total_size":32},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#.utf8)
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        let report = fuzz("shard-index", corpus: [seed], dictionary: ["\"../\"", "\"/etc/passwd\"", "\".\"", "\"\"", "\"weight_map\""],
                          budget: budget, persist: { _, input in try Data(input).write(to: index) }) { _ in
            let checkpoint = try Checkpoint(directory: directory)
            for file in checkpoint.files {
                XCTAssertEqual(URL(fileURLWithPath: file.path).deletingLastPathComponent().standardizedFileURL.path,
                               directory.standardizedFileURL.path, "a shard outside the model directory was opened")
            }
        }
        XCTAssertGreaterThan(report.accepted, 0)
    }
}
