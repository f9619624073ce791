import Synchronization
import TLCore

/// SentencePiece's own encoding of a BPE `tokenizer.model` — what `SentencePieceProcessor(model_file=...).encode(text)`
/// gives (no BOS / EOS) — as opposed to the pipeline transformers converts the model to (`fromSentencePieceModel`).
///
/// The two differ: SentencePiece merges the adjacent pair whose merged piece has the highest *score* (leftmost
/// among equal scores), and Mistral's and Llama 2's whitespace-run pieces score -1e9, so they merge last, while
/// the converted pipeline ranks merges by piece id; `<s>` written in the text is plain text here (control pieces
/// never match), user-defined pieces match as a unit; and the text is normalized by the model's normalizer_spec
/// (add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces). This follows sentencepiece 0.2's
/// normalizer.cc and bpe_model.cc. Only an identity normalization (empty precompiled_charsmap, as Llama 2 and
/// Mistral have) is implemented; a model with a character map (e.g. nmt_nfkc) is refused when loading.
final class SentencePieceEncoder: Sendable {
    /// Normal, user-defined and unused pieces: the ones a merge may produce (SentencePiece's `pieces_`).
    let mergeableIDs: [ArraySlice<UInt8>: Int32]
    /// Unknown, control and byte pieces (SentencePiece's `reserved_id_map_`), looked up first.
    let reservedIDs: [ArraySlice<UInt8>: Int32]
    let scores: [Float]
    let isUnused: [Bool]
    /// User-defined pieces by first byte, longest first: they match the normalized text as one frozen symbol.
    let userDefinedByFirstByte: [UInt8: [[UInt8]]]
    let longestPieceBytes: Int
    let unknownID: Int32
    /// `<0xNN>` ids when the model has byte_fallback: an unknown piece becomes its UTF-8 bytes.
    let byteIDs: [Int32]?
    let addDummyPrefix: Bool
    let removeExtraWhitespaces: Bool
    let escapeWhitespaces: Bool
    /// No piece has a space symbol right after another character, and no piece is unused, so the normalized text
    /// can be encoded chunk by chunk, cut before each run of space symbols (merges never cross such a cut, and
    /// each chunk merges in the same relative order), with a cache of chunks seen. Checked at load.
    let cutsBeforeSpaceRuns: Bool
    let chunkCache = Mutex([[UInt8]: [Int32]]())

    static let spaceSymbol: [UInt8] = Array("\u{2581}".utf8)

    init(_ model: SentencePieceProto, file: String) throws(TLTokenizerError) {
        guard model.precompiledCharsmapSize == 0 else {
            let name = model.normalizerName.isEmpty ? "a" : "the \"\(model.normalizerName)\""
            throw .unsupported(file: file, feature: "SentencePiece's own encoding with \(name) normalization rule "
                + "(a \(model.precompiledCharsmapSize)-byte precompiled_charsmap; tlsh reproduces only the identity rule)")
        }
        guard !model.whitespaceAsSuffix else {
            throw .unsupported(file: file, feature: "a SentencePiece model with treat_whitespace_as_suffix")
        }
        var mergeable: [ArraySlice<UInt8>: Int32] = [:]
        var reserved: [ArraySlice<UInt8>: Int32] = [:]
        var userDefined: [UInt8: [[UInt8]]] = [:]
        var longest = 0
        for (id, piece) in model.pieces.enumerated() {
            let bytes = Array(piece.text.utf8)
            // 1 normal, 4 user-defined, 5 unused are mergeable; 2 unknown, 3 control, 6 byte are reserved.
            if [1, 4, 5].contains(piece.type) {
                if mergeable[bytes[...]] == nil { mergeable[bytes[...]] = Int32(id) }
                longest = max(longest, bytes.count)
            } else if reserved[bytes[...]] == nil {
                reserved[bytes[...]] = Int32(id)
            }
            if piece.type == 4, let first = bytes.first { userDefined[first, default: []].append(bytes) }
        }
        for key in userDefined.keys { userDefined[key]?.sort { $0.count > $1.count } }
        mergeableIDs = mergeable
        reservedIDs = reserved
        scores = model.pieces.map(\.score)
        isUnused = model.pieces.map { $0.type == 5 }
        userDefinedByFirstByte = userDefined
        longestPieceBytes = longest
        guard model.pieces.indices.contains(model.unkID) else {
            throw .malformedFile(file: file, location: "trainer_spec.unk_id",
                                 problem: "unk_id \(model.unkID) is not a piece id (0..<\(model.pieces.count))")
        }
        unknownID = Int32(model.unkID)
        if model.byteFallback {
            var ids: [Int32] = []
            for byte in 0..<256 {
                let name = Array("<0x\(UInt8(byte).upperHex)>".utf8)
                guard let id = reserved[name[...]] ?? mergeable[name[...]] else {
                    throw .malformedFile(file: file, location: "pieces",
                                         problem: "byte_fallback is set but there is no piece \(String(decoding: name, as: UTF8.self))")
                }
                ids.append(id)
            }
            byteIDs = ids
        } else {
            byteIDs = nil
        }
        addDummyPrefix = model.addDummyPrefix
        removeExtraWhitespaces = model.removeExtraWhitespaces
        escapeWhitespaces = model.escapeWhitespaces
        let space = model.escapeWhitespaces ? Self.spaceSymbol : [0x20]
        cutsBeforeSpaceRuns = !model.pieces.contains { $0.type == 5 }
            && !mergeable.keys.contains { Self.hasSpaceAfterOtherCharacter($0, space: space) }
    }

