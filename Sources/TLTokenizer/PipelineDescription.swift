import TLCore

/// The stages of a Hugging Face tokenizer.json around the BPE model, as declared in the file by type and
/// parameters (never by model name): normalizer, pre-tokenizer, decoder and post-processor.
/// `TokenizerDescription` holds one of each; GPT-2's vocab.json + merges.txt is the configuration
/// "no normalizer, ByteLevel pre-tokenizer with GPT-2's regex, ByteLevel decoder".

/// One normalizer step; a `Sequence` is flattened into several.
enum NormalizerStep: Equatable, Sendable {
    case nfc, nfkc, nfd, nfkd, lowercase
    /// Prepends the text to a non-empty segment (Llama-2's "▁").
    case prepend(String)
    /// Replaces every occurrence of a literal string.
    case replace(pattern: String, content: String)
}

/// How a Split pre-tokenizer's matches become pieces (HF's `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// What a split step looks for.
enum SplitPattern: Equatable, Sendable {
    /// GPT-2's regex (ByteLevel's, also GPT-NeoX's).
    case gpt2
    /// Llama-3's regex; `maxDigits` is 3 for Llama-3 (`\p{N}{1,3}`) and 1 for Qwen2 (`\p{N}`).
    case llama3(maxDigits: Int)
    /// A literal string.
    case literal([UInt8])
    /// Every numeric scalar (Digits pre-tokenizer).
    case numeric
}

enum PrependScheme: String, Sendable {
    case always, first, never
}

/// One pre-tokenizer step; a `Sequence` is flattened into several.
enum PreTokenizerStep: Sendable {
    case split(SplitPattern, SplitBehavior, invert: Bool)
    /// ByteLevel: bytes become the model's symbols; with `useRegex` it also splits by GPT-2's pattern.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// Metaspace: spaces become `replacement`, which may be prepended, and pieces may split before it.
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
}

/// One decoder step; a `Sequence` is flattened into several. Each maps the list of token strings.
enum DecoderStep: Sendable {
    case byteLevel
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(pattern: String, content: String)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
}

/// One element of a post-processor template: a special token's ids, or the encoded sequence.
enum TemplatePiece: Sendable, Equatable {
    case special([Int])
    case sequence
}

extension TokenizerDescription {
    private static func typeName(_ value: JSON) -> String {
        if case .string(let type)? = value["type"] { return type }
        return "(no type)"
    }

    private static func pattern(_ value: JSON?, file: String, key: String) throws(TLTokenizerError)
        -> (literal: String?, regex: String?) {
        if case .string(let text)? = value?["String"] { return (text, nil) }
        if case .string(let text)? = value?["Regex"] { return (nil, text) }
        throw .malformedFile(file: file, location: "key \"\(key).pattern\"",
                             problem: "expected {\"String\": ...} or {\"Regex\": ...}")
    }

    private static func string(_ value: JSON?, default fallback: String) -> String {
        if case .string(let text)? = value { return text }
        return fallback
    }

    private static func flag(_ value: JSON?, default fallback: Bool) -> Bool {
        if case .bool(let flag)? = value { return flag }
        return fallback
    }

    private static func integer(_ value: JSON?, default fallback: Int) -> Int {
        if case .integer(let number)? = value { return number }
        return fallback
    }

    /// The steps of a (possibly nested) Sequence, whose list key differs between stage kinds.
    private static func sequenceMembers(_ value: JSON, keys: [String], file: String,
                                        key: String) throws(TLTokenizerError) -> [JSON] {
        for name in keys {
            if case .array(let members)? = value[name] { return members }
        }
        throw .malformedFile(file: file, location: "key \"\(key)\"", problem: "a Sequence needs a \"\(keys[0])\" array")
    }

