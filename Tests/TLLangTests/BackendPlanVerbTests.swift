// loss, test, lens and generate as statements on backend nnsight (plans with server-side
// reductions and generation runs) equal the same statements on backend local with process=false,
// on four families, and on a model loaded with weights=false. The fixtures have no tokenizer, so
// each gets a byte-level one (256 byte tokens and <|endoftext|>, no merges) beside its weights.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTensor
import TLTestSupport

final class BackendPlanVerbTests: XCTestCase {
    private let output = CapturingOutput()

    private func session(_ python: String) -> Session {
        backendTestSession(output: output, environment: ["TLSH_NNSIGHT_PYTHON": python])
    }

    /// A directory with the fixture's config and weights and a byte-level tokenizer.
    private func modelWithTokenizer(_ hf: URL) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-plan-verbs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(file), withDestinationURL: hf.appendingPathComponent(file))
        }
        // GPT-2's byte-to-character table: printable bytes stand for themselves, the rest from U+0100 on.
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars: [Int: Int] = [:]
        var extra = 0
        for b in 0..<256 {
            if printable.contains(b) { chars[b] = b } else { chars[b] = 256 + extra; extra += 1 }
        }
        printable.removeAll()
        var vocab = (0..<256).map { b in "\"\(String(UnicodeScalar(UInt32(chars[b]!))!).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\": \(b)" }
        vocab.append("\"<|endoftext|>\": 256")
        try ("{" + vocab.joined(separator: ", ") + "}").write(to: dir.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        try "#version: 0.2\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        // Without it a vocab.json + merges.txt tokenizer takes GPT-2's <|endoftext|> id (50256).
        try "{\"<|endoftext|>\": 256}".write(to: dir.appendingPathComponent("added_tokens.json"), atomically: true, encoding: .utf8)
        return dir.path
    }

    private func display(_ s: Session, _ name: String, file: StaticString = #filePath, line: UInt = #line) -> Display? {
        guard case .result(let d, _)? = s.variables[name] else { XCTFail("\(name) is not a result", file: file, line: line); return nil }
        return d
    }

    /// Same text and tables: tokens, ints and texts exactly, numbers within 1e-4 of their size (at least 1).
    private func assertSameDisplay(_ a: Display?, _ b: Display?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let a, let b else { return }
        // The text's words exactly, its numbers (a loss, a perplexity) within tolerance.
        let (wa, na) = split(a.text), (wb, nb) = split(b.text)
        XCTAssertEqual(wa, wb, what, file: file, line: line)
        XCTAssertEqual(na.count, nb.count, what, file: file, line: line)
        for (x, y) in zip(na, nb) { XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(y)), "\(what): \(a.text)", file: file, line: line) }
        XCTAssertEqual(a.tables.count, b.tables.count, what, file: file, line: line)
        for (ta, tb) in zip(a.tables, b.tables) {
            XCTAssertEqual(ta.title, tb.title, what, file: file, line: line)
            XCTAssertEqual(ta.rows.count, tb.rows.count, what, file: file, line: line)
            for (ra, rb) in zip(ta.rows, tb.rows) {
                XCTAssertEqual(ra.count, rb.count, what, file: file, line: line)
                for (ca, cb) in zip(ra, rb) {
                    if case .float(let x) = ca, case .float(let y) = cb {
                        XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(y)), "\(what): \(ta.title ?? "")", file: file, line: line)
                    } else {
                        XCTAssertEqual(ca, cb, "\(what): \(ta.title ?? "")", file: file, line: line)
                    }
                }
            }
        }
    }

    /// A text's words (numbers replaced by #) and its numbers.
    private func split(_ text: String) -> (String, [Double]) {
        let regex = try! NSRegularExpression(pattern: "-?[0-9]+(\\.[0-9]+)?")
        let range = NSRange(text.startIndex..., in: text)
        let numbers = regex.matches(in: text, range: range).map { Double(String(text[Range($0.range, in: text)!]))! }
        return (regex.stringByReplacingMatches(in: text, range: range, withTemplate: "#"), numbers)
    }

    private func statements(_ prefix: String, mid: Bool) -> String {
        """
        \(prefix)1 = loss "The cat sat on the mat."
        \(prefix)2 = loss "The cat sat on the mat." per_token=true
        \(prefix)3 = test "The cat sat on the" " mat" k=3
        \(prefix)4 = lens "The cat sat on the mat" k=2
        \(prefix)5 = lens "The cat sat on the mat" pos=* at=resid_pre
        \(prefix)6 = lens "The cat sat" pos=[0, -1] at=\(mid ? "resid_mid" : "resid_post") k=3
        \(prefix)7 = generate "The cat" n=6
        \(prefix)8 = generate "The cat" n=6 add=v at=resid_post layer=1
        \(prefix)9 = generate "The cat" n=6 add=v at=resid_post layer=0 prompt_only=true
        """
    }

    private func compare(_ s: Session, _ reference: Session? = nil, _ name: String) {
        for i in 1...9 {
            assertSameDisplay(display(s, "remote\(i)"), display(reference ?? s, "local\(i)"), "\(name) statement \(i)")
        }
        guard case .result(_, let a)? = s.variables["remote2"], case .result(_, let b)? = (reference ?? s).variables["local2"],
              let ta = a?.tensor, let tb = b?.tensor else { return XCTFail("\(name): no per-token losses") }
        XCTAssertLessThanOrEqual(ta.maxAbsDifference(tb), 1e-4 * max(1, tb.data.map(abs).max()!), "\(name) per-token loss")
    }

    func testLossTestLensAndGenerateThroughNnsightEqualTheSwiftEngine() throws {
        let python = try NNsightPython.require()
        let models: [(String, URL)] = [("llama-a", try Golden("llama-a", root: Golden.familiesRoot).hfDirectory),
                                       ("gemma2-a", try Golden("gemma2-a", root: Golden.familiesRoot).hfDirectory),
                                       ("pythia-a", try Golden("pythia-a", root: Golden.familiesRoot).hfDirectory),
                                       ("gpt2 tiny-a", try Golden("tiny-a").hfDirectory)]
        for (name, hf) in models {
            let dir = try modelWithTokenizer(hf)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let s = session(python)
            let mid = name != "pythia-a"  // parallel blocks have no resid_mid
            try s.execute("model \"\(dir)\" process=false\nc = run \"The dog\"\nv = mean(c.resid_post[0], over=pos) * 4\n" + statements("local", mid: mid))
            try s.execute("backend nnsight\n" + statements("remote", mid: mid))
            compare(s, nil, name)
            try s.execute("backend local")
        }
    }

    /// A model loaded without its weights runs the four verbs through nnsight: only config and
    /// tokenizer are here, every number comes from the worker.
    func testAConfigOnlyModelRunsLossTestLensAndGenerate() throws {
        let python = try NNsightPython.require()
        let dir = try modelWithTokenizer(try Golden("llama-a", root: Golden.familiesRoot).hfDirectory)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let full = session(python)
        try full.execute("model \"\(dir)\" process=false\nc = run \"The dog\"\nv = mean(c.resid_post[0], over=pos) * 4\n" + statements("local", mid: true))
        guard case .tensor(let v)? = full.variables["v"] else { return XCTFail("no v") }
        let s = session(python)
        try s.execute("backend nnsight\nmodel \"\(dir)\" weights=false")
        XCTAssertFalse(try XCTUnwrap(s.current).model.hasWeights)
        s.variables["v"] = .tensor(v)
        try s.execute(statements("remote", mid: true))
        compare(s, full, "config-only llama-a")
        // Back on the Swift engine the same verbs are refused before they start.
        try s.execute("backend local")
        do { try s.execute("lens \"The cat\""); XCTFail("lens ran without weights") } catch {
            XCTAssertTrue(error.message.contains("without its weights"), error.message)
        }
    }

    func testSAEsWithPlanVerbsAreRefusedOnNnsight() throws {
        let python = try NNsightPython.require()
        let dir = try modelWithTokenizer(try Golden("llama-a", root: Golden.familiesRoot).hfDirectory)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = session(python)
        try s.execute("model \"\(dir)\" process=false\nbackend nnsight")
        // Any SAE value: the refusal comes before the SAE is used.
        do { try s.execute("lens \"The cat\" saes=[1]"); XCTFail("saes= accepted") } catch {
            XCTAssertTrue(error.message.contains("SAEs are not spliced into nnsight plans"), error.message)
        }
        try s.execute("backend local")
    }
}
