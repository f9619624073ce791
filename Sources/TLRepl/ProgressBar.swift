// The one-line progress bar drawn on standard error during long work (patch sweeps, generation,
// downloads). Formatting is a pure function so it can be tested without a terminal.
import Foundation

struct ProgressBar {
    /// What the counts are: work items, or bytes (shown as `10.2/22.6 MB`, `3.1 MB/s`).
    enum Unit: Sendable { case items, bytes }

    /// The line for `done` of `total` after `elapsed` seconds, at most `width` columns wide:
    /// `label [█████·····] 12/50 3.4/s eta 11s`. Finished work shows its time instead of a rate.
    static func line(label: String, done: Int, total: Int, elapsed: Double, width: Int, unit: Unit = .items) -> String {
        let total = max(total, 0)
        let done = max(done, 0)
        let counts: String
        switch unit {
        case .items: counts = total > 0 ? "\(done)/\(total)" : "\(done)"
        case .bytes: counts = total > 0 ? "\(megabytes(done))/\(megabytes(total)) MB" : "\(megabytes(done)) MB"
        }
        var tail = " " + counts
        if total > 0 && done >= total {
            tail += " in " + duration(elapsed)
        } else if elapsed > 0.2 && done > 0 {
            let rate = Double(done) / elapsed
            tail += " " + (unit == .bytes ? "\(megabytes(Int(rate))) MB/s" : rateText(rate))
            if total > 0 { tail += " eta " + duration(Double(total - done) / rate) }
        }
        // Room for the bar: whatever the label and numbers leave, between 10 and 40 cells.
        var name = label
        let maxLabel = max(width - tail.count - 14, 8)
        if name.count > maxLabel { name = String(name.prefix(maxLabel - 1)) + "…" }
        let barWidth = min(max(width - name.count - tail.count - 3, 10), 40)
        let filled = total > 0 ? min(barWidth, done * barWidth / total) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: barWidth - filled)
        return "\(name) [\(bar)]\(tail)"
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_000_000) }

    static func rateText(_ perSecond: Double) -> String {
        if perSecond >= 100 { return String(format: "%.0f/s", perSecond) }
        if perSecond >= 1 { return String(format: "%.1f/s", perSecond) }
        return String(format: "%.1fs each", 1 / perSecond)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}
