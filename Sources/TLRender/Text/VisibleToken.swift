// Token strings with their whitespace made visible, as interpretability tools show them: the
// difference between "Paris" and " Paris" is the whole point of many experiments.

/// `s` with spaces shown as "␣", newlines as "↵", tabs as "⇥", carriage returns as "␍" and other
/// control characters as their Unicode control pictures, so a token's boundaries are visible in
/// tables and axis labels. An empty token is shown as "∅".
public func visibleToken(_ s: String) -> String {
    if s.isEmpty { return "∅" }
    var out = String.UnicodeScalarView()
    for scalar in s.unicodeScalars {
        switch scalar.value {
        case 0x20: out.append("␣")
        case 0x0A: out.append("↵")
        case 0x09: out.append("⇥")
        case 0x0D: out.append("␍")
        case 0x00...0x1F: out.append(Unicode.Scalar(0x2400 + scalar.value) ?? "?")  // control pictures
        case 0x7F: out.append("␡")
        case 0xA0: out.append("⍽")  // no-break space, otherwise indistinguishable from a space
        default: out.append(scalar)
        }
    }
    return String(out)
}
