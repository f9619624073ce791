/// Parsing of the two on-disk formats into one description of a byte-level BPE tokenizer:
/// GPT-2's original pair `vocab.json` + `merges.txt`, and Hugging Face's single `tokenizer.json`.
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
    }

    var vocabulary: [(token: String, id: Int)] = []
    var merges: [Merge] = []
    var addedTokens: [AddedToken] = []
    /// ByteLevel pre-tokenizer options (GPT-2: no prefix space, regex on).
    var addPrefixSpace = false
    var useRegex = true
    /// tokenizer.json `model.ignore_merges`: a piece that is a whole vocabulary entry is taken as is.
    var ignoreMerges = false
    /// Names used in error messages.
    var vocabularyFile = "vocab.json"
    var mergesFile = "merges.txt"
}

extension TokenizerDescription {
    /// Reads vocab.json (token -> id object) and merges.txt ("left right" per line, "#version" lines skipped).
    static func fromVocabAndMerges(vocabJSON: [UInt8], mergesText: String, vocabFile: String,
                                   mergesFile: String) throws(TLTokenizerError) -> TokenizerDescription {
        var description = TokenizerDescription(vocabularyFile: vocabFile, mergesFile: mergesFile)
        let root: JSONValue
        do {
            root = try JSONReader.parse(vocabJSON)
        } catch {
            throw .malformedFile(file: vocabFile, location: error.location, problem: error.problem)
        }
        description.vocabulary = try readVocabulary(root, file: vocabFile, keyPath: "the top level")
        description.merges = try readMergesText(mergesText, file: mergesFile)
        return description
    }

    static func readVocabulary(_ value: JSONValue, file: String,
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

    /// Reads a Hugging Face fast-tokenizer file whose model is byte-level BPE (GPT-2, GPT-Neo, Pythia...).
    static func fromTokenizerJSON(_ bytes: [UInt8], file: String) throws(TLTokenizerError) -> TokenizerDescription {
        let root: JSONValue
        do {
            root = try JSONReader.parse(bytes)
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
        guard let vocab = model["vocab"] else {
            throw .malformedFile(file: file, location: "key \"model.vocab\"", problem: "missing the vocabulary")
        }
        description.vocabulary = try readVocabulary(vocab, file: file, keyPath: "key \"model.vocab\"")
        description.merges = try readMergesJSON(model["merges"] ?? .array([]), file: file)
        description.addedTokens = try readAddedTokens(root["added_tokens"] ?? .array([]), file: file)
        try readPreTokenizer(root, file: file, into: &description)
        return description
    }

    private static func rejectUnsupportedModelOptions(_ model: JSONValue, file: String) throws(TLTokenizerError) {
        if case .bool(true)? = model["byte_fallback"] {
            throw .unsupported(file: file, feature: "model.byte_fallback (SentencePiece-style BPE)")
        }
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

    private static func readMergesJSON(_ value: JSONValue, file: String) throws(TLTokenizerError) -> [Merge] {
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

    private static func readAddedTokens(_ value: JSONValue, file: String) throws(TLTokenizerError) -> [AddedToken] {
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
            if case .bool(true)? = entry["single_word"] {
                throw .unsupported(file: file, feature: "added token \(quoteForMessage(content)) with single_word")
            }
            var token = AddedToken(content: content, id: id)
            if case .bool(let flag)? = entry["lstrip"] { token.leftStrip = flag }
            if case .bool(let flag)? = entry["rstrip"] { token.rightStrip = flag }
            if case .bool(let flag)? = entry["special"] { token.special = flag }
            tokens.append(token)
        }
        return tokens
    }

    /// Accepts no normalizer and a ByteLevel pre-tokenizer (alone or as the only step of a Sequence).
    private static func readPreTokenizer(_ root: JSONValue, file: String,
                                         into description: inout TokenizerDescription) throws(TLTokenizerError) {
        if let normalizer = root["normalizer"], case .object = normalizer {
            let name: String
            if case .string(let type)? = normalizer["type"] { name = type } else { name = "unknown" }
            throw .unsupported(file: file, feature: "normalizer \(quoteForMessage(name))")
        }
        guard var preTokenizer = root["pre_tokenizer"], case .object = preTokenizer else {
            throw .unsupported(file: file, feature: "a missing pre_tokenizer (GPT-2 uses ByteLevel)")
        }
        if case .string("Sequence")? = preTokenizer["type"], case .array(let steps)? = preTokenizer["pre_tokenizers"],
           steps.count == 1 {
            preTokenizer = steps[0]
        }
        guard case .string(let type)? = preTokenizer["type"], type == "ByteLevel" else {
            let name: String
            if case .string(let type)? = preTokenizer["type"] { name = type } else { name = "unknown" }
            throw .unsupported(file: file, feature: "pre_tokenizer \(quoteForMessage(name))")
        }
        if case .bool(let flag)? = preTokenizer["add_prefix_space"] { description.addPrefixSpace = flag }
        if case .bool(let flag)? = preTokenizer["use_regex"] { description.useRegex = flag }
    }
}
