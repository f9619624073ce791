/// A position in statement source text.
///
/// Offsets and columns count Unicode scalars (code points), because that is what the Jupyter
/// protocol uses for `cursor_pos` (5.2+) and what the REPL gets from libedit after decoding.
public struct SourceLocation: Equatable, Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Unicode-scalar index from the start of the source, 0-based.
    public var offset: Int
    /// Line number, 1-based.
    public var line: Int
    /// Unicode-scalar column within the line, 1-based.
    public var column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    public static let start = SourceLocation(offset: 0, line: 1, column: 1)

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { a.offset < b.offset }

    public var description: String { "line \(line), column \(column)" }
}

/// A half-open span `[start, end)` of source text. Every token and AST node carries one.
public struct SourceRange: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(start: SourceLocation, end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// An empty range at one location (used for "expected something here" at end of input).
    public init(at location: SourceLocation) {
        self.init(start: location, end: location)
    }

    /// Number of Unicode scalars covered.
    public var length: Int { end.offset - start.offset }

    /// The smallest range covering both.
    public func union(_ other: SourceRange) -> SourceRange {
        SourceRange(start: min(start, other.start), end: max(end, other.end))
    }

    public var description: String { "\(start.line):\(start.column)-\(end.line):\(end.column)" }

    /// The text this range covers in `source` (the same source it was lexed from), e.g. to echo a
    /// statement. Out-of-bounds offsets are clamped.
    public func text(in source: String) -> String {
        let scalars = source.unicodeScalars
        let count = scalars.count
        let lower = scalars.index(scalars.startIndex, offsetBy: min(max(start.offset, 0), count))
        let upper = scalars.index(scalars.startIndex, offsetBy: min(max(end.offset, start.offset, 0), count))
        return String(scalars[lower..<upper])
    }
}
