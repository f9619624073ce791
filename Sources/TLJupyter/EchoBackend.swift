import Foundation
import Synchronization

/// A tiny language for testing the kernel without the interpreter. One statement per line (a trailing
/// `\` joins lines):
///
///     print "text"      stdout            warn "text"    stderr          error "msg"   TlshError
///     1+2*(3-1)         execute_result    x = 1+2        binding         x*2           uses bindings
///     picture           PNG + SVG display table          HTML/Markdown   clear         clear_output
///     progress          display + update_display_data    sleep 5         interruptible (10 ms steps)
///     help              pager payload
///
/// Statements with an unclosed `[` or a trailing `\` are incomplete; a stray `]` or an unterminated string
/// is invalid. Completion offers the verbs and bound names.
public final class EchoBackend: KernelBackend {
    static let verbs = ["clear", "error", "help", "picture", "print", "progress", "sleep", "table", "warn"]
    static let verbDocs: [String: String] = [
        "print": "print \"text\" — writes text to stdout",
        "warn": "warn \"text\" — writes text to stderr",
        "error": "error \"message\" — fails with TlshError",
        "picture": "picture — shows a 2x2 PNG (and SVG)",
        "table": "table — shows a small table as HTML and Markdown",
        "sleep": "sleep SECONDS — waits, checking for interrupts every 10 ms",
        "clear": "clear — clears the cell output",
        "progress": "progress — a progress bar updated in place",
        "help": "help — opens this help in the pager",
    ]

    private let interrupted = Atomic<Bool>(false)
    private let bindings = Mutex<[String: Double]>([:])
    private let displayCounter = Atomic<Int>(0)

    public init() {}

    public var languageInfo: LanguageInfo {
        LanguageInfo(name: "tlsh", version: "0.1.0", mimetype: "text/x-tlsh", fileExtension: ".tl",
                     pygmentsLexer: "text", codemirrorMode: "shell")
    }
    public var banner: String { "tlsh echo kernel (test language: print, warn, error, picture, sleep, ...)" }
    public var helpLinks: [HelpLink] { [HelpLink(text: "tlsh kernel", url: "https://github.com/tlsh/tlsh")] }

    public func interrupt() { interrupted.store(true, ordering: .sequentiallyConsistent) }
    private var isInterrupted: Bool { interrupted.load(ordering: .sequentiallyConsistent) }

    public func execute(code: String, output: KernelOutput) -> ExecutionResult {
        interrupted.store(false, ordering: .sequentiallyConsistent)
        var lastValue: MimeBundle?
        for statement in Self.statements(code) {
            lastValue = nil
            let words = statement.split(separator: " ", maxSplits: 1).map(String.init)
            let verb = words.first ?? ""
            let argument = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
            switch verb {
            case "print", "warn", "error":
                guard let text = Self.stringLiteral(argument) else {
                    return Self.failure("\(verb) expects a quoted string, e.g. \(verb) \"hello\"")
                }
                if verb == "error" { return .error(ename: "TlshError", evalue: text, traceback: ["TlshError: \(text)"]) }
                output.stream(verb == "print" ? .stdout : .stderr, text + "\n")
            case "picture":
                let png = MimeBundle.png(EmbeddedResources.picture2x2, width: 2, height: 2, altText: "<picture 2x2>")
                let svg = MimeBundle.svg(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"2\" height=\"2\"><rect width=\"1\" height=\"1\" "
                        + "fill=\"red\"/><rect x=\"1\" width=\"1\" height=\"1\" fill=\"lime\"/><rect y=\"1\" width=\"1\" "
                        + "height=\"1\" fill=\"blue\"/><rect x=\"1\" y=\"1\" width=\"1\" height=\"1\" fill=\"white\"/></svg>",
                    altText: "<picture 2x2>")
                output.display(svg.merging(png), displayID: nil)
            case "table":
                let html = MimeBundle.html("<table><tr><th>layer</th><th>score</th></tr><tr><td>0</td><td>1.5</td></tr></table>",
                                           altText: "layer  score\n0      1.5")
                output.display(html.merging(.markdown("| layer | score |\n|---|---|\n| 0 | 1.5 |", altText: "layer  score\n0      1.5")),
                               displayID: nil)
            case "clear":
                output.clearOutput(wait: false)
            case "help":
                let text = Self.verbs.compactMap { Self.verbDocs[$0] }.joined(separator: "\n")
                output.page(MimeBundle.text(text))
            case "progress":
                let id = "progress-\(displayCounter.add(1, ordering: .sequentiallyConsistent).newValue)"
                output.display(.text("progress 0%"), displayID: id)
                for percent in stride(from: 25, through: 100, by: 25) {
                    if let stop = sleep(seconds: 0.02) { return stop }
                    output.updateDisplay(.text("progress \(percent)%"), displayID: id)
                }
            case "sleep":
                guard let seconds = Double(argument), seconds >= 0 else {
                    return Self.failure("sleep expects a number of seconds, e.g. sleep 1.5")
                }
                if let stop = sleep(seconds: seconds) { return stop }
            default:
                switch evaluateStatement(statement) {
                case let .success(value): lastValue = value
                case let .failure(message): return Self.failure(message)
                }
            }
        }
        return .ok(result: lastValue)
    }