    /// Whether `piece` has `space` right after a character that is not `space`.
    static func hasSpaceAfterOtherCharacter(_ piece: ArraySlice<UInt8>, space: [UInt8]) -> Bool {
        var position = piece.startIndex
        var previousIsSpace = true  // nothing before the start
        while position < piece.endIndex {
            if piece[position...].starts(with: space) {
                if !previousIsSpace { return true }
                previousIsSpace = true
                position += space.count
            } else {
                if piece[position] & 0xC0 != 0x80 { previousIsSpace = false }
                position += 1
            }
        }
        return false
    }

    /// normalizer.cc with the identity rule: drop leading spaces and collapse runs (remove_extra_whitespaces),
    /// prepend one space (add_dummy_prefix), spaces become "▁" (escape_whitespaces), drop trailing ones.
    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var start = 0
        if removeExtraWhitespaces { while start < input.count, input[start] == 0x20 { start += 1 } }
        guard start < input.count else { return [] }  // empty, or only spaces that are removed
        let space = escapeWhitespaces ? Self.spaceSymbol : [0x20]
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 4 + 3)
        if addDummyPrefix { output += space }
        var previousWasSpace = removeExtraWhitespaces
        for byte in input[start...] {
            if byte == 0x20 {
                if !previousWasSpace { output += space }
                previousWasSpace = removeExtraWhitespaces
            } else {
                output.append(byte)
                previousWasSpace = false
            }
        }
        if removeExtraWhitespaces {
            while output.count >= space.count, output.suffix(space.count).elementsEqual(space) {
                output.removeLast(space.count)
            }
        }
        return output
    }

    /// Appends the ids of `input` (SentencePiece's encode: normalize, BPE by score, re-split unused pieces,
    /// byte fallback for unknown pieces).
    func encode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let text = normalize(input)
        guard !text.isEmpty else { return }
        guard cutsBeforeSpaceRuns else {
            encodeNormalized(text, into: &output)
            return
        }
        let space = escapeWhitespaces ? Self.spaceSymbol : [0x20]
        var start = 0, position = 0
        var previousIsSpace = true
        while position < text.count {
            if text[position] == space[0], text[position...].starts(with: space) {
                if !previousIsSpace, position > start {
                    encodeChunk(text[start..<position], into: &output)
                    start = position
                }
                previousIsSpace = true
                position += space.count
            } else {
                if text[position] & 0xC0 != 0x80 { previousIsSpace = false }
                position += 1
            }
        }
        encodeChunk(text[start...], into: &output)
    }

    /// A chunk through the cache (chunks up to 64 bytes are cached; the cache is emptied when it is full).
    private func encodeChunk(_ chunk: ArraySlice<UInt8>, into output: inout [Int32]) {
        let key = Array(chunk)
        guard key.count <= 64 else {
            encodeNormalized(key, into: &output)
            return
        }
        if let ids = chunkCache.withLock({ $0[key] }) {
            output += ids
            return
        }
        var ids: [Int32] = []
        encodeNormalized(key, into: &ids)
        output += ids
        chunkCache.withLock { cache in
            if cache.count >= 65_536 { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
        }
    }

    /// bpe_model.cc's Encode on normalized text.
    private func encodeNormalized(_ text: [UInt8], into output: inout [Int32]) {
        var symbols = splitIntoSymbols(text)
        var agenda = MergeAgenda()
        var reverseMerges: [ArraySlice<UInt8>: (ArraySlice<UInt8>, ArraySlice<UInt8>)] = [:]

        func addPair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, !symbols[Int(left)].frozen, !symbols[Int(right)].frozen else { return }
            let start = Int(symbols[Int(left)].start)
            let size = Int(symbols[Int(left)].length + symbols[Int(right)].length)
            guard size <= longestPieceBytes, let id = mergeableIDs[text[start..<(start + size)]] else { return }
            agenda.push(.init(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
            if isUnused[Int(id)] {  // remembered so that the unused piece can be split back
                let leftEnd = start + Int(symbols[Int(left)].length)
                reverseMerges[text[start..<(start + size)]] = (text[start..<leftEnd], text[leftEnd..<(start + size)])
            }
        }

        for index in 1..<symbols.count { addPair(Int32(index - 1), Int32(index)) }
        while let top = agenda.pop() {
            let left = Int(top.left), right = Int(top.right)
            // Stale: one side was merged into something else since this pair was queued.
            guard symbols[left].length > 0, symbols[right].length > 0,
                  symbols[left].length + symbols[right].length == top.size else { continue }
            symbols[left].length = top.size
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[Int(symbols[right].next)].previous = top.left }
            symbols[right].length = 0
            addPair(symbols[left].previous, top.left)
            addPair(top.left, symbols[left].next)
        }

        var index: Int32 = 0
        while index >= 0 {
            let symbol = symbols[Int(index)]
            let start = Int(symbol.start)
            resegment(text[start..<(start + Int(symbol.length))], reverseMerges, into: &output)
            index = symbol.next
        }
    }

    /// One symbol per UTF-8 character, except that a user-defined piece (longest first) is one frozen symbol.
    private func splitIntoSymbols(_ text: [UInt8]) -> [Symbol] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var position = 0
        while position < text.count {
            var length = 0
            var frozen = false
            if let candidates = userDefinedByFirstByte[text[position]],
               let match = candidates.first(where: { text[position...].starts(with: $0) }) {
                length = match.count
                frozen = true
            } else {
                length = 1
                while position + length < text.count, text[position + length] & 0xC0 == 0x80 { length += 1 }
            }
            let index = Int32(symbols.count)
            symbols.append(Symbol(start: Int32(position), length: Int32(length), previous: index - 1,
                                  next: position + length < text.count ? index + 1 : -1, frozen: frozen))
            position += length
        }
        return symbols
    }

    private func resegment(_ piece: ArraySlice<UInt8>,
                           _ reverseMerges: [ArraySlice<UInt8>: (ArraySlice<UInt8>, ArraySlice<UInt8>)],
                           into output: inout [Int32]) {
        let id = reservedIDs[piece] ?? mergeableIDs[piece] ?? unknownID
        if isUnused[Int(id)], let (left, right) = reverseMerges[piece] {
            resegment(left, reverseMerges, into: &output)
            resegment(right, reverseMerges, into: &output)
        } else if id == unknownID, let byteIDs {
            for byte in piece { output.append(byteIDs[Int(byte)]) }
        } else {
            output.append(id)
        }
    }

    struct Symbol {
        var start: Int32
        /// Bytes in the normalized text; 0 once merged into the symbol on its left.
        var length: Int32
        var previous: Int32
        var next: Int32
        let frozen: Bool
    }
}

/// A binary max-heap of candidate merges: highest score first, then leftmost (bpe_model.cc's agenda).
struct MergeAgenda {
    struct Candidate {
        let score: Float
        let left: Int32
        let right: Int32
        let size: Int32

        func precedes(_ other: Candidate) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    private var heap: [Candidate] = []

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count, heap[left].precedes(heap[best]) { best = left }
            if right < heap.count, heap[right].precedes(heap[best]) { best = right }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return first
    }
}
