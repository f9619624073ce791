// Shared helpers: a TerminalOutput whose two streams are captured strings.
import Foundation
import TLLang
import TLRender
@testable import TLRepl

final class CapturedStreams: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    var stdout: String { lock.withLock { outText } }
    var stderr: String { lock.withLock { errText } }
    func appendOut(_ s: String) { lock.withLock { outText += s } }
    func appendErr(_ s: String) { lock.withLock { errText += s } }
}

/// A manual clock for progress-bar timing.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0.0
    var now: Double { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}

func capturedOutput(terminal: Bool = false, stderrTerminal: Bool = false, colors: TerminalColorMode = .none,
                    columns: Int = 80, clock: ManualClock = ManualClock()) -> (TerminalOutput, CapturedStreams) {
    let streams = CapturedStreams()
    let configuration = TerminalOutput.Configuration(stdoutIsTerminal: terminal, stderrIsTerminal: stderrTerminal,
                                                     pictureColors: colors, errorColors: colors != .none,
                                                     columns: { columns })
    let output = TerminalOutput(configuration: configuration, standardOutput: { streams.appendOut($0) },
                                standardError: { streams.appendErr($0) }, clock: { clock.now })
    return (output, streams)
}
