// Issue #23: `save` never destroys what is at its path; no option value crashes, exhausts memory or
// silently returns garbage; undefined results say so.
import Foundation
import Glibc
import XCTest
@testable import TLLang

final class SafetyTests: XCTestCase {
    private let output = CapturingOutput()  // the session holds its output weakly
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "tlsh-safety-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func makeSession() -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = output
        return s
    }

    /// The error message of a statement that must fail.
    func failure(_ s: Session, _ statement: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try s.execute(statement)
            XCTFail("expected \(statement) to fail", file: file, line: line)
            return ""
        } catch {
            return error.rendered
        }
    }

    // MARK: save

    func testSaveRefusesDirectoriesLinksAndFIFOsAndLeavesThemAsTheyWere() throws {
        let s = makeSession()
        try s.execute("c = run \"hi\"")
        let sub = dir + "/existing"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: sub + "/inside.txt"))
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }

        try s.execute("save c.resid_post[0] \"plain.npy\"")  // the everyday case: a new file in the current directory
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/plain.npy"))
        XCTAssertTrue(failure(s, "save c.resid_post[0] \".\" format=npy").contains("is a directory"))
        XCTAssertTrue(failure(s, "save c.resid_post[0] \"\(sub)\" format=npy").contains("is a directory"))
        XCTAssertEqual(try String(contentsOfFile: sub + "/inside.txt", encoding: .utf8), "keep")

        try Data("target".utf8).write(to: URL(fileURLWithPath: dir + "/target.npy"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.npy", withDestinationPath: dir + "/target.npy")
        XCTAssertTrue(failure(s, "save c.resid_post[0] \"link.npy\"").contains("symbolic link"))
        XCTAssertEqual(try String(contentsOfFile: dir + "/target.npy", encoding: .utf8), "target")

        XCTAssertEqual(mkfifo(dir + "/fifo.csv", 0o644), 0)
        XCTAssertTrue(failure(s, "save c.resid_post[0] \"fifo.csv\"").contains("FIFO"))
        XCTAssertTrue(failure(s, "save c.resid_post[0] \"/dev/null\" format=csv").contains("device"))
        var st = stat()
        XCTAssertEqual(lstat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testAFailedSaveLeavesTheExistingFileUntouched() throws {
        let s = makeSession()
        try s.execute("c = run \"hi\"")
        let path = dir + "/old.csv"
        try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))
        // A 3-D tensor cannot be written as CSV: the encoder fails, and nothing is written.
        XCTAssertTrue(failure(s, "save c.pattern[0] \"\(path)\"").contains("CSV"))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old contents")
        // A good save replaces it.
        try s.execute("save c.resid_post[0][0] \"\(path)\"")
        XCTAssertNotEqual(try String(contentsOfFile: path, encoding: .utf8), "old contents")
    }

    func testPatchAndDLAExportEveryCellNotTheSummary() throws {
        let s = makeSession()
        try s.execute("""
            clean = run "The Eiffel Tower is in the city of"
            corrupt = run "The Colosseum is in the city of"
            metric = logit_diff " Paris" " Rome"
            p = patch resid_post layer=* pos=*
            save p "\(dir)/p.csv"
            d = dla " Paris" - " Rome" cache=clean
            save d "\(dir)/d.csv"
            save p "\(dir)/p.json"
            a = attrib resid_post layer=* pos=*
            save a "\(dir)/a.csv"
            """)
        let layers = s.current!.model.config.nLayers, heads = s.current!.model.config.nHeads
        guard case .cache(let clean)? = s.variables["clean"] else { return XCTFail("no clean cache") }
        let patchLines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(patchLines.first, "layer,pos,token,metric")
        XCTAssertEqual(patchLines.count - 1, layers * clean.tokens.count, "one row per cell")
        let attribLines = try String(contentsOfFile: dir + "/a.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(attribLines.first, "layer,pos,token,attribution")
        XCTAssertEqual(attribLines.count - 1, layers * clean.tokens.count, "one row per cell")
        let dlaLines = try String(contentsOfFile: dir + "/d.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dlaLines.first, "kind,component,attribution")
        XCTAssertEqual(dlaLines.filter { $0.hasPrefix("head,") }.count, layers * heads)
        XCTAssertTrue(dlaLines.contains { $0.hasPrefix("block,\(layers - 1)_mlp_out,") })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/p.json"))) as? [String: Any]
        let records = json?["records"] as? [String: Any]
        XCTAssertEqual((records?["rows"] as? [Any])?.count, layers * clean.tokens.count)
    }

    func testAShownPictureCanBeBoundAndSaved() throws {
        let s = makeSession()
        try s.execute("c = run \"The capital of France is\"\np = show c.pattern[0]\nsave p \"\(dir)/p.png\"")
        let png = try Data(contentsOf: URL(fileURLWithPath: dir + "/p.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }

    // MARK: option values

    func testOutOfRangeCountsAreErrorsNotCrashes() throws {
        let s = makeSession()
        for statement in ["lens \"hi\" k=0", "lens \"hi\" k=-1", "dla \" Paris\" k=-1", "top \"hi\" k=0", "test \"a\" \" b\" k=-3"] {
            let message = failure(s, statement)
            XCTAssertTrue(message.contains("k=") && message.contains("out of range") && message.contains("≥ 1"), "\(statement): \(message)")
        }
    }

    func testEmptySweepsAndNewCommandsCountsAreErrors() throws {
        let s = makeSession()
        try s.execute("""
            clean = run "The Eiffel Tower is in the city of"
            corrupt = run "The Colosseum is in the city of"
            metric = logit_diff " Paris" " Rome"
            """)
        // Found by OptionFuzzTests: both trapped.
        XCTAssertTrue(failure(s, "attrib resid_post pos=* layer=5..1").contains("selects no index"))
        XCTAssertTrue(failure(s, "eap k=-1").contains("k=-1 is out of range"))
        XCTAssertTrue(failure(s, "eap steps=5000").contains("steps=5000 is out of range"))
        XCTAssertTrue(failure(s, "eap top=0").contains("top=0 is out of range"))
        XCTAssertTrue(failure(s, "patch resid_post layer=[]").contains("selects no index"))
    }

    func testAHugeKIsRefusedAtOnce() throws {
        let s = makeSession()
        let start = Date()
        let message = failure(s, "lens \"hi\" k=2147483647")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertTrue(message.contains("the vocabulary size"), message)
        let position = failure(s, "dla \" Paris\" k=1 pos=99 cache=\"hi\"")
        XCTAssertTrue(position.contains("position 99 is out of range"), position)
    }

    func testSamplingOptionsAreChecked() throws {
        let s = makeSession()
        for (statement, word) in [("generate \"a\" n=3 temperature=-1", "temperature"), ("generate \"a\" n=3 temperature=0/0", "finite"),
                                  ("generate \"a\" n=3 temperature=1 top_p=-1", "top_p"), ("generate \"a\" n=3 temperature=1 top_p=1.5", "top_p"),
                                  ("generate \"a\" n=3 temperature=1 top_k=-5", "top_k"), ("generate \"a\" n=-1", "n=-1"),
                                  ("induction len=0", "len"), ("set threads=0", "threads"), ("set precision=99", "precision")] {
            let message = failure(s, statement)
            XCTAssertTrue(message.contains(word), "\(statement): \(message)")
        }
    }

    func testATinyTemperatureIsGreedy() throws {
        let s = makeSession()
        let greedy = try s.execute("generate \"The capital of France is\" n=5")?.plainText
        let tiny = try s.execute("generate \"The capital of France is\" n=5 temperature=1e-39")?.plainText
        XCTAssertEqual(greedy, tiny)
    }

    func testANonFiniteOrMisshapenSteeringVectorIsRefused() throws {
        let s = makeSession()
        try s.execute("c = run \"good\"\nv = mean(c.resid_post[1], over=pos)")
        let nan = failure(s, "generate \"a\" n=3 add=v*0/0 layer=1")
        XCTAssertTrue(nan.contains("non-finite"), nan)
        let shape = failure(s, "generate \"a\" n=3 add=c.resid_post[1] layer=1")
        XCTAssertTrue(shape.contains("shape [") && shape.contains("d_model"), shape)
    }

    func testUndefinedResultsSaySo() throws {
        let s = makeSession()
        try s.execute("clean = run \"The Eiffel Tower is in the city of\"\nmetric = logit_diff \" Paris\" \" Rome\"")
        let patch = failure(s, "patch resid_post layer=* pos=* clean=clean corrupt=clean normalize=true")
        XCTAssertTrue(patch.contains("clean and corrupt metrics are equal"), patch)
        let loss = failure(s, "loss \"\"")
        XCTAssertTrue(loss.contains("at least two tokens"), loss)
    }

    func testHelpShowsTheValidRangeAndTheSessionSeed() {
        let help = CommandTable.standard.help(for: "generate") ?? ""
        XCTAssertTrue(help.contains("valid: > 0 and ≤ 1"), help)
        XCTAssertTrue(help.contains("session's seed"), help)
    }
}
