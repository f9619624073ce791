import Foundation

/// A snapshot of one file's download, delivered to `Hub`'s progress callback about ten times a
/// second and once when the file is complete.
public struct DownloadProgress: Sendable, Equatable {
    /// The repo file name, e.g. `model.safetensors`.
    public let file: String
    /// 1-based position of this file among the files this resolve downloads, and their count.
    public let fileIndex: Int
    public let fileCount: Int
    /// Bytes on disk so far, including any resumed from an earlier attempt.
    public let bytes: Int64
    /// Expected size in bytes, when the server announced one.
    public let total: Int64?
    /// Transfer rate in bytes per second over this attempt (0 until measurable).
    public let bytesPerSecond: Double
    /// True for the final report of a file.
    public let finished: Bool

    public init(file: String, fileIndex: Int, fileCount: Int, bytes: Int64, total: Int64?,
                bytesPerSecond: Double, finished: Bool) {
        self.file = file; self.fileIndex = fileIndex; self.fileCount = fileCount
        self.bytes = bytes; self.total = total; self.bytesPerSecond = bytesPerSecond; self.finished = finished
    }

    /// Fraction done in [0, 1], when the total is known.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, max(0, Double(bytes) / Double(total)))
    }

    /// Seconds left at the current rate, when both total and rate are known.
    public var etaSeconds: Double? {
        guard let total, bytesPerSecond > 0 else { return nil }
        return max(0, Double(total - bytes) / bytesPerSecond)
    }
}

/// One terminal line: `model.safetensors [=========>          ]  45%  10.2/22.6 MB  3.1 MB/s  ETA 0:04`.
/// `width` is the bar's inner width in characters (at least 1).
public func renderProgressBar(_ p: DownloadProgress, width: Int) -> String {
    let inner = max(1, width)
    var bar: String
    if let fraction = p.fraction {
        let filled = Int((fraction * Double(inner)).rounded(.down))
        if filled >= inner {
            bar = String(repeating: "=", count: inner)
        } else {
            bar = String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: inner - filled - 1)
        }
    } else {
        // Unknown total: a marker that moves with the bytes received.
        let position = Int((p.bytes / 65_536) % Int64(inner))
        bar = String(repeating: " ", count: position) + "<=>"
        bar = String(bar.prefix(inner)).padding(toLength: inner, withPad: " ", startingAt: 0)
    }
    var parts = ["\(p.file) [\(bar)]"]
    if let fraction = p.fraction {
        parts.append(String(repeating: " ", count: 3 - String(Int(fraction * 100)).count) + "\(Int(fraction * 100))%")
    }
    parts.append(p.total.map { "\(formatBytes(p.bytes))/\(formatBytes($0))" } ?? formatBytes(p.bytes))
    if p.bytesPerSecond > 0 { parts.append("\(formatBytes(Int64(p.bytesPerSecond)))/s") }
    if p.finished {
        parts.append("done")
    } else if let eta = p.etaSeconds {
        parts.append("ETA \(formatDuration(eta))")
    }
    if p.fileCount > 1 { parts.insert("(\(p.fileIndex)/\(p.fileCount))", at: 0) }
    return parts.joined(separator: "  ")
}

/// Decimal units as huggingface_hub's progress bars show them: B, kB, MB, GB.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}

/// `m:ss`, or `h:mm:ss` from an hour up.
func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded(.up))
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60)
    let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
    return h > 0 ? "\(h):\(two(m)):\(two(s))" : "\(m):\(two(s))"
}
