import Foundation
import TLCore
import Synchronization

/// A Hugging Face tokenizer pipeline, producing the same ids and text as the `tokenizers` library.
///
/// Encoding: split the input at added tokens that match the raw text (e.g. `<|endoftext|>`, `<s>`), normalize
/// each stretch between them (NFC, "▁" for spaces...), split it at added tokens that match normalized text,
/// pre-tokenize the rest (GPT-2 / Llama-3 / Qwen2 regexes, Metaspace, Digits, literal splits), and merge each
/// piece's bytes or scalars by rank (BPE, with byte fallback and unk where the file asks for them).
/// Every stage is configured by the file's declared component types; GPT-2's vocab.json + merges.txt is one
/// such configuration. Token ids are `Int`s in `0..<vocabSize`. Safe to share between threads; pieces
/// already seen are cached.
public final class Tokenizer: Sendable {
    let encoder: BytePairEncoder
    /// Raw bytes of every id through the ByteLevel decoder, flattened: id `i` spans
    /// `tokenByteStorage[tokenByteOffsets[i]..<tokenByteOffsets[i+1]]`.
    let tokenByteStorage: [UInt8]
    let tokenByteOffsets: [Int32]
    let tokenStrings: [String]
    let rawAddedTokens: AddedTokenMatcher
    let normalizedAddedTokens: AddedTokenMatcher
    let normalizer: [NormalizerStep]
    let pipeline: PreTokenizerPipeline
    let decoder: [DecoderStep]
    /// The decoder is exactly ByteLevel, so ids decode by concatenating their bytes.
    let decodesByteLevel: Bool
    let template: [TemplatePiece]?
    /// Only for tokenizer.json files with `model.ignore_merges`; otherwise nil.
    let wholePieceIDs: [[UInt8]: Int32]?
    let idsByContent: IDsByContent
    let pieceCache = Mutex(PieceCache())
    /// Set only for a tokenizer.model loaded in SentencePiece's own mode: `encode` is then SentencePiece's
    /// `encode` (see SentencePieceEncoder) instead of the converted pipeline; decoding is unchanged.
    let sentencePieceNative: SentencePieceEncoder?

    /// Number of ids (largest id + 1); 50257 for GPT-2.
    public let vocabSize: Int
    /// Id TransformerLens prepends as BOS: the tokenizer's bos_token, or its eos_token where it has none
    /// (Qwen2), as TransformerLens's `set_tokenizer` does; `<|endoftext|>` (50256) for GPT-2.
    public let bosTokenID: Int
    /// End-of-text id: eos_token, or `<|endoftext|>` (50256 for GPT-2).
    public let eosTokenID: Int
    /// TransformerLens's `default_prepend_bos` for the model family (from config.json's model_type):
    /// false for GPT-NeoX/Pythia, Qwen, Phi, Bloom and the other families TL 3.9 lists; true otherwise.
    public let prependsBOSByDefault: Bool

    /// Loads from GPT-2's vocab.json + merges.txt. `addedTokens` (content -> id) are matched inside input text.
    public convenience init(vocabJSON: Data, mergesText: String,
                            addedTokens: [String: Int] = ["<|endoftext|>": 50256]) throws {
        var description = try TokenizerDescription.fromVocabAndMerges(
            vocabJSON: [UInt8](vocabJSON), mergesText: mergesText, vocabFile: "vocab.json", mergesFile: "merges.txt")
        description.addedTokens = addedTokens.sorted { $0.value < $1.value }
            .map { TokenizerDescription.AddedToken(content: $0.key, id: $0.value) }
        try self.init(description: description)
    }

    /// Loads from a SentencePiece `tokenizer.model` (BPE), as transformers converts it to a fast tokenizer.
    public convenience init(sentencePieceModel: Data) throws {
        try self.init(sentencePieceModel: sentencePieceModel, native: false)
    }

