// Colour maps as piecewise-linear ramps over anchor colours.
//
// Diverging: ColorBrewer's 11-class RdBu (Cynthia Brewer), reversed so that negative values are
// blue and positive values red, with the near-white centre at zero.
// Sequential: matplotlib's viridis (CC0), sampled at 33 evenly spaced points; perceptually
// uniform, readable in grey scale and by colour-blind readers, and clearly different from RdBu
// so that signed and unsigned pictures are not confused.

/// A continuous colour ramp over `t` in 0...1.
public struct ColorMap: Sendable {
    /// Evenly spaced anchors; `anchors[0]` is t = 0 and `anchors.last` is t = 1.
    public let anchors: [RGB]
    public let name: String

    /// Colour at `t` (clamped to 0...1).
    public func color(at t: Double) -> RGB {
        guard t.isFinite else { return .missing }
        let clamped = min(1, max(0, t))
        let scaled = clamped * Double(anchors.count - 1)
        let lower = min(anchors.count - 2, Int(scaled))
        return anchors[lower].mixed(with: anchors[lower + 1], scaled - Double(lower))
    }

    /// Blue (negative) through near-white (zero) to red (positive).
    public static let redBlue = ColorMap(anchors: [
        0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
        0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f,
    ].map { RGB(hex: $0) }, name: "RdBu (blue < 0 < red)")

    /// Dark purple (low) through teal to yellow (high).
    public static let viridis = ColorMap(anchors: [
        0x440154, 0x470d60, 0x48186a, 0x482374, 0x472d7b, 0x453781, 0x424086, 0x3e4989,
        0x3b528b, 0x375b8d, 0x33638d, 0x2f6b8e, 0x2c728e, 0x297a8e, 0x26828e, 0x23898e,
        0x21918c, 0x1f988b, 0x1fa088, 0x22a785, 0x28ae80, 0x32b67a, 0x3fbc73, 0x4ec36b,
        0x5ec962, 0x70cf57, 0x84d44b, 0x98d83e, 0xaddc30, 0xc2df23, 0xd8e219, 0xece51b,
        0xfde725,
    ].map { RGB(hex: $0) }, name: "viridis")
}
