// What a new user ran into (issue 16), tried on the built `tlsh` as a user would: continuation
// after a trailing operator, habits from other tools, completion that ends a word, and Ctrl-C
// (SIGINT) during a long script of pictures.
import Foundation
import Glibc
import XCTest

final class NewUserTerminalTests: XCTestCase {
    var home: URL!

    override func setUpWithError() throws {
        if let reason = ReplTerminalTests.unavailable { throw XCTSkip(reason) }
        home = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-newuser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let home { try? FileManager.default.removeItem(at: home) }
    }

    private var environment: [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": home.path, "TERM": "xterm", "LANG": "C.UTF-8", "NO_COLOR": "1",
         "TLSH_HISTORY": "", "HF_HOME": home.appendingPathComponent("hf").path, "HF_HUB_OFFLINE": "1"]
    }

    func testContinuationAfterATrailingOperatorEverywhere() throws {
        XCTAssertEqual(try ReplTerminalTests.runPiped(arguments: ["-c", "y = 1 +\n2\nprint y"], input: "", environment: environment).stdout, "3\n")
        XCTAssertEqual(try ReplTerminalTests.runPiped(arguments: [], input: "y = 2 *\n3\nprint y\n", environment: environment).stdout, "6\n")
        let script = home.appendingPathComponent("s.tl")
        try "v = 10 -\n  4\nprint v\n".write(to: script, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ReplTerminalTests.runPiped(arguments: [script.path], input: "", environment: environment).stdout, "6\n")
        let t = try PseudoTerminal(executable: ReplTerminalTests.binary, environment: environment)
        try t.expect("tlsh> ")
        t.type("y = 1 +\r")
        try t.expect("...> ")
        t.type("2\r")
        try t.expect("tlsh> ")
        t.type("print y\r")
        try t.expect("\n3")
        t.type(".quit\r")
        XCTAssertEqual(t.waitForExit(), 0, ".quit leaves the REPL")
    }

    func testHabitsFromOtherToolsInScriptsAndTheRepl() throws {
        for spelling in ["exit()", "\\q", "quit", ".exit", ":q"] {
            let r = try ReplTerminalTests.runPiped(arguments: ["-c", "print 1\n\(spelling)\nprint 2"], input: "", environment: environment)
            XCTAssertEqual(r.status, 0, "\(spelling): \(r.stderr)")
            XCTAssertEqual(r.stdout, "1\n", "\(spelling) stops the script there")
        }
        let help = try ReplTerminalTests.runPiped(arguments: ["-c", "help(patch)"], input: "", environment: environment)
        XCTAssertTrue(help.stdout.hasPrefix("patch — "), help.stdout + help.stderr)
        let t = try PseudoTerminal(executable: ReplTerminalTests.binary, environment: environment)
        try t.expect("tlsh> ")
        t.type("\\q\r")
        XCTAssertEqual(t.waitForExit(), 0, "\\q leaves the REPL")
    }

    func testTabAfterAUniqueVerbAddsTheSpace() throws {
        let t = try PseudoTerminal(executable: ReplTerminalTests.binary, environment: environment)
        try t.expect("tlsh> ")
        t.type("pri\t")
        try t.expect("nt ")  // libedit redraws the line: `pri`, then `nt ` after the cursor
        t.type("6 * 7\r")  // no space typed: the completion brought it
        try t.expect("\n42")
        t.type("exit\r")
        XCTAssertEqual(t.waitForExit(), 0)
    }

    /// SIGINT during a long script of `show` statements ends it within 3 s with status 130, also
    /// when a non-interactive shell started it in the background (SIGINT inherited as ignored).
    func testSIGINTEndsALongScriptOfPicturesPromptly() throws {
        let script = home.appendingPathComponent("long.tl")
        let prompt = "When John and Mary went to the store, John gave a drink to Mary. " + String(repeating: "Then they went home again. ", count: 12)
        try ("c = run \"\(prompt)\"\n" + String(repeating: "show c.pattern[0]\n", count: 3000)).write(to: script, atomically: true, encoding: .utf8)
        for background in [false, true] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            // `exec` keeps the pid; `& wait` makes the shell start tlsh with SIGINT ignored.
            process.arguments = ["-c", background ? "\"$0\" \"$1\" & echo $! > \"$2\"; wait $!" : "echo $$ > \"$2\"; exec \"$0\" \"$1\"",
                                 ReplTerminalTests.binary, script.path, home.appendingPathComponent("pid").path]
            process.environment = environment
            let devNull = FileHandle(forWritingAtPath: "/dev/null")
            process.standardOutput = devNull
            process.standardError = devNull
            try process.run()
            Thread.sleep(forTimeInterval: 2.5)  // past loading the model, well into the pictures
            let pidText = try String(contentsOf: home.appendingPathComponent("pid"), encoding: .utf8)
            let pid = try XCTUnwrap(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            XCTAssertTrue(process.isRunning, "the script should still be drawing pictures")
            let sent = Date()
            kill(pid, SIGINT)
            var status: Int32 = 0
            var waited = 0.0
            // The shell ends as soon as tlsh does (exec, or `wait`), so watching it is enough.
            while process.isRunning && waited < 10 { Thread.sleep(forTimeInterval: 0.05); waited += 0.05 }
            let took = Date().timeIntervalSince(sent)
            XCTAssertLessThan(took, 3, "background: \(background)")
            process.waitUntilExit()
            status = process.terminationStatus
            XCTAssertEqual(status, 130, "background: \(background)")
        }
    }
}
