/// A SentencePiece `tokenizer.model` (protobuf `ModelProto`) turned into the pipeline that transformers builds
/// when it converts one to a fast tokenizer (`LlamaTokenizer` in transformers 5: vocabulary in piece order,
/// merges generated from the vocabulary, Metaspace with prepend_scheme "first", byte fallback, and the
/// Replace / ByteFallback / Fuse / Strip decoder). Only BPE models (Llama 2, Mistral) are supported.
extension TokenizerDescription {
    static func fromSentencePieceModel(_ bytes: [UInt8], file: String) throws(TLTokenizerError) -> TokenizerDescription {
        let model = try SentencePieceProto.load(bytes, file: file)
        var description = TokenizerDescription(vocabularyFile: file, mergesFile: file)
        var ids: [[UInt8]: Int] = [:]
        for (id, piece) in model.pieces.enumerated() where ids[Array(piece.text.utf8)] == nil {
            ids[Array(piece.text.utf8)] = id
            description.vocabulary.append((piece.text, id))
        }
        description.merges = generateMerges(description.vocabulary, ids)
        // Unknown and control pieces are special added tokens; user-defined pieces are plain added tokens.
        for (id, piece) in model.pieces.enumerated() where [2, 3, 4].contains(piece.type) {
            var token = AddedToken(content: piece.text, id: id)
            token.special = piece.type != 4
            description.addedTokens.append(token)
        }
        description.normalizer = []
        description.preTokenizer = [.metaspace(replacement: "\u{2581}", prependScheme: .first, split: false)]
        description.decoder = [.replace(pattern: "\u{2581}", content: " "), .byteFallback, .fuse,
                               .strip(content: " ", start: 1, stop: 0)]
        description.byteFallback = true
        description.fuseUnknown = true
        if model.pieces.indices.contains(model.bosID) { description.defaultBOS = model.pieces[model.bosID].text }
        if model.pieces.indices.contains(model.eosID) { description.defaultEOS = model.pieces[model.eosID].text }
        return description
    }

    /// transformers' `generate_merges`: every split of a piece into two pieces is a merge, ranked by the merged
    /// piece's id, then by the left part's length (within a piece, splits are first ordered by the parts' ids).
    static func generateMerges(_ vocabulary: [(token: String, id: Int)], _ ids: [[UInt8]: Int]) -> [Merge] {
        // Looked up by byte slices, so that trying every split allocates nothing.
        var idsBySlice: [ArraySlice<UInt8>: Int] = Dictionary(minimumCapacity: ids.count)
        for (bytes, id) in ids { idsBySlice[bytes[...]] = id }
        var merges: [(rank: Int, leftLength: Int, rightLength: Int, left: String, right: String)] = []
        for (token, id) in vocabulary {
            let bytes = Array(token.utf8)
            let scalarCount = token.unicodeScalars.count
            var local: [(leftID: Int, rightID: Int, cut: Int, leftLength: Int)] = []
            var leftLength = 0
            for cut in 1..<max(bytes.count, 1) where bytes[cut] & 0xC0 != 0x80 {  // each scalar boundary
                leftLength += 1
                if let leftID = idsBySlice[bytes[..<cut]], let rightID = idsBySlice[bytes[cut...]] {
                    local.append((leftID, rightID, cut, leftLength))
                }
            }
            local.sort { ($0.leftID, $0.rightID) < ($1.leftID, $1.rightID) }
            for split in local {
                merges.append((id, split.leftLength, scalarCount - split.leftLength,
                               String(decoding: bytes[..<split.cut], as: UTF8.self),
                               String(decoding: bytes[split.cut...], as: UTF8.self)))
            }
        }
        // Python's sort is stable: equal keys keep the order above.
        let order = merges.indices.sorted {
            let a = merges[$0], b = merges[$1]
            return (a.rank, a.leftLength, a.rightLength, $0) < (b.rank, b.leftLength, b.rightLength, $1)
        }
        return order.enumerated().map { rank, index in
            Merge(left: merges[index].left, right: merges[index].right, location: "generated merge \(rank)")
        }
    }
}

/// The fields of SentencePiece's `ModelProto` that tokenizing needs, read by a minimal protobuf decoder.
struct SentencePieceProto {
    struct Piece {
        var text = ""
        var score: Float = 0
        /// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
        var type = 1
    }

    struct DecodeError: Error {
        let offset: Int
        let problem: String
    }

