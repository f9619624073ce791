// Interrupts (Ctrl-C, Jupyter's interrupt_request) reach every long command and the gaps between
// statements, and are never lost for the rest of a cell. Runs on the embedded default model.
import Foundation
import XCTest
@testable import TLLang
import TLInterp
import TLModel

/// An output that interrupts its session when the n-th display arrives (as a person pressing
/// Ctrl-C while pictures are being drawn).
private final class InterruptingOutput: SessionOutput {
    weak var session: Session?
    var displays = 0
    let interruptAt: Int
    init(interruptAt: Int) { self.interruptAt = interruptAt }
    func write(_ t: String, toStandardError: Bool) {}
    func display(_ d: Display) {
        displays += 1
        if displays == interruptAt { session?.interrupt() }
    }
    func progress(_ label: String, done: Int, total: Int) {}
}

final class InterruptTests: XCTestCase {
    private let quiet = CapturingOutput()  // the session holds its output weakly

    private func session(_ setup: String) throws -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = quiet
        try s.execute(setup)
        return s
    }

    private func isInterrupt(_ error: Error) -> Bool {
        switch error {
        case TLLangError.cancelled, TLModelError.cancelled, TLInterpError.cancelled: return true
        default: return false
        }
    }

    /// Runs the one statement of `source` with an interrupt already pending (it arrived while the
    /// statement was starting) and expects the command to stop instead of finishing.
    private func assertStops(_ source: String, in s: Session, file: StaticString = #filePath, line: UInt = #line) throws {
        let statement = try XCTUnwrap(try Parser.parse(source).first, file: file, line: line)
        s.interrupt()
        defer { s.cancelFlag.set(false) }
        XCTAssertThrowsError(try s.run(statement, source: source), "\(source) ran to the end", file: file, line: line) { error in
            XCTAssertTrue(isInterrupt(error), "\(source): \(error)", file: file, line: line)
        }
    }

    func testEveryLongCommandHonoursAnInterrupt() throws {
        let s = try session("c = run \"When John and Mary went to the store, John gave a drink to\"")
        try assertStops("show c.pattern[0]", in: s)
        try assertStops("top c", in: s)
        try assertStops("top \"The capital of France is\"", in: s)
        try assertStops("dla \" Mary\" cache=c", in: s)
        try assertStops("detect previous_token \"one two three one two three\"", in: s)
        try assertStops("induction len=10", in: s)
        try assertStops("norms c resid_post", in: s)
        try assertStops("lens c", in: s)
        try assertStops("d = run \"Hello there\"", in: s)
        // The flag is spent once the statement stops: the next one runs.
        try s.execute("x = 1 + 1")
        XCTAssertNotNil(s.variables["x"])
    }

    /// A cell of `k = 1`, many `show`s, `k = 2`, interrupted during the first picture: it stops
    /// there (the cell ran all 300 and ended "ok" with k = 2) and k stays 1.
    func testAnInterruptBetweenStatementsStopsTheRestOfTheCell() throws {
        let s = try session("c = run \"When John and Mary went to the store\"")
        let output = InterruptingOutput(interruptAt: 1)
        output.session = s
        s.output = output
        let cell = "k = 1\n" + String(repeating: "show c.pattern[0]\n", count: 20) + "k = 2"
        XCTAssertThrowsError(try s.execute(cell)) { error in
            XCTAssertEqual((error as? ExecutionError)?.name, "Interrupted", "\(error)")
        }
        XCTAssertEqual(output.displays, 1, "no picture is drawn after the interrupt")
        if case .number(let k)? = s.variables["k"] { XCTAssertEqual(k, 1) } else { XCTFail("k is not bound") }
    }

    /// An interrupt from another thread while a long cell of pictures runs ends it promptly.
    func testAnInterruptFromAnotherThreadEndsALongCellPromptly() throws {
        let s = try session("c = run \"When John and Mary went to the store, John gave a drink to\"")
        let slow = SlowOutput()  // each picture takes 5 ms to "draw": 2000 take 10 s
        s.output = slow
        let cell = String(repeating: "show c.pattern[0]\n", count: 2000)
        let done = expectation(description: "cell ended")
        let started = Date()
        let result = ResultBox()
        DispatchQueue.global().async {
            do { try s.execute(cell); result.name = "ok" } catch { result.name = (error as? ExecutionError)?.name ?? "\(error)" }
            done.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.2)
        s.interrupt()
        wait(for: [done], timeout: 60)
        XCTAssertEqual(result.name, "Interrupted")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the cell stopped soon after the interrupt")
        XCTAssertLessThan(slow.displays, 1000)
    }
}

private final class SlowOutput: SessionOutput, @unchecked Sendable {
    var displays = 0
    func write(_ t: String, toStandardError: Bool) {}
    func display(_ d: Display) { displays += 1; Thread.sleep(forTimeInterval: 0.005) }
    func progress(_ label: String, done: Int, total: Int) {}
}

private final class ResultBox: @unchecked Sendable { var name = "" }
