import TLCore

/// Parsing of the on-disk formats into one description of a BPE tokenizer pipeline: GPT-2's original pair
/// `vocab.json` + `merges.txt` (one fixed configuration), and Hugging Face's `tokenizer.json`.
struct TokenizerDescription {
    struct Merge {
        let left: String
        let right: String
        /// Where the merge was read, for error messages ("line 7" / "model.merges[5]").
        let location: String
    }

    struct AddedToken {
        let content: String
        let id: Int
        var leftStrip = false
        var rightStrip = false
        var special = true
        /// Matched in the normalized text (after the normalizer) rather than the raw input.
        var normalized = false
        /// Matched only where not preceded or followed by a word character.
        var singleWord = false
    }

    var vocabulary: [(token: String, id: Int)] = []
    var merges: [Merge] = []
    var addedTokens: [AddedToken] = []
    /// The stages around the model; the defaults are GPT-2's.
    var normalizer: [NormalizerStep] = []
    var preTokenizer: [PreTokenizerStep] = [.byteLevel(addPrefixSpace: false, useRegex: true)]
    var decoder: [DecoderStep] = [.byteLevel]
    /// Post-processor template for one sequence (nil: none), used by `encode(_:addSpecialTokens: true)`.
    var template: [TemplatePiece]?
    /// BPE model options for SentencePiece-style vocabularies.
    var byteFallback = false
    var unknownToken: String?
    var fuseUnknown = false
    /// tokenizer.json `model.ignore_merges`: a piece that is a whole vocabulary entry is taken as is.
    var ignoreMerges = false
    /// BOS / EOS named by the file itself (a SentencePiece model's bos_id / eos_id), used when
    /// tokenizer_config.json names none.
    var defaultBOS: String?
    var defaultEOS: String?
    /// Names used in error messages.
    var vocabularyFile = "vocab.json"
    var mergesFile = "merges.txt"
}

extension TokenizerDescription {
    /// Reads vocab.json (token -> id object) and merges.txt ("left right" per line, "#version" lines skipped).
    static func fromVocabAndMerges(vocabJSON: [UInt8], mergesText: String, vocabFile: String,
                                   mergesFile: String) throws(TLTokenizerError) -> TokenizerDescription {
        var description = TokenizerDescription(vocabularyFile: vocabFile, mergesFile: mergesFile)
        let root: JSON
        do {
            root = try JSON.parse(vocabJSON)
        } catch {
            throw .malformedFile(file: vocabFile, location: error.location, problem: error.problem)
        }
        description.vocabulary = try readVocabulary(root, file: vocabFile, keyPath: "the top level")
        description.merges = try readMergesText(mergesText, file: mergesFile)
        return description
    }

    static func readVocabulary(_ value: JSON, file: String,
                               keyPath: String) throws(TLTokenizerError) -> [(token: String, id: Int)] {
        guard case .object(let members) = value else {
            throw .malformedFile(file: file, location: keyPath,
                                 problem: "expected an object mapping token strings to ids, found \(value.typeName)")
        }
        var vocabulary: [(token: String, id: Int)] = []
        vocabulary.reserveCapacity(members.count)
        for (token, idValue) in members {
            guard case .integer(let id) = idValue, id >= 0, id < Int(Int32.max) else {
                throw .malformedFile(file: file, location: "key \(quoteForMessage(token))",
                                     problem: "token id must be a non-negative integer, found \(idValue.typeName)")
            }
            vocabulary.append((token, id))
        }
        return vocabulary
    }

