/// Everything that can go wrong while loading or using a tokenizer.
/// Each description names the file (and line or byte offset) or the input at fault, and what to do about it.
public enum TLTokenizerError: Error, CustomStringConvertible, Equatable {
    /// A tokenizer file could not be parsed or is inconsistent; `location` is e.g. "line 12" or "byte 4031".
    case malformedFile(file: String, location: String, problem: String)
    /// A tokenizer file could not be read from disk.
    case unreadableFile(path: String, reason: String)
    /// None of tokenizer.json, vocab.json + merges.txt, tokenizer.model exists in a model directory.
    case missingTokenizerFiles(directory: String)
    /// A tokenizer file uses a component or option tlsh does not implement.
    case unsupported(file: String, feature: String)
    /// `toSingleToken` was given text that is not exactly one token; `pieces` is how it splits.
    case notSingleToken(text: String, pieces: [String])
    /// `tokenPosition` could not find the token in the prompt.
    case tokenNotInPrompt(token: String, prompt: String)

    public var description: String {
        switch self {
        case let .malformedFile(file, location, problem):
            return "\(file), \(location): \(problem)"
        case let .unreadableFile(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .missingTokenizerFiles(directory):
            return "no tokenizer in \(directory): expected tokenizer.json, vocab.json together with merges.txt, or tokenizer.model"
        case let .unsupported(file, feature):
            return "\(file): \(feature) is not supported (docs/TOKENIZER.md lists the supported components)"
        case let .notSingleToken(text, pieces):
            let quoted = quoteForMessage(text)
            if pieces.isEmpty {
                return "\(quoted) is 0 tokens; use a string that is exactly one token, such as \" the\""
            }
            let split = pieces.map(quoteForMessage).joined(separator: " + ")
            return "\(quoted) is \(pieces.count) tokens: \(split); "
                + "use a single-token string such as \(quoteForMessage(pieces[0]))"
        case let .tokenNotInPrompt(token, prompt):
            return "the token \(quoteForMessage(token)) does not occur in the tokens of \(quoteForMessage(prompt))"
        }
    }
}

/// Quotes text for an error message, escaping what would otherwise be invisible or ambiguous.
func quoteForMessage(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