    /// Loads from a SentencePiece `tokenizer.model` (BPE). With `native`, `encode` gives what SentencePiece's own
    /// `SentencePieceProcessor.encode` gives (what `tlsh tokenize` prints for a directory with only
    /// tokenizer.model); without it, what transformers' converted fast tokenizer gives (what models use).
    public convenience init(sentencePieceModel: Data, native: Bool) throws {
        let bytes = [UInt8](sentencePieceModel)
        let description = try TokenizerDescription.fromSentencePieceModel(bytes, file: "tokenizer.model")
        let encoder = native ? try SentencePieceEncoder(SentencePieceProto.load(bytes, file: "tokenizer.model"),
                                                        file: "tokenizer.model") : nil
        try self.init(description: description, sentencePieceNative: encoder)
    }

    /// Loads from a Hugging Face `tokenizer.json` (BPE model).
    public convenience init(tokenizerJSON: Data) throws {
        try self.init(description: TokenizerDescription.fromTokenizerJSON([UInt8](tokenizerJSON), file: "tokenizer.json"))
    }

    /// Loads the tokenizer of a model directory: `tokenizer.json` if present, else `vocab.json` + `merges.txt`
    /// (plus `added_tokens.json` if present), else a SentencePiece BPE `tokenizer.model` (read as transformers
    /// converts it). `tokenizer_config.json`, if present, names bos/eos tokens;
    /// `config.json`, if present, gives the family (model_type) for `prependsBOSByDefault`.
    ///
    /// With `sentencePieceNative`, a directory whose tokenizer is a tokenizer.model (no tokenizer.json, no
    /// vocab.json + merges.txt) encodes as SentencePiece's own `encode` does (`tlsh tokenize`); models keep the
    /// default, transformers' conversion, which is what TransformerLens tokenizes with.
    public static func load(directory: URL, sentencePieceNative: Bool = false) throws -> Tokenizer {
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        let vocabJSON = directory.appendingPathComponent("vocab.json")
        let mergesText = directory.appendingPathComponent("merges.txt")
        let sentencePiece = directory.appendingPathComponent("tokenizer.model")
        let fileManager = FileManager.default
        var description: TokenizerDescription
        var nativeEncoder: SentencePieceEncoder?
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            description = try TokenizerDescription.fromTokenizerJSON(try readBytes(tokenizerJSON), file: tokenizerJSON.path)
        } else if fileManager.fileExists(atPath: vocabJSON.path), fileManager.fileExists(atPath: mergesText.path) {
            let merges = String(decoding: try readBytes(mergesText), as: UTF8.self)
            description = try TokenizerDescription.fromVocabAndMerges(
                vocabJSON: try readBytes(vocabJSON), mergesText: merges, vocabFile: vocabJSON.path, mergesFile: mergesText.path)
            description.addedTokens = try readAddedTokensFile(directory.appendingPathComponent("added_tokens.json"))
        } else if fileManager.fileExists(atPath: sentencePiece.path) {
            let bytes = try readBytes(sentencePiece)
            description = try TokenizerDescription.fromSentencePieceModel(bytes, file: sentencePiece.path)
            if sentencePieceNative {
                nativeEncoder = try SentencePieceEncoder(SentencePieceProto.load(bytes, file: sentencePiece.path),
                                                         file: sentencePiece.path)
            }
        } else {
            throw TLTokenizerError.missingTokenizerFiles(directory: directory.path)
        }
        let names = try readSpecialTokenNames(directory.appendingPathComponent("tokenizer_config.json"))
        let family = try readModelType(directory.appendingPathComponent("config.json"))
        return try Tokenizer(description: description, bosName: names.bos ?? description.defaultBOS,
                             eosName: names.eos ?? description.defaultEOS,
                             prependsBOS: family.map(Self.familyPrependsBOS) ?? true, sentencePieceNative: nativeEncoder)
    }

    /// TransformerLens 3.9 sets `default_prepend_bos = False` for these families (model_type in config.json).
    static let familiesWithoutBOS: Set<String> = [
        "gpt_neox", "qwen", "qwen2", "qwen2_moe", "qwen2_5_vl", "qwen3", "qwen3_moe", "qwen3_vl", "phi", "phimoe",
        "bloom", "mpt", "granite", "starcoder2", "glm", "glm4", "glm4_moe", "glm4v", "exaone", "exaone4",
        "smollm3", "ernie4_5", "ernie4_5_moe", "seed_oss", "minimax_m2", "recurrent_gemma", "llada",
    ]

    static func familyPrependsBOS(_ modelType: String) -> Bool { !familiesWithoutBOS.contains(modelType) }

    init(description: TokenizerDescription, bosName: String? = nil, eosName: String? = nil,
         prependsBOS: Bool = true, sentencePieceNative: SentencePieceEncoder? = nil) throws(TLTokenizerError) {
        self.sentencePieceNative = sentencePieceNative
        let tables = try TokenizerTables(description)
        encoder = tables.encoder
        tokenByteStorage = tables.byteStorage
        tokenByteOffsets = tables.byteOffsets
        tokenStrings = tables.tokenStrings
        rawAddedTokens = tables.rawAddedTokens
        normalizedAddedTokens = tables.normalizedAddedTokens
        normalizer = description.normalizer
        pipeline = try PreTokenizerPipeline(description.preTokenizer, file: description.vocabularyFile)
        decoder = description.decoder
        if description.decoder.count == 1, case .byteLevel = description.decoder[0] {
            decodesByteLevel = true
        } else {
            decodesByteLevel = false
        }
        template = description.template
        wholePieceIDs = description.ignoreMerges ? tables.idsByBytes : nil
        idsByContent = tables.idsByContent
        vocabSize = tables.tokenStrings.count
        let endOfText = tables.idsByContent["<|endoftext|>"]
        let firstSpecial = description.addedTokens.first(where: { $0.special })?.id
        let fallback = endOfText ?? firstSpecial ?? 0
        let eos = eosName.flatMap { tables.idsByContent[$0] } ?? fallback
        eosTokenID = eos
        // TransformerLens: bos_token = eos_token when the tokenizer has none.
        bosTokenID = bosName.flatMap { tables.idsByContent[$0] } ?? (eosName == nil ? fallback : eos)
        prependsBOSByDefault = prependsBOS
    }

    // MARK: Encoding

    /// Token ids of `text` (no BOS added: `tokenizers`' encode with add_special_tokens=False). Added and
    /// special tokens written in the text become their ids.
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { bytes in
            var output: [Int32] = []
            output.reserveCapacity(bytes.count / 3 + 4)
            encode(bytes, into: &output)
            return output.map { Int($0) }
        }
    }

    /// Token ids of `text`; with `addSpecialTokens`, wrapped by the file's post-processor template (e.g.
    /// `<|begin_of_text|>` or `<s>` first), as `tokenizers`' encode with add_special_tokens=True.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        let ids = encode(text)
        guard addSpecialTokens, let template else { return ids }
        return template.flatMap { piece -> [Int] in
            switch piece {
            case .special(let special): return special
            case .sequence: return ids
            }
        }
    }

    /// Id of a vocabulary entry or added token spelled exactly `token` (e.g. "<|im_end|>"), if any.
    public func tokenID(of token: String) -> Int? { idsByContent[token] }

    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if let sentencePieceNative {
            sentencePieceNative.encode(bytes, into: &output)
            return
        }
        var scratch = BytePairEncoder.Scratch()
        AddedTokenMatcher.split(bytes, 0..<bytes.count, by: rawAddedTokens, token: { output.append($0) }) { segment in
            encodeSegment(bytes, segment, into: &output, scratch: &scratch)
        }
    }

    /// One stretch of input between raw-matched added tokens: normalize, split at normalized added tokens,
    /// pre-tokenize and encode.
    private func encodeSegment(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [Int32],
                               scratch: inout BytePairEncoder.Scratch) {
        guard !range.isEmpty else { return }
        let atTextStart = range.lowerBound == 0
        if normalizer.isEmpty {
            if normalizedAddedTokens.isEmpty {
                preTokenizeAndEncode(bytes, range, atTextStart: atTextStart, into: &output, scratch: &scratch)
                return
            }
            AddedTokenMatcher.split(bytes, range, by: normalizedAddedTokens, token: { output.append($0) }) { piece in
                preTokenizeAndEncode(bytes, piece, atTextStart: piece.lowerBound == 0, into: &output, scratch: &scratch)
            }
            return
        }
        let normalized = Normalization.apply(normalizer, to: Array(bytes[range]))
        normalized.withUnsafeBufferPointer { buffer in
            AddedTokenMatcher.split(buffer, 0..<buffer.count, by: normalizedAddedTokens, token: { output.append($0) }) { piece in
                preTokenizeAndEncode(buffer, piece, atTextStart: atTextStart && piece.lowerBound == 0, into: &output,
                                     scratch: &scratch)
            }
        }
    }

    /// The pre-tokenizer's rewriting (prefix space, Metaspace), then its splits, then BPE on each piece.
    private func preTokenizeAndEncode(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, atTextStart: Bool,
                                      into output: inout [Int32], scratch: inout BytePairEncoder.Scratch) {
        guard !range.isEmpty else { return }
        if let rewritten = pipeline.rewrite(bytes, range, atTextStart: atTextStart) {
            rewritten.withUnsafeBufferPointer { copy in
                split(copy, 0..<copy.count, step: 0, into: &output, scratch: &scratch)
            }
            return
        }
        split(bytes, range, step: 0, into: &output, scratch: &scratch)
    }

    private func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, step: Int, into output: inout [Int32],
                       scratch: inout BytePairEncoder.Scratch) {
        guard step < pipeline.splits.count else {
            if !range.isEmpty { encodePiece(UnsafeBufferPointer(rebasing: bytes[range]), into: &output, scratch: &scratch) }
            return
        }
        let splitStep = pipeline.splits[step]
        let last = step + 1 == pipeline.splits.count
        if splitStep.tilesInOrder {
            // The common case (GPT-2, Llama-3, Qwen2): the regex's matches are the pieces.
            switch splitStep.pattern {
            case .gpt2:
                var pieces = PreTokenizer.Pieces(bytes, from: range.lowerBound, to: range.upperBound)
                while let piece = pieces.next() {
                    if last {
                        encodePiece(UnsafeBufferPointer(rebasing: bytes[piece]), into: &output, scratch: &scratch)
                    } else {
                        split(bytes, piece, step: step + 1, into: &output, scratch: &scratch)
                    }
                }
                return
            case .llama3(let maxDigits):
                var pieces = Llama3Pieces(bytes, from: range.lowerBound, to: range.upperBound, maxDigits: maxDigits)
                while let piece = pieces.next() {
                    if last {
                        encodePiece(UnsafeBufferPointer(rebasing: bytes[piece]), into: &output, scratch: &scratch)
                    } else {
                        split(bytes, piece, step: step + 1, into: &output, scratch: &scratch)
                    }
                }
                return
            default:
                break
            }
        }
        for piece in splitStep.pieces(bytes, range) {
            split(bytes, piece, step: step + 1, into: &output, scratch: &scratch)
        }
    }

    @inline(__always)
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32],
                             scratch: inout BytePairEncoder.Scratch) {
        if piece.count == 1 && encoder.byteLevel {
            output.append(encoder.byteTokenIDs[Int(piece[0])])
            return
        }
        if let wholePieceIDs, let id = wholePieceIDs[Array(piece)] {
            output.append(id)
            return
        }
        if encoder.splitsBeforeMetaspace && piece.count > PieceCache.Key.maximumLength {
            // SentencePiece-style text without a pre-tokenizer is one long piece: encode it word by word,
            // cutting where a run of "▁" (E2 96 81) starts.
            var start = 0
            var index = 1
            var afterMetaspace = piece.count >= 3 && piece[0] == 0xE2 && piece[1] == 0x96 && piece[2] == 0x81
            if afterMetaspace { index = 3 }
            while index < piece.count {
                if index + 2 < piece.count && piece[index] == 0xE2 && piece[index + 1] == 0x96 && piece[index + 2] == 0x81 {
                    if !afterMetaspace {
                        encodeCachedPiece(UnsafeBufferPointer(rebasing: piece[start..<index]), into: &output, scratch: &scratch)
                        start = index
                    }
                    afterMetaspace = true
                    index += 3
                } else {
                    afterMetaspace = false
                    index += 1
                }
            }
            encodeCachedPiece(UnsafeBufferPointer(rebasing: piece[start...]), into: &output, scratch: &scratch)
            return
        }
        encodeCachedPiece(piece, into: &output, scratch: &scratch)
    }

    @inline(__always)
    private func encodeCachedPiece(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32],
                                   scratch: inout BytePairEncoder.Scratch) {
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
        guard output.count > start else { return }  // a piece of unknown scalars without an unk token
        let entry = PieceCache.Entry(output[start...])
        pieceCache.withLock { $0.store(entry, for: key) }
    }

    // MARK: Decoding

    /// Text of `ids` through the file's decoder (`tokenizers`' decode with skip_special_tokens=False): for
    /// byte-level vocabularies each token's bytes, where bytes that are not valid UTF-8 (a multi-byte
    /// character split across tokens) become U+FFFD; for SentencePiece-style ones "▁" becomes a space and
    /// `<0xNN>` tokens their bytes. Unknown ids are skipped.
    public func decode(_ ids: [Int]) -> String {
        guard decodesByteLevel else {
            let tokens = ids.compactMap { id in id >= 0 && id < vocabSize && !tokenStrings[id].isEmpty ? tokenStrings[id] : nil }
            if decoder.isEmpty { return tokens.joined(separator: " ") }
            return Decoding.apply(decoder, to: tokens).joined()
        }
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

    /// The vocabulary spelling of one token (e.g. "Ġthe", "▁the", "<0x0A>"; empty for an unknown id).
    public func tokenSpelling(_ id: Int) -> String { id >= 0 && id < vocabSize ? tokenStrings[id] : "" }

    /// Raw bytes of one token through the ByteLevel decoder (empty for an unknown id).
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
        let value: JSON
        do {
            value = try JSON.parse(try readBytes(url))
        } catch let error as JSONSyntaxError {
            throw TLTokenizerError.malformedFile(file: url.path, location: error.location, problem: error.problem)
        }
        return try TokenizerDescription.readVocabulary(value, file: url.path, keyPath: "the top level")
            .sorted { $0.id < $1.id }
            .map { TokenizerDescription.AddedToken(content: $0.token, id: $0.id) }
    }

    /// model_type from config.json (nil when the file or the key is absent).
    private static func readModelType(_ url: URL) throws -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let value: JSON
        do {
            value = try JSON.parse(try readBytes(url))
        } catch let error as JSONSyntaxError {
            throw TLTokenizerError.malformedFile(file: url.path, location: error.location, problem: error.problem)
        }
        if case .string(let type)? = value["model_type"] { return type }
        return nil
    }

    /// bos_token / eos_token from tokenizer_config.json (a string or an object with "content").
    private static func readSpecialTokenNames(_ url: URL) throws -> (bos: String?, eos: String?) {
        guard FileManager.default.fileExists(atPath: url.path) else { return (nil, nil) }
        let value: JSON
        do {
            value = try JSON.parse(try readBytes(url))
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

/// Existing callers name the GPT-2 tokenizer; it is the general tokenizer in GPT-2's configuration.
public typealias GPT2Tokenizer = Tokenizer
