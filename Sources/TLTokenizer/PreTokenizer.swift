/// GPT-2's pre-tokenizer, the regular expression
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// implemented by hand over UTF-8 bytes. Alternatives are tried in order at each position, as a
/// backtracking engine (tiktoken's fancy-regex, Hugging Face's Oniguruma) does. `\p{L}`/`\p{N}` are the
/// Unicode general categories L*/N*, `\s` is the Unicode White_Space property, and the contractions are
/// lowercase ASCII only, exactly like the pattern (so "'S" is not a contraction).
struct PreTokenizer {
    /// Character class of one scalar as far as the pattern cares; the four are disjoint.
    enum ScalarClass: UInt8 {
        case letter, number, whitespace, other
    }

    /// Yields the byte ranges of successive pieces of `bytes`, which must be valid UTF-8.
    struct Pieces {
        let bytes: UnsafeBufferPointer<UInt8>
        var position: Int
        let end: Int

        init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) {
            self.bytes = bytes
            self.position = start
            self.end = end
        }

        mutating func next() -> Range<Int>? {
            guard position < end else { return nil }
            let start = position
            let stop = matchLength(at: start)
            position = stop
            return start..<stop
        }

        /// End of the match at `start` (exclusive).
        @inline(__always)
        private func matchLength(at start: Int) -> Int {
            let first = bytes[start]
            if first == UInt8(ascii: "'"), start + 1 < end, let length = contractionLength(at: start) {
                return start + length
            }
            var (scalarClass, length) = PreTokenizer.classify(bytes, at: start)
            var runStart = start
            // " ?" — an optional single space before a letter, number or punctuation run.
            if first == 0x20, start + 1 < end {
                let (nextClass, nextLength) = PreTokenizer.classify(bytes, at: start + 1)
                if nextClass != .whitespace {
                    scalarClass = nextClass
                    runStart = start + 1
                    length = nextLength
                }
            }
            if scalarClass != .whitespace {
                var cursor = runStart + length
                while cursor < end {
                    let (nextClass, nextLength) = PreTokenizer.classify(bytes, at: cursor)
                    if nextClass != scalarClass { break }
                    cursor += nextLength
                }
                return cursor
            }
            // \s+(?!\S): a whitespace run that ends the text, or that stops one scalar short of the
            // following non-space so that scalar can lead the next piece (" word"); otherwise \s+.
            var cursor = start + length
            var lastScalarStart = start
            while cursor < end {
                let (nextClass, nextLength) = PreTokenizer.classify(bytes, at: cursor)
                if nextClass != .whitespace { break }
                lastScalarStart = cursor
                cursor += nextLength
            }
            if cursor == end || lastScalarStart == start { return cursor }
            return lastScalarStart
        }

        /// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `start` (which holds an apostrophe), or nil.
        @inline(__always)
        private func contractionLength(at start: Int) -> Int? {
            switch bytes[start + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                return 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                return start + 2 < end && bytes[start + 2] == UInt8(ascii: "e") ? 3 : nil
            case UInt8(ascii: "l"):
                return start + 2 < end && bytes[start + 2] == UInt8(ascii: "l") ? 3 : nil
            default:
                return nil
            }
        }
    }

    /// Class and UTF-8 length of the scalar starting at `index`.
    @inline(__always)
    static func classify(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (ScalarClass, Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (asciiClasses[Int(lead)], 1) }
        let value: UInt32
        let length: Int
        if lead < 0xE0 {
            value = UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
            length = 2
        } else if lead < 0xF0 {
            value = UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
            length = 3
        } else {
            value = UInt32(lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
            length = 4
        }
        if value < 0x10000 { return (basicPlaneClasses[Int(value)], length) }
        return (classOf(value), length)
    }

    /// Value and UTF-8 length of the scalar starting at `index` (valid UTF-8 assumed).
    @inline(__always)
    static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (UInt32(lead), 1) }
        if lead < 0xE0 { return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2) }
        if lead < 0xF0 {
            return (UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F), 3)
        }
        return (UInt32(lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F), 4)
    }

    /// Classes of U+0000...U+FFFF, computed once from the standard library's Unicode tables.
    static let basicPlaneClasses: [ScalarClass] = (0..<0x10000).map { classOf(UInt32($0)) }
    static let asciiClasses: [ScalarClass] = Array(basicPlaneClasses[0..<128])

    static func classOf(_ value: UInt32) -> ScalarClass {
        guard let scalar = Unicode.Scalar(value) else { return .other }  // surrogates cannot occur in UTF-8
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .whitespace : .other
        }
    }
}
