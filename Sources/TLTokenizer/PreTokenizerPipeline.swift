/// The pre-tokenizer stage compiled from its declared steps: an optional rewrite of each segment
/// (ByteLevel's prefix space, Metaspace's "▁") followed by splits that only cut, never change, the bytes.
/// ByteLevel's mapping of bytes to characters is not done here: the byte-level model reads raw bytes.
struct PreTokenizerPipeline: Sendable {
    struct SplitStep: Sendable {
        let pattern: SplitPattern
        let behavior: SplitBehavior
        let invert: Bool

        /// The regex matches cover the text, in order, and each is a piece.
        var tilesInOrder: Bool {
            guard behavior == .isolated, !invert else { return false }
            switch pattern {
            case .gpt2, .llama3: return true
            default: return false
            }
        }

        /// The pieces of `range`, as `tokenizers`' split with this pattern and behaviour, empty ones dropped.
        func pieces(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Range<Int>] {
            var matches = self.matches(bytes, range)
            if invert { matches = matches.map { ($0.0, !$0.1) } }
            var result: [Range<Int>] = []
            switch behavior {
            case .isolated:
                result = matches.map(\.0)
            case .removed:
                result = matches.filter { !$0.1 }.map(\.0)
            case .contiguous:
                var previousMatch = false
                for (piece, isMatch) in matches {
                    if isMatch == previousMatch, let last = result.last {
                        result[result.count - 1] = last.lowerBound..<piece.upperBound
                    } else {
                        result.append(piece)
                    }
                    previousMatch = isMatch
                }
            case .mergedWithPrevious:
                var previousMatch = false
                for (piece, isMatch) in matches {
                    if isMatch && !previousMatch, let last = result.last {
                        result[result.count - 1] = last.lowerBound..<piece.upperBound
                    } else {
                        result.append(piece)
                    }
                    previousMatch = isMatch
                }
            case .mergedWithNext:
                var previousMatch = false
                for (piece, isMatch) in matches.reversed() {
                    if isMatch && !previousMatch, let last = result.last {
                        result[result.count - 1] = piece.lowerBound..<last.upperBound
                    } else {
                        result.append(piece)
                    }
                    previousMatch = isMatch
                }
                result.reverse()
            }
            return result.filter { !$0.isEmpty }
        }

        /// The text cut into matches (true) and the stretches between them (false), in order.
        private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [(Range<Int>, Bool)] {
            var result: [(Range<Int>, Bool)] = []
            switch pattern {
            case .gpt2:
                var pieces = PreTokenizer.Pieces(bytes, from: range.lowerBound, to: range.upperBound)
                while let piece = pieces.next() { result.append((piece, true)) }
            case .llama3(let maxDigits):
                var pieces = Llama3Pieces(bytes, from: range.lowerBound, to: range.upperBound, maxDigits: maxDigits)
                while let piece = pieces.next() { result.append((piece, true)) }
            case .literal(let literal):
                guard !literal.isEmpty else { return [(range, false)] }
                var gapStart = range.lowerBound
                var index = range.lowerBound
                while index + literal.count <= range.upperBound {
                    if bytes[index] == literal[0], bytes[index..<(index + literal.count)].elementsEqual(literal) {
                        if gapStart < index { result.append((gapStart..<index, false)) }
                        result.append((index..<(index + literal.count), true))
                        index += literal.count
                        gapStart = index
                    } else {
                        index += 1
                    }
                }
                if gapStart < range.upperBound { result.append((gapStart..<range.upperBound, false)) }
            case .numeric:
                var gapStart = range.lowerBound
                var index = range.lowerBound
                while index < range.upperBound {
                    let (scalarClass, length) = PreTokenizer.classify(bytes, at: index)
                    if scalarClass == .number {
                        if gapStart < index { result.append((gapStart..<index, false)) }
                        result.append((index..<(index + length), true))
                        gapStart = index + length
                    }
                    index += length
                }
                if gapStart < range.upperBound { result.append((gapStart..<range.upperBound, false)) }
            }
            return result
        }
    }

