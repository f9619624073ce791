/// Llama-3's pre-tokenizer regex (and Qwen2's, which differs only in taking one digit at a time),
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// implemented by hand over UTF-8, trying the alternatives in order at each position as Oniguruma does.
/// Every position matches some alternative, so the matches tile the text.
struct Llama3Pieces {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int
    let maxDigits: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, maxDigits: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
        self.maxDigits = maxDigits
    }

    mutating func next() -> Range<Int>? {
        guard position < end else { return nil }
        let start = position
        position = matchEnd(at: start)
        return start..<position
    }

    @inline(__always)
    private func isLineBreak(_ index: Int) -> Bool { bytes[index] == 0x0A || bytes[index] == 0x0D }

    @inline(__always)
    private func classify(_ index: Int) -> (PreTokenizer.ScalarClass, Int) { PreTokenizer.classify(bytes, at: index) }

    /// End of the run of scalars of `scalarClass` starting at `index`.
    @inline(__always)
    private func runEnd(of scalarClass: PreTokenizer.ScalarClass, from index: Int) -> Int {
        var cursor = index
        while cursor < end {
            let (nextClass, length) = classify(cursor)
            if nextClass != scalarClass { break }
            cursor += length
        }
        return cursor
    }

    private func matchEnd(at start: Int) -> Int {
        if bytes[start] == UInt8(ascii: "'"), let length = contractionLength(at: start) { return start + length }
        let (firstClass, firstLength) = classify(start)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if firstClass == .letter { return runEnd(of: .letter, from: start + firstLength) }
        if firstClass != .number && !isLineBreak(start), start + firstLength < end,
           classify(start + firstLength).0 == .letter {
            return runEnd(of: .letter, from: start + firstLength)
        }
        // \p{N}{1,maxDigits}
        if firstClass == .number {
            var cursor = start + firstLength
            var count = 1
            while count < maxDigits, cursor < end {
                let (nextClass, length) = classify(cursor)
                if nextClass != .number { break }
                cursor += length
                count += 1
            }
            return cursor
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var otherStart = -1
        if firstClass == .other {
            otherStart = start
        } else if bytes[start] == 0x20, start + 1 < end, classify(start + 1).0 == .other {
            otherStart = start + 1
        }
        if otherStart >= 0 {
            var cursor = runEnd(of: .other, from: otherStart)
            while cursor < end && isLineBreak(cursor) { cursor += 1 }
            return cursor
        }
        // Whitespace from here on. `\s*[\r\n]+`: up to and including the last line break of the run.
        var cursor = start
        var lastBreakEnd = -1
        var lastScalarStart = start
        while cursor < end {
            let (nextClass, length) = classify(cursor)
            if nextClass != .whitespace { break }
            if isLineBreak(cursor) { lastBreakEnd = cursor + 1 }
            lastScalarStart = cursor
            cursor += length
        }
        if lastBreakEnd > 0 { return lastBreakEnd }
        // `\s+(?!\S)` leaves the last space to the next word; `\s+` otherwise.
        if cursor == end || lastScalarStart == start { return cursor }
        return lastScalarStart
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at an apostrophe: length or nil.
    private func contractionLength(at start: Int) -> Int? {
        guard start + 1 < end else { return nil }
        @inline(__always) func lower(_ index: Int) -> UInt8 { bytes[index] | 0x20 }
        switch lower(start + 1) {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return bytes[start + 1] < 0x80 ? 2 : nil
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            return start + 2 < end && lower(start + 2) == UInt8(ascii: "e") ? 3 : nil
        case UInt8(ascii: "l"):
            return start + 2 < end && lower(start + 2) == UInt8(ascii: "l") ? 3 : nil
        default:
            return nil
        }
    }
}