    static func readNormalizer(_ value: JSON, file: String, key: String = "normalizer")
        throws(TLTokenizerError) -> [NormalizerStep] {
        if case .null = value { return [] }
        switch typeName(value) {
        case "Sequence":
            var steps: [NormalizerStep] = []
            for (index, member) in try sequenceMembers(value, keys: ["normalizers"], file: file, key: key).enumerated() {
                steps += try readNormalizer(member, file: file, key: "\(key).normalizers[\(index)]")
            }
            return steps
        case "NFC": return [.nfc]
        case "NFKC": return [.nfkc]
        case "NFD": return [.nfd]
        case "NFKD": return [.nfkd]
        case "Lowercase": return [.lowercase]
        case "Prepend": return [.prepend(string(value["prepend"], default: ""))]
        case "Replace":
            let found = try pattern(value["pattern"], file: file, key: key)
            guard let literal = found.literal, !literal.isEmpty else {
                throw .unsupported(file: file, feature: "normalizer Replace with a regex pattern \(quoteForMessage(found.regex ?? ""))")
            }
            return [.replace(pattern: literal, content: string(value["content"], default: ""))]
        case let other:
            throw .unsupported(file: file, feature: "normalizer \(quoteForMessage(other))")
        }
    }

    static func readPreTokenizer(_ value: JSON, file: String, key: String = "pre_tokenizer")
        throws(TLTokenizerError) -> [PreTokenizerStep] {
        if case .null = value { return [] }
        switch typeName(value) {
        case "Sequence":
            var steps: [PreTokenizerStep] = []
            let members = try sequenceMembers(value, keys: ["pretokenizers", "pre_tokenizers"], file: file, key: key)
            for (index, member) in members.enumerated() {
                steps += try readPreTokenizer(member, file: file, key: "\(key).pretokenizers[\(index)]")
            }
            return steps
        case "ByteLevel":
            return [.byteLevel(addPrefixSpace: flag(value["add_prefix_space"], default: true),
                               useRegex: flag(value["use_regex"], default: true))]
        case "Split":
            let found = try pattern(value["pattern"], file: file, key: key)
            let behaviorName = string(value["behavior"], default: "Isolated")
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw .malformedFile(file: file, location: "key \"\(key).behavior\"",
                                     problem: "unknown split behavior \(quoteForMessage(behaviorName))")
            }
            let splitPattern: SplitPattern
            if let literal = found.literal {
                splitPattern = .literal(Array(literal.utf8))
            } else if let regex = found.regex, let known = knownRegex(regex) {
                splitPattern = known
            } else {
                throw .unsupported(file: file, feature: "Split pre-tokenizer regex \(quoteForMessage(found.regex ?? "")) "
                                   + "(tlsh implements the GPT-2, Llama-3 and Qwen2 patterns)")
            }
            return [.split(splitPattern, behavior, invert: flag(value["invert"], default: false))]
        case "Digits":
            return [.split(.numeric, flag(value["individual_digits"], default: false) ? .isolated : .contiguous,
                           invert: false)]
        case "Metaspace":
            let replacement = string(value["replacement"], default: "\u{2581}")
            var scheme = PrependScheme.always
            if case .string(let name)? = value["prepend_scheme"] {
                guard let parsed = PrependScheme(rawValue: name) else {
                    throw .malformedFile(file: file, location: "key \"\(key).prepend_scheme\"",
                                         problem: "unknown prepend_scheme \(quoteForMessage(name))")
                }
                scheme = parsed
            } else if case .bool(false)? = value["add_prefix_space"] {
                scheme = .never  // files written before prepend_scheme existed
            }
            return [.metaspace(replacement: replacement, prependScheme: scheme,
                               split: flag(value["split"], default: true))]
        case let other:
            throw .unsupported(file: file, feature: "pre_tokenizer \(quoteForMessage(other))")
        }
    }

    /// The regexes with a hand-written matcher (an exact match of the published pattern text).
    static func knownRegex(_ regex: String) -> SplitPattern? {
        let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        switch regex {
        case llama3: return .llama3(maxDigits: 3)
        case qwen2: return .llama3(maxDigits: 1)
        case gpt2: return .gpt2
        default: return nil
        }
    }

    static func readDecoder(_ value: JSON, file: String, key: String = "decoder") throws(TLTokenizerError) -> [DecoderStep] {
        if case .null = value { return [] }
        switch typeName(value) {
        case "Sequence":
            var steps: [DecoderStep] = []
            for (index, member) in try sequenceMembers(value, keys: ["decoders"], file: file, key: key).enumerated() {
                steps += try readDecoder(member, file: file, key: "\(key).decoders[\(index)]")
            }
            return steps
        case "ByteLevel": return [.byteLevel]
        case "ByteFallback": return [.byteFallback]
        case "Fuse": return [.fuse]
        case "Strip":
            let content = string(value["content"], default: " ")
            guard content.unicodeScalars.count == 1, let character = content.unicodeScalars.first else {
                throw .malformedFile(file: file, location: "key \"\(key).content\"", problem: "expected one character")
            }
            return [.strip(content: character, start: integer(value["start"], default: 0),
                           stop: integer(value["stop"], default: 0))]
        case "Replace":
            let found = try pattern(value["pattern"], file: file, key: key)
            guard let literal = found.literal, !literal.isEmpty else {
                throw .unsupported(file: file, feature: "decoder Replace with a regex pattern \(quoteForMessage(found.regex ?? ""))")
            }
            return [.replace(pattern: literal, content: string(value["content"], default: ""))]
        case "Metaspace":
            let replacement = string(value["replacement"], default: "\u{2581}")
            guard replacement.unicodeScalars.count == 1, let character = replacement.unicodeScalars.first else {
                throw .malformedFile(file: file, location: "key \"\(key).replacement\"", problem: "expected one character")
            }
            var scheme = PrependScheme.always
            if case .string(let name)? = value["prepend_scheme"], let parsed = PrependScheme(rawValue: name) {
                scheme = parsed
            } else if case .bool(false)? = value["add_prefix_space"] {
                scheme = .never
            }
            return [.metaspace(replacement: character, prependScheme: scheme)]
        case let other:
            throw .unsupported(file: file, feature: "decoder \(quoteForMessage(other))")
        }
    }

    /// The single-sequence template of a post-processor (nil: the ids are left as they are).
    static func readPostProcessor(_ value: JSON, file: String,
                                  key: String = "post_processor") throws(TLTokenizerError) -> [TemplatePiece]? {
        if case .null = value { return nil }
        switch typeName(value) {
        case "ByteLevel":
            return nil  // changes offsets only
        case "Sequence":
            var template: [TemplatePiece]?
            for (index, member) in try sequenceMembers(value, keys: ["processors"], file: file, key: key).enumerated() {
                if let inner = try readPostProcessor(member, file: file, key: "\(key).processors[\(index)]") {
                    guard template == nil else {
                        throw .unsupported(file: file, feature: "two templates in one post_processor Sequence")
                    }
                    template = inner
                }
            }
            return template
        case "TemplateProcessing":
            guard case .array(let items)? = value["single"] else {
                throw .malformedFile(file: file, location: "key \"\(key).single\"", problem: "expected an array")
            }
            var template: [TemplatePiece] = []
            for item in items {
                if item["Sequence"] != nil {
                    template.append(.sequence)
                } else if case .string(let name)? = item["SpecialToken"]?["id"] {
                    guard case .array(let ids)? = value["special_tokens"]?[name]?["ids"] else {
                        throw .malformedFile(file: file, location: "key \"\(key).special_tokens\"",
                                             problem: "no ids for the template token \(quoteForMessage(name))")
                    }
                    template.append(.special(ids.compactMap { if case .integer(let id) = $0 { id } else { nil } }))
                } else {
                    throw .malformedFile(file: file, location: "key \"\(key).single\"",
                                         problem: "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}")
                }
            }
            return template
        case "RobertaProcessing", "BertProcessing":
            func id(_ name: String) -> Int? {
                if case .array(let pair)? = value[name], pair.count == 2, case .integer(let id) = pair[1] { return id }
                return nil
            }
            guard let cls = id("cls"), let sep = id("sep") else {
                throw .malformedFile(file: file, location: "key \"\(key)\"", problem: "expected \"cls\" and \"sep\" pairs")
            }
            return [.special([cls]), .sequence, .special([sep])]
        case let other:
            throw .unsupported(file: file, feature: "post_processor \(quoteForMessage(other))")
        }
    }
}
