// `model NAME weights=false` (the default under backend ndif): config.json and the tokenizer only,
// for a model whose weights a remote engine holds. Hooks, tokens and info work; a verb that would
// run the Swift engine says how to load the weights, and leaves the session as it was.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTestSupport

final class ConfigOnlyModelTests: XCTestCase {
    private let output = CapturingOutput()
    private var tiny: String { Golden.familiesRoot.appendingPathComponent("llama-a/hf").path }

    private func session(_ env: [String: String] = [:]) -> Session {
        let s = Session(environment: ["HOME": NSTemporaryDirectory()].merging(env) { $1 })
        s.output = output
        return s
    }

    private func failure(_ s: Session, _ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try s.execute(source); XCTFail("expected \(source) to fail", file: file, line: line); return "" } catch {
            return error.rendered
        }
    }

    func testAModelWithoutWeightsDescribesItselfAndRefusesLocalRuns() throws {
        let s = session()
        let loaded = try s.execute("model \"\(tiny)\" weights=false")?.plainText ?? ""
        XCTAssertTrue(loaded.contains("config and tokenizer only"), loaded)
        let m = try XCTUnwrap(s.current)
        XCTAssertFalse(m.model.hasWeights)
        let full = try HookedTransformer.load(directory: URL(fileURLWithPath: tiny), processing: .none)
        XCTAssertEqual(m.model.hookNames, full.hookNames, "the hook registry comes from the config alone")
        XCTAssertEqual(m.model.config.dVocab, full.config.dVocab)

        let info = try s.execute("info")?.plainText ?? "", hooks = try s.execute("hooks resid_post")?.plainText ?? ""
        XCTAssertTrue(info.contains("not loaded"), info)
        XCTAssertTrue(hooks.contains("blocks.0.hook_resid_post"), hooks)

        try s.execute("c = 1")
        for statement in ["c = run [1, 2, 3]", "top [1, 2, 3]", "lens [1, 2, 3]", "loss [1, 2, 3]", "generate [1, 2] n=2"] {
            let message = failure(s, statement)
            XCTAssertTrue(message.contains("without its weights") && message.contains("weights=true"), "\(statement): \(message)")
        }
        guard case .number(1)? = s.variables["c"] else { return XCTFail("a refused run changed c") }
        // The engine's own entry points refuse too, for library users.
        XCTAssertThrowsError(try m.model.run(tokens: [[1, 2, 3]])) { error in
            XCTAssertTrue("\(error)".contains("weights=true"), "\(error)")
        }

        try s.execute("model \"\(tiny)\"\nc = run [1, 2, 3]")
        XCTAssertTrue(try XCTUnwrap(s.current).model.hasWeights)
        guard case .cache? = s.variables["c"] else { return XCTFail("no cache after loading the weights") }
    }

    /// Under backend ndif, `model NAME` fetches no weights unless asked (NDIF holds them).
    func testNDIFLoadsConfigOnlyByDefault() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-fake-ndif-worker-\(getpid()).sh")
        try """
        read l; echo '{"id":1,"ok":true,"result":{"nnsight":"fake"}}'
        read l
        """.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let s = session(["NDIF_API_KEY": "k", "TLSH_NNSIGHT_PYTHON": "/bin/sh", "TLSH_NNSIGHT_WORKER": script.path])
        try s.execute("backend ndif\nmodel \"\(tiny)\"")
        XCTAssertFalse(try XCTUnwrap(s.current).model.hasWeights)
        try s.execute("model \"\(tiny)\" weights=true")
        XCTAssertTrue(try XCTUnwrap(s.current).model.hasWeights)
    }
}
