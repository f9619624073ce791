// The history file: round-trips statements (multi-line ones too), stays bounded, and never
// touches a file it cannot read, parse or write.
import Foundation
import XCTest
@testable import TLRepl

final class HistoryFileTests: XCTestCase {
    var folder: URL!
    var path: String { folder.appendingPathComponent("history").path }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: folder) }

    func testEntriesSurviveASecondSession() throws {
        let entries = ["x = 1", "y = [1,\n    2]", "print \"a\\\\b\\n\"", "print \"héllo ✓\""]
        let first = HistoryFile(path: path)
        for e in entries { XCTAssertNil(first.append(e)) }
        XCTAssertNil(first.problem)
        let second = HistoryFile(path: path)
        XCTAssertEqual(second.entries, entries)
        XCTAssertNil(second.problem)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("# tlsh history v1\nx = 1\ny = [1,\\n    2]\n"), text)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "history can hold private paths: owner only")
    }

    func testBlankLinesAndRepeatsAreNotRecorded() {
        let h = HistoryFile(path: path)
        h.append("a"); h.append("a"); h.append("   "); h.append("b"); h.append("a")
        XCTAssertEqual(HistoryFile(path: path).entries, ["a", "b", "a"])
    }

    func testBoundedAndCompactedWhenTwiceTheLimit() throws {
        let h = HistoryFile(path: path, limit: 5)
        for i in 0..<12 { h.append("x = \(i)") }
        XCTAssertEqual(h.entries, (7..<12).map { "x = \($0)" })
        let reloaded = HistoryFile(path: path, limit: 5)  // 12 lines > 2 × 5: rewritten with 5
        XCTAssertEqual(reloaded.entries, (7..<12).map { "x = \($0)" })
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6)
    }

    func testCorruptFileIsReportedOnceAndLeftAlone() throws {
        let garbage = Data([0x23, 0xFF, 0x00, 0x0A, 0x80])
        FileManager.default.createFile(atPath: path, contents: garbage)
        let h = HistoryFile(path: path)
        XCTAssertEqual(h.entries, [])
        XCTAssertFalse(h.canSave)
        guard case .corruptHistory(_, let reason)? = h.problem else { return XCTFail("\(String(describing: h.problem))") }
        XCTAssertEqual(reason, "is not UTF-8 text")
        XCTAssertNil(h.append("x = 1"), "the problem was already reported")
        XCTAssertEqual(FileManager.default.contents(atPath: path), garbage)
    }

    func testForeignTextFileIsNotOverwritten() throws {
        try "ls -la\ncd /tmp\n".write(toFile: path, atomically: true, encoding: .utf8)
        let h = HistoryFile(path: path)
        XCTAssertTrue(h.problem?.description.contains("not a tlsh history file") ?? false, "\(String(describing: h.problem))")
        h.append("print 1")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "ls -la\ncd /tmp\n")
    }

    func testDamagedEscapeIsCorrupt() throws {
        try "# tlsh history v1\nok\nbad \\q escape\n".write(toFile: path, atomically: true, encoding: .utf8)
        let h = HistoryFile(path: path)
        XCTAssertEqual(h.problem?.description.contains("damaged line 3"), true, "\(String(describing: h.problem))")
    }

    func testUnwritablePlaceWarnsOnFirstWriteOnly() {
        let h = HistoryFile(path: folder.appendingPathComponent("missing/history").path)
        XCTAssertNil(h.problem, "a missing file is an empty history")
        let first = h.append("a")
        guard case .unwritableHistory? = first else { return XCTFail("\(String(describing: first))") }
        XCTAssertNil(h.append("b"))
        XCTAssertEqual(h.entries, ["a", "b"], "the session still remembers")
    }

    func testReadOnlyFileIsNotWritten() throws {
        guard geteuid() != 0 else { throw XCTSkip("root may write read-only files; the missing-folder test covers refusals") }
        let h0 = HistoryFile(path: path)
        h0.append("kept")
        chmod(path, 0o444)
        defer { chmod(path, 0o644) }
        let h = HistoryFile(path: path)
        XCTAssertEqual(h.entries, ["kept"])
        guard case .unwritableHistory? = h.problem else { return XCTFail("\(String(describing: h.problem))") }
        h.append("new")
        XCTAssertEqual(HistoryFile(path: path).entries, ["kept"])
    }

    func testADirectoryIsNotAHistoryFile() {
        let h = HistoryFile(path: folder.path)
        guard case .corruptHistory? = h.problem else { return XCTFail("\(String(describing: h.problem))") }
    }

    func testDefaultPath() {
        XCTAssertEqual(HistoryFile.defaultPath(environment: ["HOME": "/home/u"]), "/home/u/.tlsh_history")
        XCTAssertEqual(HistoryFile.defaultPath(environment: ["HOME": "/home/u", "TLSH_HISTORY": "/tmp/h"]), "/tmp/h")
        XCTAssertNil(HistoryFile.defaultPath(environment: ["HOME": "/home/u", "TLSH_HISTORY": ""]), "empty turns saving off")
        XCTAssertNil(HistoryFile.defaultPath(environment: [:]))
    }

    func testEncodingRoundTrip() {
        for entry in ["", "a\\nb", "a\nb", "\\", "tab\there", "x\r\ny"] {
            let line = HistoryFile.encode(entry)
            XCTAssertFalse(line.contains("\n"))
            XCTAssertEqual(HistoryFile.decode(Substring(line)), entry)
        }
        XCTAssertNil(HistoryFile.decode("trailing \\"))
    }
}
