// The one error type of TLRender. Every message names the problem and what to do about it.

/// Errors raised when a picture or table cannot be built from the data it was given.
public enum TLRenderError: Error, CustomStringConvertible, Equatable {
    /// `values.count` does not equal `rows * cols`.
    case shapeMismatch(what: String, expected: Int, got: Int)
    /// A label list has the wrong length (it must be empty or have one label per row/column).
    case labelCount(what: String, expected: Int, got: Int)
    /// A picture with no data (zero rows, columns, panels, bars or series).
    case empty(what: String)
    /// The picture would exceed the pixel budget of the PNG encoder.
    case tooLarge(width: Int, height: Int)
    /// zlib refused to compress the image data (status code from zlib).
    case compression(status: Int32)
    /// A table row has a different number of cells than the table has columns.
    case rowWidth(row: Int, expected: Int, got: Int)
    /// The picture's data is inconsistent (`problem` says how, and what to do).
    case invalid(what: String, problem: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(what, expected, got):
            return "\(what): expected \(expected) values, got \(got)"
        case let .labelCount(what, expected, got):
            return "\(what): expected \(expected) labels (one per entry) or none, got \(got)"
        case let .empty(what):
            return "\(what) has nothing to draw; give it at least one value"
        case let .tooLarge(width, height):
            return "picture of \(width)×\(height) pixels is too large to encode; slice the data (fewer layers, positions or heads) first"
        case let .compression(status):
            return "zlib failed to compress the PNG image data (status \(status)); this is a bug, please report it"
        case let .rowWidth(row, expected, got):
            return "table row \(row) has \(got) cells but the table has \(expected) columns"
        case let .invalid(what, problem):
            return "\(what): \(problem)"
        }
    }
}
