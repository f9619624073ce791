// 8-bit sRGB colours, the unit every back end (PNG, SVG, terminal) shares.

/// An opaque 8-bit sRGB colour.
public struct RGB: Sendable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// From a 24-bit 0xRRGGBB literal.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xff), UInt8((hex >> 8) & 0xff), UInt8(hex & 0xff))
    }

    /// `#rrggbb`, as SVG and HTML want it.
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for c in [r, g, b] { s.append(digits[Int(c >> 4)]); s.append(digits[Int(c & 15)]) }
        return s
    }

    /// Linear interpolation in sRGB space, `t` in 0...1.
    func mixed(with other: RGB, _ t: Double) -> RGB {
        func lerp(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8(max(0, min(255, (Double(a) + (Double(b) - Double(a)) * t).rounded())))
        }
        return RGB(lerp(r, other.r), lerp(g, other.g), lerp(b, other.b))
    }

    /// Relative luminance (Rec. 709 weights on gamma-encoded values), good enough to choose
    /// black or white text on top of a colour.
    var luminance: Double { (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255 }

    static let white = RGB(255, 255, 255)
    static let black = RGB(0, 0, 0)
    static let text = RGB(0x22, 0x22, 0x22)
    static let mutedText = RGB(0x55, 0x55, 0x55)
    static let grid = RGB(0xe4, 0xe4, 0xe4)
    static let axis = RGB(0x44, 0x44, 0x44)
    /// Cells whose value is NaN: a mid grey that neither colour map uses near its centre.
    static let missing = RGB(0xb0, 0xb0, 0xb0)
}
