// The seven tutorials end to end on the embedded default model: their text output against reviewed
// snapshots (Tests/Fixtures/tutorials; regenerate with TLSH_UPDATE_SNAPSHOTS=1 and review the diff),
// and the phenomena each one exists to show, checked against the library directly.
import Foundation
import XCTest
@testable import TLLang
import TLInterp
import TLModel
import TLTensor

/// Collects everything a session shows, as plain text.
final class CapturingOutput: SessionOutput {
    var text = ""
    func write(_ t: String, toStandardError: Bool) { text += t }
    func display(_ d: Display) { text += d.plainText + "\n" + d.pictures.map { "[picture: \($0.title)]\n" }.joined() }
    func progress(_ label: String, done: Int, total: Int) {}
}

final class TutorialTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a script statement by statement, echoing each statement before its output.
    func transcript(of file: URL) throws -> String {
        let session = Session(environment: ProcessInfo.processInfo.environment)
        let out = CapturingOutput()
        session.output = out
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
            out.text += "tlsh> \(line)\n"
            do {
                if let d = try session.execute(String(line)) { out.display(d) }
            } catch {
                XCTFail("\(file.lastPathComponent): \(error.rendered)")
            }
        }
        return out.text
    }

    func testTutorialsMatchReviewedSnapshots() throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".tl") }.sorted()
        XCTAssertEqual(examples.count, 8, "eight tutorials")
        for name in examples {
            let text = try transcript(of: Self.root.appendingPathComponent("examples/\(name)"))
            let snapshot = Self.root.appendingPathComponent("Tests/Fixtures/tutorials/\(name).txt")
            if ProcessInfo.processInfo.environment["TLSH_UPDATE_SNAPSHOTS"] == "1" {
                try text.write(to: snapshot, atomically: true, encoding: .utf8)
                continue
            }
            let expected = try String(contentsOf: snapshot, encoding: .utf8)
            XCTAssertEqual(text, expected, "\(name) differs from its reviewed snapshot; if the change is intended, regenerate with TLSH_UPDATE_SNAPSHOTS=1 and review the diff")
        }
    }

    // MARK: The phenomena (issue: the embedded default model)

    func session(_ statements: String) throws -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = CapturingOutput()
        do { try s.execute(statements) } catch { XCTFail(error.rendered); throw error }
        return s
    }

    func cache(_ s: Session, _ name: String) throws -> CacheValue {
        guard case .cache(let c)? = s.variables[name] else { throw TLLangError.runtime("no cache \(name)") }
        return c
    }

    func lastLogits(_ c: CacheValue) throws -> Tensor {
        let l = try c.logits.select(axis: 0, index: 0)
        return try l.select(axis: 0, index: l.shape[0] - 1)
    }

    func testParisIsTheTopPrediction() throws {
        let s = try session("c = run \"The capital of France is\"")
        let top = try lastLogits(try cache(s, "c")).topK(1)[0].index
        XCTAssertEqual(s.current!.tokenizer!.tokenString(top), " Paris")
    }

    func testLandmarkLogitDifferencesHaveOppositeSigns() throws {
        let s = try session("a = run \"The Eiffel Tower is in the city of\"\nb = run \"The Colosseum is in the city of\"")
        let tok = s.current!.tokenizer!
        let paris = try tok.toSingleToken(" Paris"), rome = try tok.toSingleToken(" Rome")
        let la = try lastLogits(try cache(s, "a")), lb = try lastLogits(try cache(s, "b"))
        XCTAssertGreaterThan(la.data[paris] - la.data[rome], 0)
        XCTAssertLessThan(lb.data[paris] - lb.data[rome], 0)
    }

    func testAnInductionHeadScoresAboveThreshold() throws {
        let s = try session("")
        let m = try s.requireModel()
        let r = try HeadDetector.induction(model: m.model, length: 40, seed: 0, bos: m.bos)
        let H = m.model.config.nHeads
        let best = (H..<r.scores.count).map { r.scores.data[$0] }.max() ?? 0   // layers ≥ 1
        XCTAssertGreaterThan(best, 0.3, "best induction score in layers ≥ 1")
        // The command shows the same numbers.
        try s.execute("x = induction len=40")
        guard case .result(_, let data?)? = s.variables["x"] else { return XCTFail("induction result") }
        XCTAssertEqual(data.tensor.data, r.scores.data)
    }

    func testSteeringShiftsSentiment() throws {
        let positive = ["wonderful", "amazing", "great", "lovely", "excellent", "loved", "love", "happy", "beautiful", "best", "fantastic"]
        let negative = ["terrible", "awful", "disgusting", "hate", "hated", "horrible", "bad", "worst", "never", "sad", "boring"]
        func score(_ text: String) -> Int {
            let words = text.lowercased().split { !$0.isLetter }.map(String.init)
            return words.filter(positive.contains).count - words.filter(negative.contains).count
        }
        let s = try session("""
            pos = run "I love this! It's absolutely wonderful and"
            neg = run "I hate this! It's absolutely terrible and"
            v = mean(pos.resid_post[2], over=pos) - mean(neg.resid_post[2], over=pos)
            """)
        let m = try s.requireModel()
        guard case .tensor(let v)? = s.variables["v"] else { return XCTFail("no steering vector") }
        let prompt = try m.tokens("The movie was")
        let g = Generator(model: m.model)
        let normal = m.tokenizer!.decode(try g.generate(prompt: prompt, maxNewTokens: 20))
        let steered = m.tokenizer!.decode(try g.generate(prompt: prompt, maxNewTokens: 20,
            hooks: [steeringHook(name: "blocks.2.hook_resid_post", vector: v.tensor.data, coefficient: 2)]))
        XCTAssertGreaterThan(score(steered), score(normal), "steered: \(steered) | normal: \(normal)")
    }

    func testDLACommandEqualsLibrary() throws {
        let s = try session("c = run \"The capital of France is\"\nd = dla \" Paris\" - \" Rome\"")
        let tok = s.current!.tokenizer!
        let lib = try DirectLogitAttribution.attribute(cache: try cache(s, "c").cache, token: try tok.toSingleToken(" Paris"),
                                                       wrong: try tok.toSingleToken(" Rome"))
        guard case .result(_, let data?)? = s.variables["d"] else { return XCTFail("dla result") }
        XCTAssertEqual(data.tensor.data, lib.heads.data)
    }
}
