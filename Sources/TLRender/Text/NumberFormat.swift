// Number formats shared by tables, tick labels, tooltips and the terminal legend.
import Foundation

enum NumberFormat {
    /// Up to 4 significant digits, no trailing noise: tooltips, legends, chart values.
    static func compact(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        if v == 0 { return "0" }
        return String(format: "%.4g", v)
    }

    /// A tick label for `v` on an axis whose ticks are `step` apart: just enough decimals to tell
    /// neighbouring ticks apart, scientific notation for very large or very small magnitudes.
    static func tick(_ v: Double, step: Double) -> String {
        let magnitude = max(abs(v), step)
        if magnitude >= 1e5 || step < 1e-4 { return String(format: "%.2g", v) }
        let exponent = Int((log10(step) + 1e-9).rounded(.down))
        var decimals = max(0, -exponent)
        let mantissa = step / pow(10, Double(exponent))
        if abs(mantissa - 2.5) < 1e-6 { decimals += 1 }
        let text = String(format: "%.\(decimals)f", abs(v) < step * 1e-6 ? 0 : v)
        return text
    }

    /// Decimals that give about 4 significant digits to the largest magnitude in a table column;
    /// nil when the column wants scientific notation (very large or very small numbers).
    static func columnDecimals(maxAbs: Double) -> Int? {
        if maxAbs == 0 || !maxAbs.isFinite { return 4 }
        if maxAbs >= 1e7 || maxAbs < 1e-3 { return nil }
        let exponent = Int(log10(maxAbs).rounded(.down))
        return min(6, max(0, 3 - exponent))
    }

    /// One format for a set of values shown side by side (bar labels): fixed decimals giving
    /// about 3 significant digits to the largest magnitude, so the labels line up and compare.
    static func shared(_ values: [Float]) -> (Double) -> String {
        let maxAbs = values.filter(\.isFinite).map { abs(Double($0)) }.max() ?? 0
        let decimals = columnDecimals(maxAbs: maxAbs).map { max(0, $0 - 1) }
        return { v in
            guard let decimals else { return v.isFinite ? String(format: "%.2e", v) : fixed(v, decimals: 0) }
            return fixed(v, decimals: decimals)
        }
    }

    /// A table cell: fixed `decimals`, or `%.3e` when decimals is nil.
    static func fixed(_ v: Double, decimals: Int?) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        guard let decimals else { return String(format: "%.3e", v) }
        let text = String(format: "%.\(decimals)f", v)
        // "-0.000" reads as a sign error; show the value as zero.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }
}

/// Round-number ticks for colour bars and chart axes.
enum NiceTicks {
    /// Step sizes 1, 2, 2.5, 5 times a power of ten, smallest first, around `span`.
    private static func candidateSteps(span: Double) -> [Double] {
        let base = pow(10, (log10(span)).rounded(.down) - 2)
        var steps: [Double] = []
        var scale = base
        for _ in 0..<5 {
            for m in [1.0, 2.0, 2.5, 5.0] { steps.append(m * scale) }
            scale *= 10
        }
        return steps
    }

    /// The densest evenly spaced round ticks inside `low...high`, at most `maxCount` of them.
    static func inside(_ low: Double, _ high: Double, maxCount: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [low] }
        for step in candidateSteps(span: high - low) {
            let first = (low / step - 1e-9).rounded(.up)
            let last = (high / step + 1e-9).rounded(.down)
            let count = Int(last - first) + 1
            if count <= maxCount {
                return (0..<count).map { clean((first + Double($0)) * step, step) }
            }
        }
        return [low, high]
    }

    /// Round ticks whose first and last tick enclose `low...high` (axes extend to them).
    static func covering(_ low: Double, _ high: Double, maxCount: Int = 6) -> (ticks: [Double], step: Double) {
        var lo = low, hi = high
        if !(hi > lo) { lo -= 1; hi += 1 }
        for step in candidateSteps(span: hi - lo) {
            let first = (lo / step + 1e-9).rounded(.down)
            let last = (hi / step - 1e-9).rounded(.up)
            let count = Int(last - first) + 1
            if count <= maxCount {
                return ((0..<count).map { clean((first + Double($0)) * step, step) }, step)
            }
        }
        return ([lo, hi], hi - lo)
    }

    /// Snap floating-point noise (0.30000000000000004, -0) to the intended round number.
    private static func clean(_ v: Double, _ step: Double) -> Double {
        if abs(v) < step * 1e-9 { return 0 }
        let digits = max(0, -Int(log10(step).rounded(.down)) + 2)
        let scale = pow(10, Double(digits))
        return (v * scale).rounded() / scale
    }

    /// Spacing of a tick list (for formatting its labels).
    static func step(of ticks: [Double]) -> Double {
        ticks.count >= 2 ? abs(ticks[1] - ticks[0]) : max(abs(ticks.first ?? 1), 1e-12)
    }
}
