// Session output for a terminal or a pipe: text as is, tables in box style on a terminal (plain
// columns when piped), pictures as colour blocks, progress bars on standard error only when it is
// a terminal. Colour follows TerminalColorMode.detect: only on a terminal, never with NO_COLOR.
import Foundation
import Glibc
import TLLang
import TLRender

public final class TerminalOutput: SessionOutput, @unchecked Sendable {
    /// What the output knows about where it writes.
    public struct Configuration: Sendable {
        public var stdoutIsTerminal: Bool
        public var stderrIsTerminal: Bool
        /// Colours for pictures on standard output.
        public var pictureColors: TerminalColorMode
        /// Whether errors and notes on standard error may be coloured.
        public var errorColors: Bool
        /// Terminal width in columns, asked afresh for each picture and bar (the window may resize).
        public var columns: @Sendable () -> Int

        public init(stdoutIsTerminal: Bool, stderrIsTerminal: Bool, pictureColors: TerminalColorMode,
                    errorColors: Bool, columns: @escaping @Sendable () -> Int) {
            self.stdoutIsTerminal = stdoutIsTerminal
            self.stderrIsTerminal = stderrIsTerminal
            self.pictureColors = pictureColors
            self.errorColors = errorColors
            self.columns = columns
        }

        /// Decided from the process's standard output and error and the environment.
        public static func detect(environment: [String: String]) -> Configuration {
            let out = TerminalIO.isTerminal(1), err = TerminalIO.isTerminal(2)
            return Configuration(
                stdoutIsTerminal: out, stderrIsTerminal: err,
                pictureColors: TerminalColorMode.detect(isTTY: out, environment: environment),
                errorColors: TerminalColorMode.detect(isTTY: err, environment: environment) != .none,
                columns: { TerminalIO.columns(1, fallback: TerminalIO.columns(2)) })
        }
    }

    public let configuration: Configuration
    /// `set color=`: nil keeps the detected colours (guarded by `lock`).
    private var colorOverride: Bool?
    private let writeOut: @Sendable (String) -> Void
    private let writeErr: @Sendable (String) -> Void
    private let lock = NSLock()
    /// The label and start time of the bar being drawn, and when it was last drawn.
    private var bar: (label: String, started: Double, drawn: Double, visible: Bool)?
    /// The note on saving pictures is written after the first picture only (guarded by `lock`).
    private var saveNoteShown = false
    private let clock: @Sendable () -> Double

    /// Output to the process's standard output and error.
    public convenience init(environment: [String: String]) {
        self.init(configuration: .detect(environment: environment),
                  standardOutput: { TerminalIO.writeAll($0, to: 1) },
                  standardError: { TerminalIO.writeAll($0, to: 2) })
    }

    /// Output to any two sinks (tests, or a front end that captures text).
    public init(configuration: Configuration,
                standardOutput: @escaping @Sendable (String) -> Void,
                standardError: @escaping @Sendable (String) -> Void,
                clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.configuration = configuration
        self.writeOut = standardOutput
        self.writeErr = standardError
        self.clock = clock
    }

    // MARK: SessionOutput

    public func useColor(_ enabled: Bool?) { lock.withLock { colorOverride = enabled } }

    /// Picture colours after `set color=`: off, the detected mode (256 colours when none was
    /// detected but colour is forced), or as detected.
    var pictureColors: TerminalColorMode {
        switch lock.withLock({ colorOverride }) {
        case false?: return .none
        case true?: return configuration.pictureColors == .none ? .ansi256 : configuration.pictureColors
        case nil: return configuration.pictureColors
        }
    }

    var errorColors: Bool { lock.withLock { colorOverride } ?? configuration.errorColors }

    public func write(_ text: String, toStandardError: Bool) {
        lock.withLock {
            clearBarLocked()
            (toStandardError ? writeErr : writeOut)(text)
        }
    }

    public func display(_ display: Display) {
        let text = render(display)
        guard !text.isEmpty else { return }
        lock.withLock {
            clearBarLocked()
            writeOut(text)
        }
    }

    public func progress(_ label: String, done: Int, total: Int) {
        draw(label, done: done, total: total, unit: .items)
    }

    /// `clear`: home the cursor and erase the screen and its scrollback, on a terminal only (a
    /// pipe or file gets nothing: there is no screen).
    public func clearScreen() {
        guard configuration.stdoutIsTerminal else { return }
        lock.withLock {
            clearBarLocked()
            writeOut("\u{1B}[H\u{1B}[2J\u{1B}[3J")
        }
    }

