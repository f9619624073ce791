/// The lookup tables a `GPT2Tokenizer` runs on, built (and checked) from a `TokenizerDescription`.
struct TokenizerTables {
    let encoder: BytePairEncoder
    let byteStorage: [UInt8]
    let byteOffsets: [Int32]
    let addedTokens: AddedTokenMatcher
    /// Vocabulary strings and added-token contents -> id.
    let idsByContent: [String: Int]
    /// Raw bytes of each vocabulary entry -> id (used only with `ignore_merges`).
    let idsByBytes: [[UInt8]: Int32]

    init(_ description: TokenizerDescription) throws(TLTokenizerError) {
        var idsByContent: [String: Int] = [:]
        idsByContent.reserveCapacity(description.vocabulary.count + description.addedTokens.count)
        for (token, id) in description.vocabulary { idsByContent[token] = id }

        // Every id decodes through the byte-level table, added tokens included (as Hugging Face does).
        var maxID = description.vocabulary.map(\.id).max() ?? -1
        maxID = max(maxID, description.addedTokens.map(\.id).max() ?? -1)
        // Ids index dense tables; refuse absurd ids instead of allocating gigabytes.
        let largestAllowedID = max(16 * (description.vocabulary.count + description.addedTokens.count), 1 << 20)
        if maxID > largestAllowedID {
            throw .malformedFile(file: description.vocabularyFile, location: "token id \(maxID)",
                                 problem: "id is far larger than the vocabulary (\(description.vocabulary.count) entries)")
        }
        var bytesByID = [[UInt8]](repeating: [], count: maxID + 1)
        var idsByBytes: [[UInt8]: Int32] = [:]
        for (token, id) in description.vocabulary {
            let bytes = ByteLevel.bytes(ofTokenString: token)
            bytesByID[id] = bytes
            if description.ignoreMerges { idsByBytes[bytes] = Int32(id) }
        }
        for added in description.addedTokens {
            bytesByID[added.id] = ByteLevel.bytes(ofTokenString: added.content)
            idsByContent[added.content] = added.id
        }
        var byteStorage: [UInt8] = []
        var byteOffsets: [Int32] = [0]
        byteOffsets.reserveCapacity(bytesByID.count + 1)
        for bytes in bytesByID {
            byteStorage.append(contentsOf: bytes)
            byteOffsets.append(Int32(byteStorage.count))
        }

        var byteTokenIDs = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            let spelling = String(ByteLevel.character[byte])
            guard let id = idsByContent[spelling] else {
                throw .malformedFile(file: description.vocabularyFile, location: "key \(quoteForMessage(spelling))",
                                     problem: "missing the byte-level token for byte 0x\(String(byte, radix: 16)); "
                                        + "a GPT-2-style vocabulary has one token for each of the 256 bytes")
            }
            byteTokenIDs[byte] = Int32(id)
        }

        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(description.merges.count)
        for (rank, merge) in description.merges.enumerated() {
            func id(_ token: String) throws(TLTokenizerError) -> Int {
                guard let id = idsByContent[token] else {
                    throw .malformedFile(file: description.mergesFile, location: merge.location,
                                         problem: "token \(quoteForMessage(token)) is not in the vocabulary "
                                            + "(\(description.vocabularyFile))")
                }
                return id
            }
            let left = try id(merge.left)
            let right = try id(merge.right)
            let merged = try id(merge.left + merge.right)
            // A repeated pair keeps its last rank, as Hugging Face's loader does.
            merges[UInt64(left) << 32 | UInt64(right)] = UInt64(rank) << 32 | UInt64(merged)
        }

        encoder = BytePairEncoder(byteTokenIDs: byteTokenIDs, merges: merges)
        self.byteStorage = byteStorage
        self.byteOffsets = byteOffsets
        addedTokens = AddedTokenMatcher(description.addedTokens)
        self.idsByContent = idsByContent
        self.idsByBytes = idsByBytes
    }
}

