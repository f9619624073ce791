// Which colours a terminal can show, and the escape sequences for them.

/// Colour capability of the output stream.
public enum TerminalColorMode: Sendable, Equatable {
    /// 24-bit colour (`ESC[38;2;r;g;bm`).
    case trueColor
    /// The xterm 256-colour palette (`ESC[38;5;nm`): a 6×6×6 cube and a 24-step grey ramp.
    case ansi256
    /// No escape sequences at all; pictures become numbers and plain characters.
    case none

    /// Decide from whether stdout is a terminal and the environment:
    /// `NO_COLOR` set to any non-empty value (no-color.org) or a non-terminal gives `.none`;
    /// `TERM=dumb` gives `.none`; `COLORTERM=truecolor|24bit` or a `*-direct` TERM gives
    /// `.trueColor`; any other terminal gets `.ansi256`.
    public static func detect(isTTY: Bool, environment: [String: String]) -> TerminalColorMode {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .none }
        guard isTTY else { return .none }
        let term = environment["TERM"] ?? ""
        if term == "dumb" { return .none }
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        if colorTerm == "truecolor" || colorTerm == "24bit" || term.hasSuffix("-direct") { return .trueColor }
        return .ansi256
    }
}

enum ANSI {
    static let reset = "\u{1B}[0m"
    static let defaultBackground = "\u{1B}[49m"

    static func foreground(_ c: RGB, _ mode: TerminalColorMode) -> String {
        switch mode {
        case .trueColor: return "\u{1B}[38;2;\(c.r);\(c.g);\(c.b)m"
        case .ansi256: return "\u{1B}[38;5;\(xterm256(c))m"
        case .none: return ""
        }
    }

    static func background(_ c: RGB, _ mode: TerminalColorMode) -> String {
        switch mode {
        case .trueColor: return "\u{1B}[48;2;\(c.r);\(c.g);\(c.b)m"
        case .ansi256: return "\u{1B}[48;5;\(xterm256(c))m"
        case .none: return ""
        }
    }

    /// Nearest xterm palette entry (16...255) to `c`, choosing between the colour cube and the
    /// grey ramp by squared RGB distance.
    static func xterm256(_ c: RGB) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func nearestLevel(_ v: UInt8) -> Int {
            var best = 0
            for i in 1..<6 where abs(levels[i] - Int(v)) < abs(levels[best] - Int(v)) { best = i }
            return best
        }
        let ri = nearestLevel(c.r), gi = nearestLevel(c.g), bi = nearestLevel(c.b)
        func distance(_ r: Int, _ g: Int, _ b: Int) -> Int {
            let dr = r - Int(c.r), dg = g - Int(c.g), db = b - Int(c.b)
            return dr * dr + dg * dg + db * db
        }
        let cubeDistance = distance(levels[ri], levels[gi], levels[bi])
        let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let greyIndex = min(23, max(0, (mean - 8 + 5) / 10))
        let grey = 8 + 10 * greyIndex
        if distance(grey, grey, grey) < cubeDistance { return 232 + greyIndex }
        return 16 + 36 * ri + 6 * gi + bi
    }
}
