#if canImport(Glibc)
import Glibc
#endif

/// Inputs (and text/plain outputs) of stored executions, answering history_request's tail, range and
/// search. In memory, for this process only: the session number is always 1.
struct KernelHistory {
    struct Entry: Equatable {
        var line: Int
        var input: String
        var output: String?
    }

    static let session = 1
    /// Oldest entries are dropped beyond this many.
    let capacity: Int
    private(set) var entries: [Entry] = []

    init(capacity: Int = 10_000) { self.capacity = capacity }

    mutating func record(line: Int, input: String, output: String?) {
        entries.append(Entry(line: line, input: input, output: output))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// history_reply content for a history_request's content.
    func reply(to request: JSONValue) -> JSONValue {
        let withOutput = request["output"].boolValue ?? false
        let selected: [Entry]
        switch request["hist_access_type"].stringValue ?? "tail" {
        case "tail":
            selected = Array(entries.suffix(max(0, request["n"].intValue ?? 10)))
        case "range":
            // Session 0 (or a negative offset of 0) means "the current session"; there is no other.
            let session = request["session"].intValue ?? 0
            guard session == 0 || session == Self.session else { selected = []; break }
            let start = request["start"].intValue ?? 0
            let stop = request["stop"].intValue ?? Int.max
            selected = entries.filter { $0.line >= start && $0.line < stop }
        case "search":
            let pattern = request["pattern"].stringValue ?? "*"
            var matches = entries.filter { fnmatch(pattern, $0.input, 0) == 0 }
            if request["unique"].boolValue ?? false {
                // Keep the most recent occurrence of each input, in chronological order.
                var seen = Set<String>()
                matches = matches.reversed().filter { seen.insert($0.input).inserted }.reversed()
            }
            if let n = request["n"].intValue { matches = Array(matches.suffix(max(0, n))) }
            selected = matches
        default:
            selected = []
        }
        let items: [JSONValue] = selected.map { entry in
            let input: JSONValue = withOutput
                ? [.string(entry.input), entry.output.map { .string($0) } ?? .null]
                : .string(entry.input)
            return [.int(Self.session), .int(entry.line), input]
        }
        return ["status": "ok", "history": .array(items)]
    }
}