/// Finds added/special tokens (such as `<|endoftext|>`) inside input bytes: leftmost match, longest first,
/// like Hugging Face's added-vocabulary split.
struct AddedTokenMatcher: Sendable {
    struct Token: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let leftStrip: Bool
        let rightStrip: Bool
    }

    struct Match {
        let id: Int32
        let length: Int
        let leftStrip: Bool
        let rightStrip: Bool
    }

    /// Longest first, so the first token that matches at a position is the longest.
    private let tokens: [Token]
    private let startBytes: [Bool]

    init(_ added: [TokenizerDescription.AddedToken]) {
        tokens = added.map { Token(bytes: Array($0.content.utf8), id: Int32($0.id), leftStrip: $0.leftStrip,
                                   rightStrip: $0.rightStrip) }
            .filter { !$0.bytes.isEmpty }
            .sorted { $0.bytes.count > $1.bytes.count }
        var startBytes = [Bool](repeating: false, count: 256)
        for token in tokens { startBytes[Int(token.bytes[0])] = true }
        self.startBytes = startBytes
    }

    @inline(__always)
    func mayStart(with byte: UInt8) -> Bool { startBytes[Int(byte)] }

    func match(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Match? {
        for token in tokens where index + token.bytes.count <= bytes.count {
            var equal = true
            for offset in 0..<token.bytes.count where bytes[index + offset] != token.bytes[offset] {
                equal = false
                break
            }
            if equal {
                return Match(id: token.id, length: token.bytes.count, leftStrip: token.leftStrip,
                             rightStrip: token.rightStrip)
            }
        }
        return nil
    }

    /// Start of the whitespace run ending at `index` (for `lstrip` tokens), not going below `floor`.
    func trimWhitespace(before index: Int, in bytes: UnsafeBufferPointer<UInt8>, notBefore floor: Int) -> Int {
        var cursor = index
        while cursor > floor {
            var scalarStart = cursor - 1
            while scalarStart > floor && bytes[scalarStart] & 0xC0 == 0x80 { scalarStart -= 1 }
            guard PreTokenizer.classify(bytes, at: scalarStart).0 == .whitespace else { break }
            cursor = scalarStart
        }
        return cursor
    }

    /// End of the whitespace run starting at `index` (for `rstrip` tokens).
    func skipWhitespace(from index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var cursor = index
        while cursor < bytes.count {
            let (scalarClass, length) = PreTokenizer.classify(bytes, at: cursor)
            guard scalarClass == .whitespace else { break }
            cursor += length
        }
        return cursor
    }
}

/// Ids of recently encoded short pieces. Most text repeats a small set of words, so most pieces skip BPE.
struct PieceCache {
    /// Up to 15 bytes packed into two words, the length in the top byte (bytes may be zero).
    struct Key: Hashable {
        let low: UInt64
        let high: UInt64

        @inline(__always)
        init?(_ piece: UnsafeBufferPointer<UInt8>) {
            guard piece.count <= 15 else { return nil }
            var low: UInt64 = 0
            var high = UInt64(piece.count) << 56
            for (offset, byte) in piece.enumerated() {
                if offset < 8 {
                    low |= UInt64(byte) << (8 * UInt64(offset))
                } else {
                    high |= UInt64(byte) << (8 * UInt64(offset - 8))
                }
            }
            self.low = low
            self.high = high
        }
    }

    /// Ids of one piece: up to two inline (nearly all pieces), more in an array.
    struct Entry {
        let first: Int32
        let second: Int32  // -1 when absent
        let rest: [Int32]?

        init(_ ids: ArraySlice<Int32>) {
            let start = ids.startIndex
            first = ids[start]
            second = ids.count > 1 ? ids[start + 1] : -1
            rest = ids.count > 2 ? Array(ids[(start + 2)...]) : nil
        }

        @inline(__always)
        func append(to output: inout [Int32]) {
            output.append(first)
            if second >= 0 { output.append(second) }
            if let rest { output.append(contentsOf: rest) }
        }
    }

    static let capacity = 1 << 16
    private var entries: [Key: Entry] = [:]

    init() {}

    func lookup(_ key: Key) -> Entry? { entries[key] }

    mutating func store(_ entry: Entry, for key: Key) {
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = entry
    }
}
