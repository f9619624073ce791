/// GPT-2's reversible mapping between bytes and printable characters ("byte-level" encoding).
///
/// vocab.json and merges.txt spell every token with one character per byte so that the files contain no
/// spaces or control characters: printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for
/// themselves and the remaining 68 bytes map, in byte order, to U+0100, U+0101, ... (so space is `Ġ`, U+0120).
enum ByteLevel {
    /// `character[b]` is the scalar that spells byte `b`.
    static let character: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var nextExtra: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(nextExtra) ?? "\0"
                nextExtra += 1
            }
        }
        return table
    }()

    /// The byte a scalar spells, or nil if the scalar is not part of the table.
    @inline(__always)
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalar.count, byteForScalar[value] >= 0 else { return nil }
        return UInt8(byteForScalar[value])
    }

    /// Indexed by scalar value (the table only reaches U+0143); -1 where a scalar spells no byte.
    private static let byteForScalar: [Int16] = {
        let highest = Int(character.map(\.value).max() ?? 0)
        var inverse = [Int16](repeating: -1, count: highest + 1)
        for (byte, scalar) in character.enumerated() { inverse[Int(scalar.value)] = Int16(byte) }
        return inverse
    }()

    /// The raw bytes of a vocabulary entry. A token with any scalar outside the table stands for its own
    /// UTF-8 bytes, as Hugging Face's ByteLevel decoder treats it (this matters only for added tokens).
    static func bytes(ofTokenString token: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            result.append(byte)
        }
        return result
    }

    /// A vocabulary spelling of raw bytes, the inverse of `bytes(ofTokenString:)` for byte-level tokens.
    static func tokenString(ofBytes bytes: some Sequence<UInt8>) -> String {
        var result = String.UnicodeScalarView()
        for byte in bytes { result.append(character[Int(byte)]) }
        return String(result)
    }
}