    /// ByteLevel's add_prefix_space: a space before each segment that does not start with one.
    let prefixSpace: Bool
    /// Metaspace: spaces become `replacement`, prepended as `scheme` says.
    let metaspace: (replacement: [UInt8], scheme: PrependScheme)?
    let splits: [SplitStep]

    init(_ steps: [PreTokenizerStep], file: String) throws(TLTokenizerError) {
        var prefixSpace = false
        var metaspace: (replacement: [UInt8], scheme: PrependScheme)?
        var splits: [SplitStep] = []
        var sawByteLevel = false
        for (index, step) in steps.enumerated() {
            switch step {
            case .byteLevel(let addPrefixSpace, let useRegex):
                if addPrefixSpace {
                    guard index == 0 else {
                        throw .unsupported(file: file, feature: "ByteLevel with add_prefix_space after another pre-tokenizer")
                    }
                    prefixSpace = true
                }
                if useRegex { splits.append(SplitStep(pattern: .gpt2, behavior: .isolated, invert: false)) }
                sawByteLevel = true
            case .metaspace(let replacement, let scheme, let split):
                guard index == 0 else {
                    throw .unsupported(file: file, feature: "Metaspace after another pre-tokenizer")
                }
                metaspace = (Array(replacement.utf8), scheme)
                if split {
                    splits.append(SplitStep(pattern: .literal(Array(replacement.utf8)), behavior: .mergedWithNext,
                                            invert: false))
                }
            case .split(let pattern, let behavior, let invert):
                guard !sawByteLevel else {
                    throw .unsupported(file: file, feature: "a Split or Digits pre-tokenizer after ByteLevel")
                }
                splits.append(SplitStep(pattern: pattern, behavior: behavior, invert: invert))
            }
        }
        self.prefixSpace = prefixSpace
        self.metaspace = metaspace
        self.splits = splits
    }

    /// The segment rewritten by ByteLevel's prefix space or Metaspace, or nil when it stays as it is.
    /// `atTextStart`: the segment begins the input (Metaspace's prepend_scheme "first").
    func rewrite(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, atTextStart: Bool) -> [UInt8]? {
        if prefixSpace {
            return bytes[range.lowerBound] == 0x20 ? nil : [0x20] + Array(bytes[range])
        }
        guard let metaspace else { return nil }
        var rewritten = Normalization.replaceAll([0x20], with: metaspace.replacement, in: Array(bytes[range]))
        let prepend: Bool
        switch metaspace.scheme {
        case .always: prepend = true
        case .first: prepend = atTextStart
        case .never: prepend = false
        }
        if prepend && !rewritten.starts(with: metaspace.replacement) {
            rewritten = metaspace.replacement + rewritten
        }
        return rewritten
    }
}

extension AddedTokenMatcher {
    /// Cuts `range` at the added tokens `matcher` finds (leftmost, longest first, as Hugging Face's
    /// Aho-Corasick split does), calling `token` for each and `text` for each stretch between them, in order.
    /// lstrip/rstrip tokens swallow the whitespace beside them; a single_word token that touches a word
    /// character is not a match (the search resumes after it).
    static func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, by matcher: AddedTokenMatcher,
                      token: (Int32) -> Void, text: (Range<Int>) -> Void) {
        guard !matcher.isEmpty else {
            text(range)
            return
        }
        var segmentStart = range.lowerBound
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            guard matcher.mayStart(with: bytes[index]), let match = matcher.match(bytes, at: index, end: end) else {
                index += 1
                continue
            }
            if match.singleWord && (touchesWord(bytes, before: index, floor: range.lowerBound)
                                    || touchesWord(bytes, after: index + match.length, limit: end)) {
                index += match.length
                continue
            }
            let segmentEnd = match.leftStrip ? matcher.trimWhitespace(before: index, in: bytes, notBefore: segmentStart)
                                             : index
            if segmentStart < segmentEnd { text(segmentStart..<segmentEnd) }
            token(match.id)
            index += match.length
            if match.rightStrip { index = matcher.skipWhitespace(from: index, in: bytes, end: end) }
            segmentStart = index
        }
        if segmentStart < end { text(segmentStart..<end) }
    }
}
