import Foundation
import Synchronization

/// GPT-2's byte-level BPE tokenizer, producing the same ids as tiktoken and Hugging Face `tokenizers`.
///
/// Encoding: split the text at added/special tokens (e.g. `<|endoftext|>`, recognised anywhere in the
/// input), pre-tokenize each remaining stretch with GPT-2's regex, then merge each piece's bytes by rank.
/// Token ids are `Int`s in `0..<vocabSize`. Safe to share between threads; pieces already seen are cached.
public final class GPT2Tokenizer: Sendable {
    let encoder: BytePairEncoder
    /// Raw bytes of every id, flattened: id `i` spans `tokenByteStorage[tokenByteOffsets[i]..<tokenByteOffsets[i+1]]`.
    let tokenByteStorage: [UInt8]
    let tokenByteOffsets: [Int32]
    let addedTokens: AddedTokenMatcher
    let addPrefixSpace: Bool
    let useRegex: Bool
    /// Only for tokenizer.json files with `model.ignore_merges`; otherwise nil.
    let wholePieceIDs: [[UInt8]: Int32]?
    let pieceCache = Mutex(PieceCache())

    /// Number of ids (largest id + 1); 50257 for GPT-2.
    public let vocabSize: Int
    /// Id TransformerLens prepends as BOS: `<|endoftext|>` (50256) for GPT-2.
    public let bosTokenID: Int
    /// End-of-text id: `<|endoftext|>` (50256) for GPT-2.
    public let eosTokenID: Int

    /// Loads from GPT-2's vocab.json + merges.txt. `addedTokens` (content -> id) are matched inside input text.
    public convenience init(vocabJSON: Data, mergesText: String,
                            addedTokens: [String: Int] = ["<|endoftext|>": 50256]) throws {
        var description = try TokenizerDescription.fromVocabAndMerges(
            vocabJSON: [UInt8](vocabJSON), mergesText: mergesText, vocabFile: "vocab.json", mergesFile: "merges.txt")
        description.addedTokens = addedTokens.sorted { $0.value < $1.value }
            .map { TokenizerDescription.AddedToken(content: $0.key, id: $0.value) }
        try self.init(description: description)
    }

    /// Loads from a Hugging Face `tokenizer.json` whose model is byte-level BPE.
    public convenience init(tokenizerJSON: Data) throws {
        try self.init(description: TokenizerDescription.fromTokenizerJSON([UInt8](tokenizerJSON), file: "tokenizer.json"))
    }

