// How data values map to colours, and the resolved range that a colour bar shows.

/// How a heatmap maps values to colours.
public enum ColorScale: Sendable, Equatable {
    /// RdBu centred at zero for signed data (logit differences, patching effects, DLA).
    /// The range is symmetric, `-limit...limit`; `nil` means `max |v|` over the finite values.
    case diverging(limit: Float? = nil)
    /// viridis from `min` to `max` for probabilities and attention; `nil` bounds come from the
    /// data's finite values. Attention patterns usually pass `min: 0, max: 1`.
    case sequential(min: Float? = nil, max: Float? = nil)
}

/// A colour scale resolved against data: the numeric range, the ramp, and the ticks to label.
struct ResolvedScale: Sendable {
    let low: Double
    let high: Double
    let map: ColorMap
    let isDiverging: Bool

    /// Resolve `scale` over every finite value of `data` (all panels share one range).
    init(_ scale: ColorScale, data: [[Float]]) {
        var lo = Double.infinity, hi = -Double.infinity, maxAbs = 0.0
        for values in data {
            for v in values where v.isFinite {
                let d = Double(v)
                lo = min(lo, d); hi = max(hi, d); maxAbs = max(maxAbs, abs(d))
            }
        }
        switch scale {
        case .diverging(let limit):
            var l = limit.map { abs(Double($0)) } ?? maxAbs
            if !(l > 0) || !l.isFinite { l = 1 }
            low = -l; high = l; map = .redBlue; isDiverging = true
        case .sequential(let givenMin, let givenMax):
            var a = givenMin.map(Double.init) ?? (lo.isFinite ? lo : 0)
            var b = givenMax.map(Double.init) ?? (hi.isFinite ? hi : 1)
            if !a.isFinite { a = 0 }
            if !b.isFinite { b = a + 1 }
            if b < a { swap(&a, &b) }
            if b == a { b = a + 1 }
            low = a; high = b; map = .viridis; isDiverging = false
        }
    }

    /// Position of `v` along the ramp, 0...1 (NaN stays NaN).
    func fraction(_ v: Double) -> Double { (v - low) / (high - low) }

    func color(_ v: Float) -> RGB {
        v.isNaN ? .missing : map.color(at: min(1, max(0, fraction(Double(v)))))
    }

    /// 3–5 round numbers inside the range for the colour bar.
    var ticks: [Double] { NiceTicks.inside(low, high) }
}