    var pieces: [Piece] = []
    /// trainer_spec.model_type: 1 Unigram, 2 BPE, 3 word, 4 char (default Unigram).
    var modelType = 1
    /// trainer_spec.bos_id / eos_id (defaults 1 and 2; -1 when disabled).
    var bosID = 1
    var eosID = 2
    /// trainer_spec.unk_id (default 0), byte_fallback, treat_whitespace_as_suffix.
    var unkID = 0
    var byteFallback = false
    var whitespaceAsSuffix = false
    /// normalizer_spec: the rule name (e.g. "identity", "nmt_nfkc"), its compiled character map (empty for
    /// identity), and the three whitespace options (each true when absent, as in the proto's defaults).
    var normalizerName = ""
    var precompiledCharsmapSize = 0
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    init(_ bytes: [UInt8]) throws(DecodeError) {
        var reader = ProtobufReader(bytes: bytes, position: 0, end: bytes.count)
        while let (field, wireType) = try reader.nextField() {
            switch (field, wireType) {
            case (1, 2):
                var sub = try reader.subMessage()
                var piece = Piece()
                while let (pieceField, pieceWire) = try sub.nextField() {
                    switch (pieceField, pieceWire) {
                    case (1, 2): piece.text = String(decoding: try sub.lengthDelimited(), as: UTF8.self)
                    case (2, 5): piece.score = Float(bitPattern: try sub.fixed32())
                    case (3, 0): piece.type = Int(truncatingIfNeeded: try sub.varint())
                    default: try sub.skip(pieceWire)
                    }
                }
                pieces.append(piece)
            case (2, 2):
                var sub = try reader.subMessage()
                while let (specField, specWire) = try sub.nextField() {
                    switch (specField, specWire) {
                    case (3, 0): modelType = Int(truncatingIfNeeded: try sub.varint())
                    case (41, 0): bosID = Int(Int32(truncatingIfNeeded: try sub.varint()))
                    case (42, 0): eosID = Int(Int32(truncatingIfNeeded: try sub.varint()))
                    case (40, 0): unkID = Int(Int32(truncatingIfNeeded: try sub.varint()))
                    case (35, 0): byteFallback = try sub.varint() != 0
                    case (24, 0): whitespaceAsSuffix = try sub.varint() != 0
                    default: try sub.skip(specWire)
                    }
                }
            case (3, 2):
                var sub = try reader.subMessage()
                while let (specField, specWire) = try sub.nextField() {
                    switch (specField, specWire) {
                    case (1, 2): normalizerName = String(decoding: try sub.lengthDelimited(), as: UTF8.self)
                    case (2, 2): precompiledCharsmapSize = try sub.lengthDelimited().count
                    case (3, 0): addDummyPrefix = try sub.varint() != 0
                    case (4, 0): removeExtraWhitespaces = try sub.varint() != 0
                    case (5, 0): escapeWhitespaces = try sub.varint() != 0
                    default: try sub.skip(specWire)
                    }
                }
            default:
                try reader.skip(wireType)
            }
        }
    }
}

extension SentencePieceProto {
    /// Parses a tokenizer.model, refusing anything but a BPE model with pieces.
    static func load(_ bytes: [UInt8], file: String) throws(TLTokenizerError) -> SentencePieceProto {
        let model: SentencePieceProto
        do {
            model = try SentencePieceProto(bytes)
        } catch {
            throw .malformedFile(file: file, location: "byte \(error.offset)", problem: "invalid protobuf: \(error.problem)")
        }
        guard !model.pieces.isEmpty else {
            throw .malformedFile(file: file, location: "field 1", problem: "no pieces (not a SentencePiece model?)")
        }
        guard model.modelType == 2 else {
            let name = model.modelType == 1 ? "Unigram" : "type \(model.modelType)"
            throw .unsupported(file: file, feature: "a SentencePiece \(name) model (tlsh reads BPE models)")
        }
        return model
    }
}

/// Protobuf wire-format reading over a byte range; every read is bounds-checked.
struct ProtobufReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    typealias DecodeError = SentencePieceProto.DecodeError

    mutating func varint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw DecodeError(offset: position, problem: "truncated varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw DecodeError(offset: position, problem: "varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    /// The next (field number, wire type), or nil at the end.
    mutating func nextField() throws(DecodeError) -> (Int, Int)? {
        guard position < end else { return nil }
        let key = try varint()
        let field = key >> 3
        guard field > 0, field < 1 << 29 else { throw DecodeError(offset: position, problem: "invalid field number \(field)") }
        return (Int(field), Int(key & 7))
    }

    mutating func lengthDelimited() throws(DecodeError) -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw DecodeError(offset: position, problem: "length \(length) runs past the end")
        }
        let start = position
        position += Int(length)
        return bytes[start..<position]
    }

    mutating func subMessage() throws(DecodeError) -> ProtobufReader {
        let slice = try lengthDelimited()
        return ProtobufReader(bytes: bytes, position: slice.startIndex, end: slice.endIndex)
    }

    mutating func fixed32() throws(DecodeError) -> UInt32 {
        guard end - position >= 4 else { throw DecodeError(offset: position, problem: "truncated fixed32") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(bytes[position + offset]) << (8 * UInt32(offset)) }
        position += 4
        return value
    }

    mutating func skip(_ wireType: Int) throws(DecodeError) {
        switch wireType {
        case 0: _ = try varint()
        case 1:
            guard end - position >= 8 else { throw DecodeError(offset: position, problem: "truncated fixed64") }
            position += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw DecodeError(offset: position, problem: "unsupported wire type \(wireType)")
        }
    }
}