    /// Loads the tokenizer of a model directory: `tokenizer.json` if present, else `vocab.json` + `merges.txt`
    /// (plus `added_tokens.json` if present). `tokenizer_config.json`, if present, may name bos/eos tokens.
    public static func load(directory: URL) throws -> GPT2Tokenizer {
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        let vocabJSON = directory.appendingPathComponent("vocab.json")
        let mergesText = directory.appendingPathComponent("merges.txt")
        let fileManager = FileManager.default
        var description: TokenizerDescription
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            description = try TokenizerDescription.fromTokenizerJSON(try readBytes(tokenizerJSON), file: tokenizerJSON.path)
        } else if fileManager.fileExists(atPath: vocabJSON.path), fileManager.fileExists(atPath: mergesText.path) {
            let merges = String(decoding: try readBytes(mergesText), as: UTF8.self)
            description = try TokenizerDescription.fromVocabAndMerges(
                vocabJSON: try readBytes(vocabJSON), mergesText: merges, vocabFile: vocabJSON.path, mergesFile: mergesText.path)
            description.addedTokens = try readAddedTokensFile(directory.appendingPathComponent("added_tokens.json"))
        } else {
            throw TLTokenizerError.missingTokenizerFiles(directory: directory.path)
        }
        let names = try readSpecialTokenNames(directory.appendingPathComponent("tokenizer_config.json"))
        return try GPT2Tokenizer(description: description, bosName: names.bos, eosName: names.eos)
    }

    init(description: TokenizerDescription, bosName: String? = nil, eosName: String? = nil) throws(TLTokenizerError) {
        let tables = try TokenizerTables(description)
        encoder = tables.encoder
        tokenByteStorage = tables.byteStorage
        tokenByteOffsets = tables.byteOffsets
        addedTokens = tables.addedTokens
        addPrefixSpace = description.addPrefixSpace
        useRegex = description.useRegex
        wholePieceIDs = description.ignoreMerges ? tables.idsByBytes : nil
        vocabSize = tables.byteOffsets.count - 1
        let endOfText = tables.idsByContent["<|endoftext|>"]
        let firstSpecial = description.addedTokens.first(where: { $0.special })?.id
        let fallback = endOfText ?? firstSpecial ?? 0
        bosTokenID = bosName.flatMap { tables.idsByContent[$0] } ?? fallback
        eosTokenID = eosName.flatMap { tables.idsByContent[$0] } ?? fallback
    }

    // MARK: Encoding

    /// Token ids of `text` (no BOS added). Special tokens written in the text become their ids.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { bytes in
            var output: [Int32] = []
            output.reserveCapacity(bytes.count / 3 + 4)
            encode(bytes, into: &output)
            return output.map { Int($0) }
        }
    }

    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        var scratch = BytePairEncoder.Scratch()
        var segmentStart = 0
        var index = 0
        while index < bytes.count {
            guard addedTokens.mayStart(with: bytes[index]), let match = addedTokens.match(bytes, at: index) else {
                index += 1
                continue
            }
            let segmentEnd = match.leftStrip ? addedTokens.trimWhitespace(before: index, in: bytes, notBefore: segmentStart)
                                             : index
            encodeOrdinary(bytes, segmentStart..<segmentEnd, into: &output, scratch: &scratch)
            output.append(match.id)
            index += match.length
            if match.rightStrip { index = addedTokens.skipWhitespace(from: index, in: bytes) }
            segmentStart = index
        }
        encodeOrdinary(bytes, segmentStart..<bytes.count, into: &output, scratch: &scratch)
    }

    /// Encodes text that contains no added tokens.
    private func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [Int32],
                                scratch: inout BytePairEncoder.Scratch) {
        guard !range.isEmpty else { return }
        if addPrefixSpace && bytes[range.lowerBound] != 0x20 {
            // Rare (tokenizer.json with add_prefix_space): encode a copy that starts with a space.
            let prefixed = [0x20] + Array(bytes[range])
            prefixed.withUnsafeBufferPointer { copy in
                encodeRegexPieces(copy, 0..<copy.count, into: &output, scratch: &scratch)
            }
            return
        }
        encodeRegexPieces(bytes, range, into: &output, scratch: &scratch)
    }

    private func encodeRegexPieces(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [Int32],
                                   scratch: inout BytePairEncoder.Scratch) {
        guard useRegex else {
            encodePiece(UnsafeBufferPointer(rebasing: bytes[range]), into: &output, scratch: &scratch)
            return
        }
        var pieces = PreTokenizer.Pieces(bytes, from: range.lowerBound, to: range.upperBound)
        while let piece = pieces.next() {
            encodePiece(UnsafeBufferPointer(rebasing: bytes[piece]), into: &output, scratch: &scratch)
        }
    }

    @inline(__always)
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32],
                             scratch: inout BytePairEncoder.Scratch) {
        if piece.count == 1 {
            output.append(encoder.byteTokenIDs[Int(piece[0])])
            return
        }
        if let wholePieceIDs, let id = wholePieceIDs[Array(piece)] {
            output.append(id)
            return
        }
        guard let key = PieceCache.Key(piece) else {
            encoder.encode(piece, into: &output, scratch: &scratch)
            return
        }
        if let cached = pieceCache.withLock({ $0.lookup(key) }) {
            cached.append(to: &output)
            return
        }
        let start = output.count
        encoder.encode(piece, into: &output, scratch: &scratch)
        let entry = PieceCache.Entry(output[start...])
        pieceCache.withLock { $0.store(entry, for: key) }
    }

    // MARK: Decoding

    /// Text of `ids`, concatenating each token's bytes; bytes that are not valid UTF-8 (a multi-byte
    /// character split across tokens) become U+FFFD, as Hugging Face's decoder does. Unknown ids are skipped.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < vocabSize {
            let start = Int(tokenByteOffsets[id])
            let end = Int(tokenByteOffsets[id + 1])
            bytes.append(contentsOf: tokenByteStorage[start..<end])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One token decoded on its own (as TransformerLens shows tokens); partial characters become U+FFFD.
    public func tokenString(_ id: Int) -> String { decode([id]) }

    /// Raw bytes of one token (empty for an unknown id).
    public func tokenBytes(_ id: Int) -> [UInt8] {
        guard id >= 0 && id < vocabSize else { return [] }
        return Array(tokenByteStorage[Int(tokenByteOffsets[id])..<Int(tokenByteOffsets[id + 1])])
    }

    // MARK: File helpers

    private static func readBytes(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw TLTokenizerError.unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    /// added_tokens.json: `{"content": id, ...}`, written by Hugging Face's slow tokenizers.
    private static func readAddedTokensFile(_ url: URL) throws -> [TokenizerDescription.AddedToken] {
        guard FileManager.default.fileExists(atPath: url.path) else {
            return [TokenizerDescription.AddedToken(content: "<|endoftext|>", id: 50256)]
        }
        let value: JSONValue
        do {
            value = try JSONReader.parse(try readBytes(url))
        } catch let error as JSONSyntaxError {
            throw TLTokenizerError.malformedFile(file: url.path, location: error.location, problem: error.problem)
        }
        return try TokenizerDescription.readVocabulary(value, file: url.path, keyPath: "the top level")
            .sorted { $0.id < $1.id }
            .map { TokenizerDescription.AddedToken(content: $0.token, id: $0.id) }
    }

    /// bos_token / eos_token from tokenizer_config.json (a string or an object with "content").
    private static func readSpecialTokenNames(_ url: URL) throws -> (bos: String?, eos: String?) {
        guard FileManager.default.fileExists(atPath: url.path) else { return (nil, nil) }
        let value: JSONValue
        do {
            value = try JSONReader.parse(try readBytes(url))
        } catch let error as JSONSyntaxError {
            throw TLTokenizerError.malformedFile(file: url.path, location: error.location, problem: error.problem)
        }
        func name(_ key: String) -> String? {
            switch value[key] {
            case .string(let text)?: return text
            case .object?: if case .string(let text)? = value[key]?["content"] { return text } else { return nil }
            default: return nil
            }
        }
        return (name("bos_token"), name("eos_token"))
    }
}
