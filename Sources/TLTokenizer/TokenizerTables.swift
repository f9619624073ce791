import TLCore

/// The lookup tables a `Tokenizer` runs on, built (and checked) from a `TokenizerDescription`.
struct TokenizerTables {
    let encoder: BytePairEncoder
    /// Bytes each id decodes to through a ByteLevel decoder (the fast decoding path).
    let byteStorage: [UInt8]
    let byteOffsets: [Int32]
    /// Each id's token string (vocabulary spelling or added-token content), "" for unused ids.
    let tokenStrings: [String]
    /// Added tokens matched in the raw input, and those matched after normalization.
    let rawAddedTokens: AddedTokenMatcher
    let normalizedAddedTokens: AddedTokenMatcher
    /// Vocabulary strings and added-token contents -> id.
    let idsByContent: IDsByContent
    /// The bytes a whole piece has when it is one vocabulary entry -> id (used only with `ignore_merges`).
    let idsByBytes: [[UInt8]: Int32]

    init(_ description: TokenizerDescription) throws(TLTokenizerError) {
        let byteLevel = description.preTokenizer.contains { if case .byteLevel = $0 { true } else { false } }
        var idsByContent = IDsByContent(capacity: description.vocabulary.count + description.addedTokens.count)
        for (token, id) in description.vocabulary { idsByContent[token] = id }

        var maxID = description.vocabulary.map(\.id).max() ?? -1
        maxID = max(maxID, description.addedTokens.map(\.id).max() ?? -1)
        // Ids index dense tables; refuse absurd ids instead of allocating gigabytes.
        let largestAllowedID = max(16 * (description.vocabulary.count + description.addedTokens.count), 1 << 20)
        if maxID > largestAllowedID {
            throw .malformedFile(file: description.vocabularyFile, location: "token id \(maxID)",
                                 problem: "id is far larger than the vocabulary (\(description.vocabulary.count) entries)")
        }
        var tokenStrings = [String](repeating: "", count: maxID + 1)
        var idsByBytes: [[UInt8]: Int32] = [:]
        for (token, id) in description.vocabulary {
            tokenStrings[id] = token
            if description.ignoreMerges {
                idsByBytes[byteLevel ? ByteLevel.bytes(ofTokenString: token) : Array(token.utf8)] = Int32(id)
            }
        }
        for added in description.addedTokens {
            tokenStrings[added.id] = added.content
            idsByContent[added.content] = added.id
        }
        // Every id decodes through the byte-level table, added tokens included (as Hugging Face does).
        var byteStorage: [UInt8] = []
        var byteOffsets: [Int32] = [0]
        byteOffsets.reserveCapacity(tokenStrings.count + 1)
        for token in tokenStrings {
            byteStorage.append(contentsOf: ByteLevel.bytes(ofTokenString: token))
            byteOffsets.append(Int32(byteStorage.count))
        }

        var encoder: BytePairEncoder
        if byteLevel {
            var byteTokenIDs = [Int32](repeating: 0, count: 256)
            for byte in 0..<256 {
                let spelling = String(ByteLevel.character[byte])
                guard let id = idsByContent[spelling] else {
                    throw .malformedFile(file: description.vocabularyFile, location: "key \(quoteForMessage(spelling))",
                                         problem: "missing the byte-level token for byte 0x\(String(byte, radix: 16)); "
                                            + "a byte-level vocabulary has one token for each of the 256 bytes")
                }
                byteTokenIDs[byte] = Int32(id)
            }
            encoder = BytePairEncoder(byteTokenIDs: byteTokenIDs, merges: try Self.mergeTable(description, idsByContent),
                                      byteLevel: true)
        } else {
            encoder = BytePairEncoder(byteTokenIDs: [], merges: try Self.mergeTable(description, idsByContent),
                                      byteLevel: false)
            var basic = [Int32](repeating: -1, count: 0x10000)
            var other: [UInt32: Int32] = [:]
            for (token, id) in description.vocabulary {
                let scalars = token.unicodeScalars
                guard scalars.count == 1, let scalar = scalars.first else { continue }
                if scalar.value < 0x10000 { basic[Int(scalar.value)] = Int32(id) } else { other[scalar.value] = Int32(id) }
            }
            encoder.basicScalarIDs = basic
            encoder.otherScalarIDs = other
            if description.byteFallback {
                encoder.fallbackByteIDs = (0..<256).map { byte in
                    Int32(idsByContent["<0x\(UInt8(byte).upperHex)>"] ?? -1)
                }
            }
            if let unknown = description.unknownToken {
                guard let id = idsByContent[unknown] else {
                    throw .malformedFile(file: description.vocabularyFile, location: "key \"model.unk_token\"",
                                         problem: "the unknown token \(quoteForMessage(unknown)) is not in the vocabulary")
                }
                encoder.unknownID = Int32(id)
            }
            encoder.fuseUnknown = description.fuseUnknown
            encoder.splitsBeforeMetaspace = Self.noMergeCrossesMetaspace(description, idsByContent)
        }

        self.encoder = encoder
        self.byteStorage = byteStorage
        self.byteOffsets = byteOffsets
        self.tokenStrings = tokenStrings
        rawAddedTokens = AddedTokenMatcher(description.addedTokens.filter { !$0.normalized })
        normalizedAddedTokens = AddedTokenMatcher(description.addedTokens.filter { $0.normalized })
        self.idsByContent = idsByContent
        self.idsByBytes = idsByBytes
    }

