// How Tab shows several matches: the longest prefix they share, and a column listing.

enum CompletionList {
    /// The longest common prefix of `matches` (by characters).
    static func commonPrefix(_ matches: [String]) -> String {
        guard var prefix = matches.first.map(Array.init) else { return "" }
        for match in matches.dropFirst() {
            let chars = Array(match)
            var n = 0
            while n < prefix.count, n < chars.count, prefix[n] == chars[n] { n += 1 }
            prefix.removeSubrange(n...)
        }
        return String(prefix)
    }

    /// Matches in columns, filled down then across, fitting `width`; ends with a newline.
    /// At most `limit` matches are listed, then a count of the rest.
    static func format(_ matches: [String], width: Int, limit: Int = 200) -> String {
        guard !matches.isEmpty else { return "" }
        let shown = Array(matches.prefix(limit))
        let cell = (shown.map(\.count).max() ?? 0) + 2
        let columns = max(1, width / cell)
        let rows = (shown.count + columns - 1) / columns
        var lines: [String] = []
        for row in 0..<rows {
            var line = ""
            for column in 0..<columns {
                let index = column * rows + row
                guard index < shown.count else { break }
                let item = shown[index]
                line += column == columns - 1 || index + rows >= shown.count
                    ? item : item + String(repeating: " ", count: cell - item.count)
            }
            lines.append(line)
        }
        if matches.count > shown.count { lines.append("… and \(matches.count - shown.count) more") }
        return lines.joined(separator: "\n") + "\n"
    }
}
