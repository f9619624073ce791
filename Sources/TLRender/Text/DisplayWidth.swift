// Terminal display width: how many monospace columns a string occupies. Tables and the terminal
// heatmap align on this, not on `String.count`, because CJK and emoji take two columns and
// combining marks none.

/// Columns that `s` occupies in a monospace terminal: East Asian wide/fullwidth characters and
/// emoji count 2, combining marks, format characters and controls 0, everything else 1.
public func displayWidth(_ s: String) -> Int {
    var total = 0
    for character in s { total += displayWidth(of: character) }
    return total
}

/// Display width of one grapheme cluster (0, 1 or 2).
func displayWidth(of character: Character) -> Int {
    let scalars = character.unicodeScalars
    guard let first = scalars.first else { return 0 }
    // An emoji shown as a picture: by default, or forced by the emoji variation selector U+FE0F.
    if scalars.contains(where: { $0.properties.isEmojiPresentation }) { return 2 }
    if first.properties.isEmoji, scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
    return scalarWidth(first)
}

/// Width of a lone scalar, used for the first scalar of a cluster.
func scalarWidth(_ scalar: Unicode.Scalar) -> Int {
    let v = scalar.value
    if v == 0 { return 0 }
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .enclosingMark, .format, .control: return 0
    default: break
    }
    if v == 0x200B || (0xFE00...0xFE0F).contains(v) || (0x1160...0x11FF).contains(v) { return 0 }
    return isWide(v) ? 2 : 1
}

/// East Asian Wide (W) and Fullwidth (F) blocks from Unicode's EastAsianWidth.txt, coarsened to
/// whole blocks; emoji are handled by their emoji-presentation property instead.
private func isWide(_ v: UInt32) -> Bool {
    switch v {
    case 0x1100...0x115F,            // Hangul Jamo initial consonants
         0x2E80...0x303E,            // CJK radicals, Kangxi, CJK symbols and punctuation
         0x3041...0x33FF,            // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compat
         0x3400...0x4DBF,            // CJK extension A
         0x4E00...0x9FFF,            // CJK unified ideographs
         0xA000...0xA4CF,            // Yi
         0xA960...0xA97F,            // Hangul Jamo extended A
         0xAC00...0xD7A3,            // Hangul syllables
         0xF900...0xFAFF,            // CJK compatibility ideographs
         0xFE10...0xFE19, 0xFE30...0xFE6F,  // vertical forms, CJK compatibility forms, small forms
         0xFF00...0xFF60, 0xFFE0...0xFFE6,  // fullwidth forms
         0x16FE0...0x18AFF, 0x1B000...0x1B2FF, // Tangut, Kana supplement
         0x1F300...0x1F64F, 0x1F900...0x1F9FF, // pictographs (when not caught as emoji)
         0x20000...0x2FFFD, 0x30000...0x3FFFD: // CJK extensions B and later
        return true
    default:
        return false
    }
}

/// `s` cut to at most `width` display columns, ending in "…" when something was cut.
public func truncateToDisplayWidth(_ s: String, _ width: Int) -> String {
    if displayWidth(s) <= width { return s }
    guard width > 0 else { return "" }
    var out = "", used = 0
    for ch in s {
        let w = displayWidth(of: ch)
        if used + w > width - 1 { break }
        out.append(ch); used += w
    }
    return out + "…"
}

/// `s` padded with spaces to `width` display columns (never cut).
func pad(_ s: String, to width: Int, alignRight: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - displayWidth(s)))
    return alignRight ? fill + s : s + fill
}
