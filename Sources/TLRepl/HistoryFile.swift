// The persistent REPL history: `$TLSH_HISTORY` or `~/.tlsh_history`, a header line then one
// statement per line (newlines and backslashes inside a statement escaped as `\n` and `\\`),
// at most `limit` entries kept. Entries are appended as they are entered (O_APPEND, so two
// sessions can share one file); the file is compacted to `limit` entries when it grows past
// twice that. A file we cannot read, parse or write never stops the REPL: it reports one
// problem and the session goes on without saving.
import Foundation
import Glibc

final class HistoryFile {
    static let header = "# tlsh history v1"
    static let defaultLimit = 1000

    let path: String
    let limit: Int
    /// Entries, oldest first, at most `limit`.
    private(set) var entries: [String] = []
    /// False after any problem: the file is left exactly as it was.
    private(set) var canSave = true
    /// The first problem met, for the front end to report once.
    private(set) var problem: TLReplError?

    /// `$TLSH_HISTORY` (an empty value turns saving off: nil), else `$HOME/.tlsh_history`.
    static func defaultPath(environment: [String: String]) -> String? {
        if let explicit = environment["TLSH_HISTORY"] { return explicit.isEmpty ? nil : explicit }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return (home as NSString).appendingPathComponent(".tlsh_history")
    }

    /// Loads `path` (a missing file is an empty history).
    init(path: String, limit: Int = HistoryFile.defaultLimit) {
        self.path = path
        self.limit = max(limit, 1)
        load()
    }

    /// Records a statement (blank ones and repeats of the last entry are skipped) and appends it
    /// to the file. Returns the problem when this is the first write that failed.
    @discardableResult
    func append(_ entry: String) -> TLReplError? {
        guard !entry.allSatisfy(\.isWhitespace), entries.last != entry else { return nil }
        entries.append(entry)
        if entries.count > limit { entries.removeFirst(entries.count - limit) }
        guard canSave else { return nil }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return fail(.unwritableHistory(path: path, reason: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var text = Self.encode(entry) + "\n"
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size == 0 { text = Self.header + "\n" + text }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            return fail(.unwritableHistory(path: path, reason: written < 0 ? String(cString: strerror(errno)) : "short write"))
        }
        return nil
    }

    // MARK: Format

    static func encode(_ entry: String) -> String {
        var out = ""
        for c in entry.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Inverse of `encode`; nil for a line that `encode` cannot have produced.
    static func decode(_ line: Substring) -> String? {
        var out = ""
        var escaped = false
        for c in line.unicodeScalars {
            if escaped {
                switch c {
                case "\\": out += "\\"
                case "n": out += "\n"
                case "r": out += "\r"
                default: return nil
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == "\0" || c == "\r" {
                return nil
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return escaped ? nil : out
    }

    /// Parses a whole file; throws with the reason it is not a tlsh history.
    static func parse(_ data: Data) throws(HistoryFormatError) -> [String] {
        if data.isEmpty { return [] }
        guard let text = String(data: data, encoding: .utf8) else { throw HistoryFormatError("is not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == Substring(header) else { throw HistoryFormatError("does not start with '\(header)' (not a tlsh history file)") }
        var entries: [String] = []
        for (number, line) in lines.enumerated().dropFirst() {
            guard let entry = decode(line) else { throw HistoryFormatError("has a damaged line \(number + 1)") }
            entries.append(entry)
        }
        return entries
    }

    struct HistoryFormatError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    // MARK: Private

    private func load() {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno != ENOENT { _ = fail(.unwritableHistory(path: path, reason: String(cString: strerror(errno)))) }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            _ = fail(.corruptHistory(path: path, reason: "is not a regular file"))
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            _ = fail(.unwritableHistory(path: path, reason: "it cannot be read"))
            return
        }
        do {
            let all = try Self.parse(data)
            entries = Array(all.suffix(limit))
            if access(path, W_OK) != 0 {
                _ = fail(.unwritableHistory(path: path, reason: String(cString: strerror(errno))))
            } else if all.count > 2 * limit {
                compact()
            }
        } catch {
            _ = fail(.corruptHistory(path: path, reason: error.reason))
        }
    }

    /// Rewrites the file with the kept entries (beside it, then renamed, so a failure midway
    /// leaves the old file). A failure here is harmless: appending still works.
    private func compact() {
        let text = ([Self.header] + entries.map(Self.encode)).joined(separator: "\n") + "\n"
        let temporary = path + ".tlsh-partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    private func fail(_ problem: TLReplError) -> TLReplError? {
        canSave = false
        guard self.problem == nil else { return nil }
        self.problem = problem
        return problem
    }
}
