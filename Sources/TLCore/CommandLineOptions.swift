// The one command-line parser for the executable's subcommands (`tlsh kernel`, `tlsh kernel install`,
// `tlsh tokenize`): each subcommand declares its options once (name, aliases, whether it takes a
// value, a line of help), and that declaration drives parsing, `--help` and the usage errors, as
// swift-argument-parser does for larger tools. `--opt VALUE` and `--opt=VALUE` both work; an unknown
// option, a missing value or a value given to a flag is an error that names it and shows the usage.

public struct CommandLineOptions: Sendable {
    public struct Option: Sendable {
        public let name: String
        public let aliases: [String]
        /// What the value is called in help ("FILE"); nil for a flag.
        public let value: String?
        public let help: String

        public static func flag(_ name: String, aliases: [String] = [], help: String) -> Option {
            Option(name: name, aliases: aliases, value: nil, help: help)
        }

        public static func valued(_ name: String, _ value: String, aliases: [String] = [], help: String) -> Option {
            Option(name: name, aliases: aliases, value: value, help: help)
        }

        var spellings: [String] { [name] + aliases }
    }

    /// What parsing found.
    public struct Parsed: Sendable, Equatable {
        /// Option name (the declared one, not an alias) to its values in order; a flag has one "".
        public var values: [String: [String]] = [:]
        /// Arguments that are not options, in order.
        public var positionals: [String] = []
        public var helpRequested = false

        public func has(_ name: String) -> Bool { values[name] != nil }
        /// The last value given for `name` (a later `--name` overrides an earlier one).
        public func value(_ name: String) -> String? { values[name]?.last }
    }

    public struct UsageError: Error, Sendable, CustomStringConvertible {
        public let problem: String
        public let usage: String
        public var description: String { problem + "\n" + usage }
    }

    /// "tlsh tokenize": the command as typed, for the usage line.
    public let command: String
    public let options: [Option]
    /// How positionals read in the usage line ("[FILE]"); empty: none are accepted.
    public let positionals: String

    public init(command: String, options: [Option], positionals: String = "") {
        self.command = command
        self.options = options
        self.positionals = positionals
    }

    /// One line: `usage: tlsh tokenize [--bos] [--bench FILE]`.
    public var usageLine: String {
        let parts = options.map { "[" + $0.name + ($0.value.map { " " + $0 } ?? "") + "]" }
        return (["usage: " + command] + parts + (positionals.isEmpty ? [] : [positionals])).joined(separator: " ")
    }

    /// The usage line and one line per option.
    public var help: String {
        let rows = options.map { o in
            ((o.spellings.joined(separator: ", ")) + (o.value.map { " " + $0 } ?? ""), o.help)
        } + [("-h, --help", "show this help")]
        let width = rows.map(\.0.count).max() ?? 0
        return ([usageLine, ""] + rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 })
            .joined(separator: "\n")
    }

    public func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
        var parsed = Parsed()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "-h" || argument == "--help" { parsed.helpRequested = true; continue }
            guard argument.hasPrefix("-"), argument != "-" else {
                guard !positionals.isEmpty else { throw UsageError(problem: "unexpected argument \(argument)", usage: usageLine) }
                parsed.positionals.append(argument)
                continue
            }
            let (spelling, inline) = Self.split(argument)
            guard let option = options.first(where: { $0.spellings.contains(spelling) }) else {
                throw UsageError(problem: "unknown option \(spelling)", usage: usageLine)
            }
            if let valueName = option.value {
                guard let value = inline ?? remaining.popFirst() else {
                    throw UsageError(problem: "\(spelling) needs a value (\(valueName))", usage: usageLine)
                }
                parsed.values[option.name, default: []].append(value)
            } else {
                guard inline == nil else { throw UsageError(problem: "\(spelling) takes no value", usage: usageLine) }
                parsed.values[option.name, default: []].append("")
            }
        }
        return parsed
    }

    /// `--name=value` into its parts; other arguments whole.
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }
}
