import Foundation

/// The normalizer stage: rewrites a segment of input (the text between added tokens) before pre-tokenizing.
enum Normalization {
    static func apply(_ steps: [NormalizerStep], to input: [UInt8]) -> [UInt8] {
        var bytes = input
        for step in steps {
            switch step {
            case .nfc, .nfkc, .nfd, .nfkd:
                if bytes.allSatisfy({ $0 < 0x80 }) { continue }  // ASCII is already in every normal form
                let text = String(decoding: bytes, as: UTF8.self)
                let normalized: String
                switch step {
                case .nfc: normalized = text.precomposedStringWithCanonicalMapping
                case .nfkc: normalized = text.precomposedStringWithCompatibilityMapping
                case .nfd: normalized = text.decomposedStringWithCanonicalMapping
                default: normalized = text.decomposedStringWithCompatibilityMapping
                }
                bytes = Array(normalized.utf8)
            case .lowercase:
                bytes = Array(String(decoding: bytes, as: UTF8.self).lowercased().utf8)
            case .prepend(let prefix):
                if !bytes.isEmpty { bytes = Array(prefix.utf8) + bytes }
            case .replace(let pattern, let content):
                bytes = replaceAll(Array(pattern.utf8), with: Array(content.utf8), in: bytes)
            }
        }
        return bytes
    }

    /// Non-overlapping occurrences, left to right.
    static func replaceAll(_ pattern: [UInt8], with content: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return bytes }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + bytes.count / 4)
        var index = 0
        let first = pattern[0]
        while index < bytes.count {
            if bytes[index] == first, index + pattern.count <= bytes.count,
               bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: content)
                index += pattern.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}

/// The decoder stage: turns the token strings of ids into text, step by step as Hugging Face's decoders do.
enum Decoding {
    static func apply(_ steps: [DecoderStep], to input: [String]) -> [String] {
        var tokens = input
        for step in steps {
            switch step {
            case .byteLevel:
                var bytes: [UInt8] = []
                for token in tokens { bytes += ByteLevel.bytes(ofTokenString: token) }
                tokens = [String(decoding: bytes, as: UTF8.self)]
            case .byteFallback:
                tokens = byteFallback(tokens)
            case .fuse:
                tokens = [tokens.joined()]
            case .strip(let content, let start, let stop):
                tokens = tokens.map { strip($0, content: content, start: start, stop: stop) }
            case .replace(let pattern, let content):
                let patternBytes = Array(pattern.utf8), contentBytes = Array(content.utf8)
                tokens = tokens.map { String(decoding: Normalization.replaceAll(patternBytes, with: contentBytes, in: Array($0.utf8)),
                                             as: UTF8.self) }
            case .metaspace(let replacement, let scheme):
                tokens = tokens.enumerated().map { index, token in
                    var result = String.UnicodeScalarView()
                    for scalar in token.unicodeScalars {
                        if scalar == replacement {
                            if index == 0 && scheme != .never { continue }  // the prepended space
                            result.append(" ")
                        } else {
                            result.append(scalar)
                        }
                    }
                    return String(result)
                }
            }
        }
        return tokens
    }

    /// `<0xNN>` tokens become their bytes; a run that is not valid UTF-8 becomes one U+FFFD per byte.
    static func byteFallback(_ tokens: [String]) -> [String] {
        var result: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let text = String(validating: pending, as: UTF8.self) {
                result.append(text)
            } else {
                result += Array(repeating: "\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for token in tokens {
            if let byte = fallbackByte(token) {
                pending.append(byte)
            } else {
                flush()
                result.append(token)
            }
        }
        flush()
        return result
    }

    /// The byte of a `<0xNN>` token (six bytes, hexadecimal digits of either case), else nil.
    static func fallbackByte(_ token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"), utf8[2] == UInt8(ascii: "x"),
              utf8[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }

    /// Removes up to `start` leading and `stop` trailing `content` characters.
    static func strip(_ token: String, content: Unicode.Scalar, start: Int, stop: Int) -> String {
        var characters = Array(token.unicodeScalars)
        var leading = 0
        while leading < start, leading < characters.count, characters[leading] == content { leading += 1 }
        characters.removeFirst(leading)
        var trailing = 0
        while trailing < stop, trailing < characters.count, characters[characters.count - 1 - trailing] == content {
            trailing += 1
        }
        characters.removeLast(trailing)
        var result = String.UnicodeScalarView()
        result.append(contentsOf: characters)
        return String(result)
    }
}