    /// Splits on bytes rather than Characters: grapheme breaking over 50k lines would dominate load time.
    static func readMergesText(_ text: String, file: String) throws(TLTokenizerError) -> [Merge] {
        let bytes = Array(text.utf8)
        var merges: [Merge] = []
        merges.reserveCapacity(50_000)
        var lineNumber = 0
        var lineStart = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let nextLine = lineEnd + 1
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[lineStart..<lineEnd]
            lineStart = nextLine
            if line.isEmpty || line.starts(with: "#version".utf8) { continue }
            let spaces = line.indices.filter { bytes[$0] == 0x20 }
            guard spaces.count == 1, let space = spaces.first, space > line.startIndex, space < line.endIndex - 1 else {
                let shown = String(decoding: line, as: UTF8.self)
                throw .malformedFile(file: file, location: "line \(lineNumber)",
                                     problem: "expected two tokens separated by one space, found \(quoteForMessage(shown))")
            }
            merges.append(Merge(left: String(decoding: bytes[line.startIndex..<space], as: UTF8.self),
                                right: String(decoding: bytes[(space + 1)..<line.endIndex], as: UTF8.self),
                                location: "line \(lineNumber)"))
        }
        return merges
    }

    /// Reads a Hugging Face fast-tokenizer file whose model is BPE (byte-level as in GPT-2, Llama-3, Qwen2,
    /// Pythia, or SentencePiece-style with byte fallback as in Llama-2, Mistral, Gemma).
    static func fromTokenizerJSON(_ bytes: [UInt8], file: String) throws(TLTokenizerError) -> TokenizerDescription {
        let root: JSON
        do {
            root = try JSON.parse(bytes)
        } catch {
            throw .malformedFile(file: file, location: error.location, problem: error.problem)
        }
        var description = TokenizerDescription(vocabularyFile: file, mergesFile: file)
        guard let model = root["model"], case .object = model else {
            throw .malformedFile(file: file, location: "key \"model\"", problem: "missing the \"model\" object")
        }
        if let type = model["type"], case .string(let name) = type, name != "BPE" {
            throw .unsupported(file: file, feature: "model type \(quoteForMessage(name))")
        }
        try rejectUnsupportedModelOptions(model, file: file)
        if case .bool(true)? = model["ignore_merges"] { description.ignoreMerges = true }
        if case .bool(true)? = model["byte_fallback"] { description.byteFallback = true }
        if case .bool(true)? = model["fuse_unk"] { description.fuseUnknown = true }
        if case .string(let unknown)? = model["unk_token"] { description.unknownToken = unknown }
        guard let vocab = model["vocab"] else {
            throw .malformedFile(file: file, location: "key \"model.vocab\"", problem: "missing the vocabulary")
        }
        description.vocabulary = try readVocabulary(vocab, file: file, keyPath: "key \"model.vocab\"")
        description.merges = try readMergesJSON(model["merges"] ?? .array([]), file: file)
        description.addedTokens = try readAddedTokens(root["added_tokens"] ?? .array([]), file: file)
        description.normalizer = try readNormalizer(root["normalizer"] ?? .null, file: file)
        description.preTokenizer = try readPreTokenizer(root["pre_tokenizer"] ?? .null, file: file)
        description.decoder = try readDecoder(root["decoder"] ?? .null, file: file)
        description.template = try readPostProcessor(root["post_processor"] ?? .null, file: file)
        return description
    }

    private static func rejectUnsupportedModelOptions(_ model: JSON, file: String) throws(TLTokenizerError) {
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if case .string(let affix)? = model[key], !affix.isEmpty {
                throw .unsupported(file: file, feature: "model.\(key) \(quoteForMessage(affix))")
            }
        }
        if let dropout = model["dropout"] {
            switch dropout {
            case .null: break
            case .double(let p) where p == 0: break
            case .integer(0): break
            default: throw .unsupported(file: file, feature: "BPE dropout (a training-time option)")
            }
        }
    }

    private static func readMergesJSON(_ value: JSON, file: String) throws(TLTokenizerError) -> [Merge] {
        guard case .array(let entries) = value else {
            throw .malformedFile(file: file, location: "key \"model.merges\"",
                                 problem: "expected an array, found \(value.typeName)")
        }
        var merges: [Merge] = []
        merges.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            let location = "key \"model.merges\"[\(index)]"
            switch entry {
            case .string(let text):  // legacy form "left right"
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw .malformedFile(file: file, location: location,
                                         problem: "expected \"left right\", found \(quoteForMessage(text))")
                }
                merges.append(Merge(left: String(parts[0]), right: String(parts[1]), location: location))
            case .array(let pair):  // current form ["left", "right"]
                guard pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] else {
                    throw .malformedFile(file: file, location: location, problem: "expected a pair of two strings")
                }
                merges.append(Merge(left: left, right: right, location: location))
            default:
                throw .malformedFile(file: file, location: location,
                                     problem: "expected a string or a pair of strings, found \(entry.typeName)")
            }
        }
        return merges
    }

    private static func readAddedTokens(_ value: JSON, file: String) throws(TLTokenizerError) -> [AddedToken] {
        guard case .array(let entries) = value else {
            throw .malformedFile(file: file, location: "key \"added_tokens\"",
                                 problem: "expected an array, found \(value.typeName)")
        }
        var tokens: [AddedToken] = []
        for (index, entry) in entries.enumerated() {
            let location = "key \"added_tokens\"[\(index)]"
            guard case .string(let content)? = entry["content"], !content.isEmpty,
                  case .integer(let id)? = entry["id"], id >= 0, id < Int(Int32.max) else {
                throw .malformedFile(file: file, location: location,
                                     problem: "each added token needs a non-empty \"content\" and a non-negative \"id\"")
            }
            var token = AddedToken(content: content, id: id)
            if case .bool(let flag)? = entry["lstrip"] { token.leftStrip = flag }
            if case .bool(let flag)? = entry["rstrip"] { token.rightStrip = flag }
            if case .bool(let flag)? = entry["special"] { token.special = flag }
            if case .bool(let flag)? = entry["normalized"] { token.normalized = flag }
            if case .bool(let flag)? = entry["single_word"] { token.singleWord = flag }
            tokens.append(token)
        }
        return tokens
    }
}