    /// A download's bar (`model.safetensors [███···] 10.2/22.6 MB 3.1 MB/s eta 4s`); `total`
    /// nil or 0 when the server did not say. Wire it to the Hub's progress callback, e.g.
    /// `Session(downloadProgress: { p in output.byteProgress(p.file, bytes: p.bytes, total: p.total) })`.
    public func byteProgress(_ label: String, bytes: Int64, total: Int64?) {
        draw(label, done: Int(bytes), total: Int(total ?? 0), unit: .bytes)
    }

    private func draw(_ label: String, done: Int, total: Int, unit: ProgressBar.Unit) {
        guard configuration.stderrIsTerminal else { return }
        lock.withLock {
            let now = clock()
            if bar == nil || bar?.label != label { bar = (label, now, 0, false) }
            guard var current = bar else { return }
            let finished = total > 0 && done >= total
            // Redraw at most ten times a second; always draw the last step.
            if !finished && current.visible && now - current.drawn < 0.1 { return }
            let line = ProgressBar.line(label: label, done: done, total: total, elapsed: now - current.started,
                                        width: max(configuration.columns() - 1, 20), unit: unit)
            writeErr("\r\u{1B}[2K" + line + (finished ? "\n" : ""))
            current.drawn = now
            current.visible = !finished
            bar = finished ? nil : current
        }
    }

    // MARK: Front-end helpers

    /// Ends a bar that work left half drawn (an interrupted sweep), so the next text starts on
    /// a clean line.
    public func finishProgress() {
        lock.withLock {
            clearBarLocked()
            bar = nil
        }
    }

    /// A failed statement on standard error; `location` (`FILE:LINE:COL`) replaces the
    /// rendering's own `error: line L, column C:` heading for scripts.
    public func showError(_ error: ExecutionError, location: String? = nil) {
        var lines = error.rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let heading: String
        if let location {
            if lines.first?.hasPrefix("error:") == true { lines.removeFirst() }
            heading = "\(location): \(paint("error:", "1;31")) \(error.message)"
        } else if let first = lines.first, first.hasPrefix("error:") {
            lines.removeFirst()
            heading = paint("error:", "1;31") + first.dropFirst("error:".count)
        } else {
            heading = paint("error:", "1;31") + " " + error.message
        }
        let body = ([heading] + lines).joined(separator: "\n")
        write(body + "\n", toStandardError: true)
    }

    /// A short note on standard error (history trouble, hints), dimmed on a colour terminal.
    public func note(_ text: String) {
        write(paint(text, "2") + "\n", toStandardError: true)
    }

    /// What `display` writes: text, then each table (box style on a terminal, plain columns when
    /// piped), then each picture with a note on saving it. Ends with a newline unless empty.
    public func render(_ display: Display) -> String {
        var parts: [String] = []
        if !display.text.isEmpty { parts.append(display.text.hasSuffix("\n") ? String(display.text.dropLast()) : display.text) }
        let style: TableStyle = configuration.stdoutIsTerminal ? .box : .plain
        let colors = pictureColors
        for table in display.tables {
            do {
                // Split to the terminal's width, as pictures shrink to it (a pipe gets it whole).
                let text = try table.render(style: style, maxWidth: configuration.stdoutIsTerminal ? max(configuration.columns(), 20) : nil)
                parts.append(text.hasSuffix("\n") ? String(text.dropLast()) : text)
            } catch {
                parts.append("(cannot show table \(table.title ?? ""): \(error))")
            }
        }
        for picture in display.pictures {
            do {
                let text = try picture.picture.renderTerminal(mode: colors,
                                                             maxWidth: max(configuration.columns(), 20))
                parts.append(text.hasSuffix("\n") ? String(text.dropLast()) : text)
                // Once per session: after every picture it is noise.
                if !lock.withLock({ defer { saveNoteShown = true }; return saveNoteShown }) {
                    let saveNote = "(to save it as PNG: save the shown value, or a variable holding the result, e.g. save x \"picture.png\")"
                    parts.append(colors == .none ? saveNote : "\u{1B}[2m\(saveNote)\u{1B}[0m")
                }
            } catch {
                parts.append("(cannot draw \(picture.title.isEmpty ? "picture" : picture.title): \(error))")
            }
        }
        return parts.isEmpty ? "" : parts.joined(separator: "\n") + "\n"
    }

    // MARK: Private

    private func paint(_ text: String, _ sgr: String) -> String {
        errorColors ? "\u{1B}[\(sgr)m\(text)\u{1B}[0m" : text
    }

    private func clearBarLocked() {
        guard let current = bar, current.visible else { return }
        writeErr("\r\u{1B}[2K")
        bar?.visible = false
    }
}