    /// Sleeps in 10 ms steps; returns the interrupt error if interrupted.
    private func sleep(seconds: Double) -> ExecutionResult? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if isInterrupted {
                return .error(ename: "Interrupted", evalue: "execution interrupted by the user",
                              traceback: ["Interrupted: execution interrupted by the user"])
            }
            Thread.sleep(forTimeInterval: min(0.01, max(0, deadline.timeIntervalSinceNow)))
        }
        return isInterrupted ? .error(ename: "Interrupted", evalue: "execution interrupted by the user",
                                      traceback: ["Interrupted: execution interrupted by the user"]) : nil
    }

    private enum Evaluation { case success(MimeBundle?), failure(String) }

    /// `name = expr` binds; a bare expression evaluates to an execute_result.
    private func evaluateStatement(_ statement: String) -> Evaluation {
        var target: String?
        var expression = statement
        if let equals = statement.firstIndex(of: "=") {
            let name = statement[..<equals].trimmingCharacters(in: .whitespaces)
            if Self.isIdentifier(name) {
                target = name
                expression = String(statement[statement.index(after: equals)...])
            }
        }
        let values = bindings.withLock { $0 }
        var parser = ArithmeticParser(text: expression, bindings: values)
        switch parser.parse() {
        case let .failure(message): return .failure(message)
        case let .success(value):
            if let target {
                bindings.withLock { $0[target] = value }
                return .success(nil)
            }
            return .success(.text(Self.format(value)))
        }
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    private static func failure(_ message: String) -> ExecutionResult {
        .error(ename: "TlshError", evalue: message, traceback: ["TlshError: \(message)"])
    }

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || CharacterSet.alphanumerics.contains($0) }
    }

    /// Lines, with `\`-continued lines joined, blank lines and `#` comments dropped.
    static func statements(_ code: String) -> [String] {
        var result: [String] = []
        var current = ""
        for line in code.split(separator: "\n", omittingEmptySubsequences: false) {
            var text = String(line)
            if text.hasSuffix("\\") {
                text.removeLast()
                current += text + " "
                continue
            }
            current += text
            let trimmed = current.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty && !trimmed.hasPrefix("#") { result.append(trimmed) }
            current = ""
        }
        let trimmed = current.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty { result.append(trimmed) }
        return result
    }

    /// The contents of `"..."` (escapes \" \\ \n), or nil if `text` is not exactly one string literal.
    static func stringLiteral(_ text: String) -> String? {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        var result = ""
        var escaping = false
        for character in text.dropFirst().dropLast() {
            if escaping {
                result.append(character == "n" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "\"" {
                return nil
            } else {
                result.append(character)
            }
        }
        return escaping ? nil : result
    }

    // MARK: Editor support

    public func isComplete(code: String) -> IsCompleteResult {
        var depth = 0
        var inString = false
        var escaping = false
        for character in code {
            if inString {
                if escaping { escaping = false } else if character == "\\" { escaping = true }
                else if character == "\"" { inString = false }
                else if character == "\n" { return .invalid }
                continue
            }
            switch character {
            case "\"": inString = true
            case "[": depth += 1
            case "]":
                depth -= 1
                if depth < 0 { return .invalid }
            default: break
            }
        }
        if inString { return .invalid }
        if depth > 0 { return .incomplete(indent: "  ") }
        if code.trimmingCharacters(in: .whitespaces).hasSuffix("\\") { return .incomplete(indent: "") }
        return .complete
    }

    public func complete(code: String, cursor: Int) -> CompletionResult {
        let scalars = Array(code.unicodeScalars)
        let end = min(max(cursor, 0), scalars.count)
        var start = end
        while start > 0, Self.isWordScalar(scalars[start - 1]) { start -= 1 }
        let prefix = String(String.UnicodeScalarView(scalars[start..<end]))
        let names = Self.verbs + bindings.withLock { Array($0.keys) }
        let matches = Set(names.filter { $0.hasPrefix(prefix) }).sorted()
        return CompletionResult(matches: matches, cursorStart: start, cursorEnd: end)
    }

    public func inspect(code: String, cursor: Int, detailLevel: Int) -> MimeBundle? {
        let scalars = Array(code.unicodeScalars)
        var start = min(max(cursor, 0), scalars.count)
        var end = start
        while start > 0, Self.isWordScalar(scalars[start - 1]) { start -= 1 }
        while end < scalars.count, Self.isWordScalar(scalars[end]) { end += 1 }
        let word = String(String.UnicodeScalarView(scalars[start..<end]))
        if let doc = Self.verbDocs[word] {
            return MimeBundle.markdown("**\(word)**: \(doc)", altText: doc)
        }
        if let value = bindings.withLock({ $0[word] }) {
            return .text("\(word) = \(Self.format(value))")
        }
        return nil
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || CharacterSet.alphanumerics.contains(scalar)
    }
}

/// `+ - * /` and parentheses over numbers and bound names, for EchoBackend.
private struct ArithmeticParser {
    enum Outcome { case success(Double), failure(String) }
    private struct Failure: Error { let message: String }

    let scalars: [Unicode.Scalar]
    let bindings: [String: Double]
    var position = 0

    init(text: String, bindings: [String: Double]) {
        scalars = Array(text.unicodeScalars); self.bindings = bindings
    }

    mutating func parse() -> Outcome {
        do {
            let value = try sum()
            skipSpaces()
            guard position == scalars.count else {
                throw Failure(message: "unexpected \"\(String(String.UnicodeScalarView(scalars[position...])))\"; "
                    + "statements are print/warn/error \"text\", picture, table, sleep N, or arithmetic like 1+2")
            }
            return .success(value)
        } catch let failure as Failure {
            return .failure(failure.message)
        } catch {
            return .failure("\(error)")
        }
    }

    private mutating func skipSpaces() { while position < scalars.count, scalars[position] == " " { position += 1 } }

    private mutating func sum() throws -> Double {
        var value = try product()
        while true {
            skipSpaces()
            guard position < scalars.count, scalars[position] == "+" || scalars[position] == "-" else { return value }
            let op = scalars[position]; position += 1
            let rhs = try product()
            value = op == "+" ? value + rhs : value - rhs
        }
    }

    private mutating func product() throws -> Double {
        var value = try factor()
        while true {
            skipSpaces()
            guard position < scalars.count, scalars[position] == "*" || scalars[position] == "/" else { return value }
            let op = scalars[position]; position += 1
            let rhs = try factor()
            if op == "/" && rhs == 0 { throw Failure(message: "division by zero") }
            value = op == "*" ? value * rhs : value / rhs
        }
    }

    private mutating func factor() throws -> Double {
        skipSpaces()
        guard position < scalars.count else { throw Failure(message: "expected a number at the end of the statement") }
        let scalar = scalars[position]
        if scalar == "-" { position += 1; return -(try factor()) }
        if scalar == "(" {
            position += 1
            let value = try sum()
            skipSpaces()
            guard position < scalars.count, scalars[position] == ")" else { throw Failure(message: "missing \")\"") }
            position += 1
            return value
        }
        let start = position
        if CharacterSet.decimalDigits.contains(scalar) || scalar == "." {
            while position < scalars.count, CharacterSet.decimalDigits.contains(scalars[position]) || scalars[position] == "." {
                position += 1
            }
            let text = String(String.UnicodeScalarView(scalars[start..<position]))
            guard let value = Double(text) else { throw Failure(message: "\"\(text)\" is not a number") }
            return value
        }
        while position < scalars.count, scalars[position] == "_" || CharacterSet.alphanumerics.contains(scalars[position]) {
            position += 1
        }
        let name = String(String.UnicodeScalarView(scalars[start..<position]))
        guard !name.isEmpty else { throw Failure(message: "unexpected \"\(scalar)\"") }
        guard let value = bindings[name] else {
            throw Failure(message: "unknown statement or name \"\(name)\"; try help")
        }
        return value
    }
}
