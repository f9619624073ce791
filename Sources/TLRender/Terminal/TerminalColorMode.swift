// Which colours a terminal can show, and the escape sequences for them.
import Foundation
import Synchronization

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

    /// Nearest xterm palette entry (16...255) to `c` by CIELAB distance. Plain RGB distance sent
    /// viridis's middle blues to the slate 60/61 entries, which read as grey; in Lab the blues
    /// stay blue (0x375b8d → 24, not 60). Results are cached: a picture has few distinct colours.
    static func xterm256(_ c: RGB) -> Int {
        let key = Int(c.r) << 16 | Int(c.g) << 8 | Int(c.b)
        if let hit = paletteCache.withLock({ $0[key] }) { return hit }
        let lab = Lab(c)
        var best = 16, bestDistance = Double.infinity
        for (index, entry) in xtermPaletteLab.enumerated() {
            let d = lab.distanceSquared(to: entry)
            if d < bestDistance { best = 16 + index; bestDistance = d }
        }
        paletteCache.withLock { $0[key] = best }
        return best
    }
}

/// Colours 16...255 of the xterm palette (6×6×6 cube, then 24 greys) in CIELAB.
private let xtermPaletteLab: [Lab] = {
    let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
    var out: [Lab] = []
    for r in levels { for g in levels { for b in levels { out.append(Lab(RGB(r, g, b))) } } }
    for i in 0..<24 { let v = UInt8(8 + 10 * i); out.append(Lab(RGB(v, v, v))) }
    return out
}()

private let paletteCache = Mutex<[Int: Int]>([:])

/// CIE L*a*b* (D65) of an sRGB colour: distances here follow perceived difference.
struct Lab {
    var l: Double, a: Double, b: Double

    init(_ c: RGB) {
        func linear(_ v: UInt8) -> Double {
            let u = Double(v) / 255
            return u <= 0.04045 ? u / 12.92 : pow((u + 0.055) / 1.055, 2.4)
        }
        let r = linear(c.r), g = linear(c.g), bl = linear(c.b)
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * bl) / 0.95047
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * bl
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * bl) / 1.08883
        func f(_ t: Double) -> Double { t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116 }
        l = 116 * f(y) - 16
        a = 500 * (f(x) - f(y))
        b = 200 * (f(y) - f(z))
    }

    func distanceSquared(to o: Lab) -> Double {
        (l - o.l) * (l - o.l) + (a - o.a) * (a - o.a) + (b - o.b) * (b - o.b)
    }
}
