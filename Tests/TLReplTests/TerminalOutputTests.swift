// How results look: tables boxed on a terminal and plain in a pipe, pictures with a note on
// saving them, colour only when the mode allows it, progress bars only on a terminal.
import Foundation
import TLLang
import TLRender
import XCTest
@testable import TLRepl

final class TerminalOutputTests: XCTestCase {
    let table = Table(title: "scores", columns: ["layer", "value"], rows: [[.int(0), .float(0.5)], [.int(1), .float(-1.25)]])

    func testTablesAreBoxedOnATerminalAndPlainWhenPiped() throws {
        let (terminal, _) = capturedOutput(terminal: true)
        let (pipe, _) = capturedOutput(terminal: false)
        let display = Display(text: "two layers", tables: [table])
        XCTAssertEqual(terminal.render(display), "two layers\n" + (try table.render(style: .box)))
        XCTAssertEqual(pipe.render(display), "two layers\n" + (try table.render(style: .plain)))
        XCTAssertTrue(terminal.render(display).contains("┌"))
        XCTAssertFalse(pipe.render(display).contains("┌"))
    }

    func testTextIsWrittenAsIsWithOneNewline() {
        let (output, streams) = capturedOutput()
        output.display(Display(text: "hello"))
        output.display(Display(text: "line\n"))
        output.display(Display())
        XCTAssertEqual(streams.stdout, "hello\nline\n")
    }

    func testPicturesUseTheColourModeAndSayHowToSave() throws {
        let heatmap = Heatmap(values: [0, 0.5, 1, 0.25], rows: 2, cols: 2, rowLabels: ["a", "b"], colLabels: ["x", "y"],
                              title: "h", xLabel: "col", yLabel: "row", scale: .sequential(min: 0, max: 1))
        let display = Display(pictures: [AnyPicture(heatmap, title: "h")])
        let (plain, _) = capturedOutput(terminal: false, colors: .none, columns: 60)
        let (colour, _) = capturedOutput(terminal: true, colors: .ansi256, columns: 60)
        let plainText = plain.render(display)
        XCTAssertTrue(plainText.hasPrefix(try heatmap.renderTerminal(mode: .none, maxWidth: 60)), plainText)
        XCTAssertFalse(plainText.contains("\u{1B}["), "no escape sequences without colour")
        XCTAssertTrue(plainText.contains("save x \"picture.png\""), plainText)
        XCTAssertTrue(colour.render(display).contains("\u{1B}[48;5;"), "ansi256 colour blocks on a terminal")
    }

    func testSetColorTurnsColourOffAndOnAndAFailedStatementRestoresIt() throws {
        let heatmap = Heatmap(values: [0, 0.5, 1, 0.25], rows: 2, cols: 2, rowLabels: ["a", "b"], colLabels: ["x", "y"],
                              title: "h", xLabel: "col", yLabel: "row", scale: .sequential(min: 0, max: 1))
        let display = Display(pictures: [AnyPicture(heatmap, title: "h")])
        let (output, _) = capturedOutput(terminal: true, colors: .ansi256, columns: 60)
        let session = Session(environment: [:])
        session.output = output
        try session.execute("set color=false")
        XCTAssertFalse(output.render(display).contains("\u{1B}["), "set color=false: no escape sequences")
        XCTAssertThrowsError(try session.execute("set color=true threads=0"))  // fails: nothing changes
        XCTAssertFalse(output.render(display).contains("\u{1B}["))
        try session.execute("set color=true")
        XCTAssertTrue(output.render(display).contains("\u{1B}[48;5;"))
        // Forced on a pipe that detected no colour: the 256-colour palette.
        let (pipe, _) = capturedOutput(terminal: false, colors: .none, columns: 60)
        session.output = pipe
        try session.execute("set color=true")
        XCTAssertTrue(pipe.render(display).contains("\u{1B}[48;5;"))
    }

    func testErrorsCarryTheirLocationAndColourOnlyWhenAllowed() {
        let error: ExecutionError
        do { try Session(environment: [:]).execute("print y"); return XCTFail("print y should fail") } catch let e { error = e }
        let (plain, plainStreams) = capturedOutput()
        plain.showError(error)
        XCTAssertEqual(plainStreams.stderr, "error: line 1, column 7: unknown variable 'y'\n  1 | print y\n    |       ^\nhint: define it first, e.g. y = run \"some text\"\n")
        plain.showError(error, location: "s.tl:1:7")
        XCTAssertTrue(plainStreams.stderr.hasSuffix("s.tl:1:7: error: unknown variable 'y'\n  1 | print y\n    |       ^\nhint: define it first, e.g. y = run \"some text\"\n"))

        let (colour, colourStreams) = capturedOutput(terminal: true, stderrTerminal: true, colors: .trueColor)
        colour.showError(error)
        XCTAssertTrue(colourStreams.stderr.hasPrefix("\u{1B}[1;31merror:\u{1B}[0m line 1"), colourStreams.stderr)
    }

