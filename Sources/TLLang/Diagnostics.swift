/// A user-facing language error: where it happened, what went wrong, what was expected there,
/// and how to fix it. The lexer, parser, completeness check and (later) the interpreter all
/// report problems with this one type, and `render(source:)` is the one formatter for them.
public struct Diagnostic: Error, Equatable, Sendable, CustomStringConvertible {
    public var range: SourceRange
    /// What went wrong, lower case, no trailing period: "unknown verb 'pach'".
    public var message: String
    /// What the language accepts at this point: "a value such as 6, 0..5, [0, 3] or *".
    public var expected: String?
    /// A concrete fix: "did you mean 'patch'?".
    public var suggestion: String?
    /// True when the problem is that the input stopped too early (used by `completeness(of:)`).
    public var atEndOfInput: Bool

    public init(range: SourceRange, message: String, expected: String? = nil,
                suggestion: String? = nil, atEndOfInput: Bool = false) {
        self.range = range
        self.message = message
        self.expected = expected
        self.suggestion = suggestion
        self.atEndOfInput = atEndOfInput
    }

    /// One-line form without the source excerpt: `line 2, column 7: unknown verb 'pach'`.
    public var description: String {
        var text = "\(range.start): \(message)"
        if let expected { text += " (expected \(expected))" }
        if let suggestion { text += "; \(suggestion)" }
        return text
    }

    /// The full form shown in the REPL and notebooks:
    ///
    ///     error: line 2, column 1: unknown verb 'pach'
    ///       2 | pach resid_post layer=*
    ///         | ^^^^
    ///     hint: did you mean 'patch'?
    ///
    /// `source` is the text the range refers to (the whole cell or script, not just one line).
    public func render(source: String) -> String {
        var out = ["error: \(range.start): \(message)"]
        let lines = source.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        let lineIndex = range.start.line - 1
        if lineIndex >= 0, lineIndex < lines.count {
            var lineText = String(String.UnicodeScalarView(lines[lineIndex]))
            if lineText.hasSuffix("\r") { lineText.removeLast() }
            let gutter = String(range.start.line)
            let pad = String(repeating: " ", count: gutter.count)
            out.append("  \(gutter) | \(lineText)")
            out.append("  \(pad) | \(caretLine(for: lineText))")
        }
        if let expected { out.append("expected: \(expected)") }
        if let suggestion { out.append("hint: \(suggestion)") }
        return out.joined(separator: "\n")
    }

    /// Spaces up to the start column, then `^` under the range (at least one, clipped to the line).
    /// Tabs are copied so the carets line up however the terminal expands them; widths count
    /// characters (grapheme clusters), which is what a terminal advances by for most text.
    private func caretLine(for lineText: String) -> String {
        let scalars = Array(lineText.unicodeScalars)
        let startColumn = min(max(range.start.column - 1, 0), scalars.count)
        // One space per character (not per scalar) so combining marks don't push the carets right.
        let visiblePrefix = String(String(String.UnicodeScalarView(scalars[0..<startColumn])).map { $0 == "\t" ? "\t" : " " })
        let endColumn: Int
        if range.end.line == range.start.line {
            endColumn = min(max(range.end.column - 1, startColumn + 1), max(scalars.count, startColumn + 1))
        } else {
            endColumn = max(scalars.count, startColumn + 1)
        }
        let underlined = startColumn < scalars.count
            ? String(String.UnicodeScalarView(scalars[startColumn..<min(endColumn, scalars.count)])).count
            : 0
        return visiblePrefix + String(repeating: "^", count: max(underlined, 1))
    }
}

/// Suggestions by edit distance, shared by unknown verbs, options, enum values and (later) variables.
public enum Suggest {
    /// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so that
    /// `pacth` is one edit from `patch`.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous2 = [Int](repeating: 0, count: y.count + 1)
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[y.count]
    }

    /// The closest candidate, or nil when nothing is close enough to be a plausible typo.
    /// A unique candidate that starts with `word` (an abbreviation) wins; otherwise the
    /// nearest by edit distance, allowing 1 edit up to 3 letters, 2 up to 6, then 3.
    public static func nearest(to word: String, in candidates: [String]) -> String? {
        guard !word.isEmpty else { return nil }
        let prefixed = candidates.filter { $0.lowercased().hasPrefix(word.lowercased()) && $0 != word }
        if prefixed.count == 1 { return prefixed[0] }
        // Never replace every letter: `p` is no typo of `c`.
        let allowed = min(word.count <= 3 ? 1 : word.count <= 6 ? 2 : 3, word.count - 1)
        var best: (name: String, distance: Int)?
        for candidate in candidates.sorted() {
            let d = editDistance(word, candidate)
            guard d <= allowed else { continue }
            if let current = best, d >= current.distance { continue }
            best = (candidate, d)
        }
        return best?.name
    }
}