    /// Whether "▁" is a vocabulary symbol and no merge makes a token where "▁" follows another scalar
    /// (SentencePiece vocabularies: "▁the", "▁▁▁" but no "a▁"). Then no merge joins a symbol to a following
    /// "▁" run, so BPE on a long piece equals BPE on its stretches cut where each "▁" run starts (which are
    /// short and cacheable, like words).
    private static func noMergeCrossesMetaspace(_ description: TokenizerDescription, _ idsByContent: IDsByContent) -> Bool {
        let metaspace: Unicode.Scalar = "\u{2581}"
        guard idsByContent[String(metaspace)] != nil else { return false }
        for merge in description.merges {
            var previous: Unicode.Scalar?
            for scalar in merge.left.unicodeScalars + merge.right.unicodeScalars {
                if scalar == metaspace, let previous, previous != metaspace { return false }
                previous = scalar
            }
        }
        return true
    }

    /// `(left << 32 | right)` -> `(rank << 32 | merged id)`; every token a merge names must exist.
    private static func mergeTable(_ description: TokenizerDescription,
                                   _ idsByContent: IDsByContent) throws(TLTokenizerError) -> [UInt64: UInt64] {
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
        return merges
    }
}

/// Token string -> id, compared by UTF-8 bytes: Swift's `String` equality is canonical equivalence, which
/// would make "é" and "e\u{301}" (distinct tokens in a vocabulary) one key.
struct IDsByContent: Sendable {
    private var ids: [[UInt8]: Int]

    init(capacity: Int) { ids = Dictionary(minimumCapacity: capacity) }

    subscript(_ token: String) -> Int? {
        get { ids[Array(token.utf8)] }
        set { ids[Array(token.utf8)] = newValue }
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
        let singleWord: Bool
    }

    struct Match {
        let id: Int32
        let length: Int
        let leftStrip: Bool
        let rightStrip: Bool
        let singleWord: Bool
    }

    /// Longest first, so the first token that matches at a position is the longest.
    private let tokens: [Token]
    private let startBytes: [Bool]

    init(_ added: [TokenizerDescription.AddedToken]) {
        tokens = added.map { Token(bytes: Array($0.content.utf8), id: Int32($0.id), leftStrip: $0.leftStrip,
                                   rightStrip: $0.rightStrip, singleWord: $0.singleWord) }
            .filter { !$0.bytes.isEmpty }
            .sorted { $0.bytes.count > $1.bytes.count }
        var startBytes = [Bool](repeating: false, count: 256)
        for token in tokens { startBytes[Int(token.bytes[0])] = true }
        self.startBytes = startBytes
    }

    var isEmpty: Bool { tokens.isEmpty }

    @inline(__always)
    func mayStart(with byte: UInt8) -> Bool { startBytes[Int(byte)] }

    /// For single_word tokens: whether the scalar ending at `index` (or starting at it, `after`) is a word
    /// character (letter, number, mark or `_`), which forbids the match there.
    static func touchesWord(_ bytes: UnsafeBufferPointer<UInt8>, before index: Int, floor: Int) -> Bool {
        guard index > floor else { return false }
        var start = index - 1
        while start > floor && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return isWordScalar(PreTokenizer.decodeScalar(bytes, at: start).0)
    }

    static func touchesWord(_ bytes: UnsafeBufferPointer<UInt8>, after index: Int, limit: Int) -> Bool {
        guard index < limit else { return false }
        return isWordScalar(PreTokenizer.decodeScalar(bytes, at: index).0)
    }

    private static func isWordScalar(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark,
             .connectorPunctuation:
            return true
        default:
            return scalar.properties.isAlphabetic
        }
    }

    func match(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> Match? {
        for token in tokens where index + token.bytes.count <= end {
            var equal = true
            for offset in 0..<token.bytes.count where bytes[index + offset] != token.bytes[offset] {
                equal = false
                break
            }
            if equal {
                return Match(id: token.id, length: token.bytes.count, leftStrip: token.leftStrip,
                             rightStrip: token.rightStrip, singleWord: token.singleWord)
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
    func skipWhitespace(from index: Int, in bytes: UnsafeBufferPointer<UInt8>, end: Int) -> Int {
        var cursor = index
        while cursor < end {
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

        static let maximumLength = 15

        @inline(__always)
        init?(_ piece: UnsafeBufferPointer<UInt8>) {
            guard piece.count <= Self.maximumLength else { return nil }
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
