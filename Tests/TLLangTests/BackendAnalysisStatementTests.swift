// dla, induction and detect as statements under backend nnsight (plans reduced on the worker)
// against the same statements under backend local with process=false, and on a model loaded
// without its weights. Needs a Python with nnsight (NNsightPython); skipped otherwise.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTensor
import TLTestSupport

final class BackendAnalysisStatementTests: XCTestCase {
    private let output = CapturingOutput()

    private func session(_ env: [String: String] = [:]) -> Session {
        backendTestSession(output: output, environment: env)
    }

    private func result(_ s: Session, _ name: String) -> (text: String, tensor: Tensor?)? {
        guard case .result(let d, let data)? = s.variables[name] else { return nil }
        return (d.plainText, data?.tensor)
    }

    /// The two displays say the same (numbers within `tolerance` of each other, as printed) and
    /// their data tensors agree within 1e-4 of their scale.
    private func assertSame(_ remote: Session, _ local: Session, _ name: String, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        guard let a = result(remote, name), let b = result(local, name) else { return XCTFail("\(what): no result \(name)", file: file, line: line) }
        let number = try! NSRegularExpression(pattern: "-?[0-9]+(\\.[0-9]+)?(e-?[0-9]+)?")
        func split(_ s: String) -> (String, [Double]) {
            let ns = s as NSString
            let matches = number.matches(in: s, range: NSRange(location: 0, length: ns.length))
            return (number.stringByReplacingMatches(in: s, range: NSRange(location: 0, length: ns.length), withTemplate: "#"),
                    matches.map { Double(ns.substring(with: $0.range))! })
        }
        let (ta, na) = split(a.text), (tb, nb) = split(b.text)
        XCTAssertEqual(ta, tb, "\(what): the displays differ in words", file: file, line: line)
        XCTAssertEqual(na.count, nb.count, what, file: file, line: line)
        for (x, y) in zip(na, nb) where abs(x - y) > 2e-3 * max(1, abs(y)) {
            XCTFail("\(what): printed \(x) via nnsight, \(y) locally\n\(a.text)\n---\n\(b.text)", file: file, line: line)
            break
        }
        if let x = a.tensor, let y = b.tensor {
            XCTAssertEqual(x.shape, y.shape, what, file: file, line: line)
            XCTAssertLessThanOrEqual(x.maxAbsDifference(y), 1e-4 * max(1, y.data.map(abs).max() ?? 0), what, file: file, line: line)
        } else { XCTFail("\(what): no data", file: file, line: line) }
    }

    /// GPT-2's tiny-a has no tokenizer files: a directory of links to its weights and GPT-2's tokenizer.
    static func withGPT2Tokenizer(_ hf: URL) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-backend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tokenizer = repositoryRoot.appendingPathComponent("Sources/TLHub/Resources/DefaultModel")
        for (file, from) in [("config.json", hf), ("model.safetensors", hf), ("vocab.json", tokenizer), ("merges.txt", tokenizer)] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(file), withDestinationURL: from.appendingPathComponent(file))
        }
        return dir.path
    }

    /// The statements compared; `induction: false` for tiny-a, whose GPT-2 tokenizer's BOS (50256)
    /// is outside its 1,000-token vocabulary (NNsightAnalysisParityTests runs its induction plan).
    static func statements(_ g: Golden, induction: Bool = true) -> String {
        let info = g.meta["interp"] as? [String: Any]
        let clean = (info?["clean"] as? [Int] ?? Array(g.seqA.prefix(12)))
        let t1 = info?["t1"] as? Int ?? 1, t2 = info?["t2"] as? Int ?? 2
        let ids = clean.map(String.init).joined(separator: ", ")
        let rep = (Array(clean.prefix(5)) + Array(clean.prefix(5))).map(String.init).joined(separator: ", ")
        return """
        clean = run [\(ids)]
        d1 = dla \(t1) - \(t2) neurons=1 k=8
        d2 = dla \(t1) pos=2
        \(induction ? "i1 = induction len=6 seed=3" : "")
        e1 = detect duplicate_token [\(rep)] exclude_bos=true
        e2 = detect previous_token [\(rep)] measure=abs
        """
    }

    func testDLAAndHeadScoresThroughNnsightEqualTheSwiftEngine() throws {
        let python = try NNsightPython.require()
        for name in ["llama-a", "gemma2-a", "qwen3-a", "pythia-a", "tiny-a"] {
            let g = name.hasPrefix("tiny") ? try Golden(name) : try Golden(name, root: Golden.familiesRoot)
            let dir = name.hasPrefix("tiny") ? try Self.withGPT2Tokenizer(g.hfDirectory) : g.hfDirectory.path
            let local = session(), remote = session(["TLSH_NNSIGHT_PYTHON": python])
            let tiny = name.hasPrefix("tiny")
            try local.execute("model \"\(dir)\" process=false\n" + Self.statements(g, induction: !tiny))
            try remote.execute("backend nnsight\nmodel \"\(dir)\" process=false\n" + Self.statements(g, induction: !tiny))
            for v in ["d1", "d2", "e1", "e2"] + (tiny ? [] : ["i1"]) { assertSame(remote, local, v, "\(name) \(v)") }
            try remote.execute("backend local")
        }
    }

    /// weights=false: dla, induction and detect run through nnsight with only config and tokenizer
    /// here, and are refused under backend local.
    func testAConfigOnlyModelRunsDLAAndHeadScoresThroughNnsight() throws {
        let python = try NNsightPython.require()
        let g = try Golden("llama-a", root: Golden.familiesRoot)
        let full = session(), s = session(["TLSH_NNSIGHT_PYTHON": python])
        try full.execute("model \"\(g.hfDirectory.path)\" process=false\n" + Self.statements(g))
        try s.execute("backend nnsight\nmodel \"\(g.hfDirectory.path)\" weights=false\n" + Self.statements(g))
        XCTAssertFalse(try XCTUnwrap(s.current).model.hasWeights)
        for v in ["d1", "d2", "i1", "e1", "e2"] { assertSame(s, full, v, "config-only \(v)") }
        try s.execute("backend local")
        do { try s.execute("x = dla 1 - 2"); XCTFail("dla ran the Swift engine without weights") } catch {
            XCTAssertTrue(error.message.contains("without its weights"), error.message)
        }
    }
}