    func testColourFollowsTheTerminalAndNoColor() {
        // The rule TerminalOutput.Configuration.detect applies to both streams.
        XCTAssertEqual(TerminalColorMode.detect(isTTY: false, environment: ["TERM": "xterm"]), .none)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["TERM": "xterm", "NO_COLOR": "1"]), .none)
        XCTAssertEqual(TerminalColorMode.detect(isTTY: true, environment: ["TERM": "xterm"]), .ansi256)
    }

    func testNoProgressBarWhenStandardErrorIsNotATerminal() {
        let (output, streams) = capturedOutput(stderrTerminal: false)
        for i in 0...10 { output.progress("patch resid_post", done: i, total: 10) }
        XCTAssertEqual(streams.stderr, "")
    }

    func testProgressBarUpdatesOneLineAtMostTenTimesASecond() {
        let clock = ManualClock()
        let (output, streams) = capturedOutput(stderrTerminal: true, columns: 60, clock: clock)
        output.progress("sweep", done: 0, total: 4)
        output.progress("sweep", done: 1, total: 4)    // too soon: skipped
        clock.advance(0.5)
        output.progress("sweep", done: 2, total: 4)
        clock.advance(0.5)
        output.progress("sweep", done: 4, total: 4)    // the end is always drawn, then a newline
        let draws = streams.stderr.components(separatedBy: "\r\u{1B}[2K").filter { !$0.isEmpty }
        XCTAssertEqual(draws, [
            ProgressBar.line(label: "sweep", done: 0, total: 4, elapsed: 0, width: 59),
            ProgressBar.line(label: "sweep", done: 2, total: 4, elapsed: 0.5, width: 59),
            ProgressBar.line(label: "sweep", done: 4, total: 4, elapsed: 1.0, width: 59) + "\n",
        ])
    }

    func testTextClearsAHalfDrawnBarFirst() {
        let (output, streams) = capturedOutput(stderrTerminal: true)
        output.progress("gen", done: 1, total: 5)
        output.write("note\n", toStandardError: true)
        XCTAssertTrue(streams.stderr.hasSuffix("\r\u{1B}[2Knote\n"), streams.stderr.debugDescription)
        output.progress("gen", done: 2, total: 5)
        output.finishProgress()
        XCTAssertTrue(streams.stderr.hasSuffix("\r\u{1B}[2K"), "an interrupted bar is wiped")
    }

    func testProgressLineLayout() {
        func bar(_ filled: Int, _ empty: Int) -> String {
            "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: empty) + "]"
        }
        // The bar takes what the label and numbers leave of the width; filled cells = done/total.
        let running = ProgressBar.line(label: "patch z", done: 3, total: 12, elapsed: 1.5, width: 60)
        XCTAssertEqual(running, "patch z " + bar(7, 23) + " 3/12 2.0/s eta 4.5s")
        XCTAssertEqual(running.count, 60)
        XCTAssertEqual(ProgressBar.line(label: "patch z", done: 12, total: 12, elapsed: 75, width: 60),
                       "patch z " + bar(35, 0) + " 12/12 in 1m15s")
        XCTAssertEqual(ProgressBar.line(label: "generate", done: 0, total: 40, elapsed: 0, width: 30),
                       "generate " + bar(0, 14) + " 0/40")
        XCTAssertEqual(ProgressBar.line(label: "x", done: 1, total: 2, elapsed: 0, width: 500).count, 1 + 1 + 42 + 4,
                       "the bar is at most 40 cells")
        let long = ProgressBar.line(label: String(repeating: "x", count: 100), done: 1, total: 2, elapsed: 0, width: 50)
        XCTAssertLessThanOrEqual(long.count, 50, long)
        XCTAssertEqual(ProgressBar.line(label: "model.safetensors", done: 10_200_000, total: 22_600_000, elapsed: 2, width: 70, unit: .bytes),
                       "model.safetensors " + bar(8, 11) + " 10.2/22.6 MB 5.1 MB/s eta 2.4s")
        XCTAssertEqual(ProgressBar.rateText(0.25), "4.0s each")
        XCTAssertEqual(ProgressBar.duration(7322), "2h02m")
    }
}
