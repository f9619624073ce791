// `help`, `help VERB` and the reference section of docs/LANGUAGE.md, all rendered from the
// command table so that none of them can disagree with what the parser accepts.

extension CommandTable {
    /// `help` with no topic: verbs by category with their summaries, then the functions.
    public func helpOverview() -> String {
        let width = (verbNames.map(\.count).max() ?? 0) + 2
        var lines = ["tlsh commands (help VERB for one in detail)"]
        for category in CommandCategory.allCases {
            let specs = commands.filter { $0.category == category }
            guard !specs.isEmpty else { continue }
            lines.append("")
            lines.append(category.rawValue)
            for spec in specs { lines.append("  " + spec.name.padded(to: width) + spec.summary) }
        }
        if !functions.isEmpty {
            lines.append("")
            lines.append("Functions (inside expressions)")
            let usageWidth = (functions.map(\.usage.count).max() ?? 0) + 2
            for function in functions { lines.append("  " + function.usage.padded(to: usageWidth) + function.summary) }
        }
        lines.append("")
        lines.append("Syntax: name = value | verb ARG... key=value | * sweeps all | 0..6 range | [0, 3] list | # comment")
        return lines.joined(separator: "\n")
    }

    /// `help TOPIC` for a verb or function; nil when the topic is unknown (see `suggestTopic`).
    public func help(for topic: String) -> String? {
        if let spec = self[topic] { return help(spec) }
        if let function = function(named: topic) { return help(function) }
        return nil
    }

    /// The nearest verb or function name to an unknown help topic.
    public func suggestTopic(for topic: String) -> String? {
        Suggest.nearest(to: topic, in: verbNames + functionNames)
    }

    private func help(_ spec: CommandSpec) -> String {
        var lines = ["\(spec.name) — \(spec.summary)", "", "usage: \(spec.usage)"]
        if let details = spec.details { lines += ["", details] }
        if !spec.positionals.isEmpty {
            lines += ["", "arguments:"]
            let width = (spec.positionals.map(\.name.count).max() ?? 0) + 5
            for arg in spec.positionals {
                let name = (arg.required ? arg.name : "[\(arg.name)]") + (arg.repeats ? "..." : "")
                // A doc with its own example says enough; the kind's generic one would contradict it.
                let kind = arg.doc.contains("e.g.") ? "" : "; \(arg.kind.expectation)"
                lines.append("  " + name.padded(to: width) + arg.doc + kind)
            }
        }
        lines += optionLines(spec.options)
        lines += ["", "examples:"] + spec.examples.map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    private func help(_ function: FunctionSpec) -> String {
        var lines = ["\(function.name) — \(function.summary)", "", "usage: \(function.usage)"]
        lines += optionLines(function.options)
        lines += ["", "examples:"] + function.examples.map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    private func optionLines(_ options: [OptionSpec]) -> [String] {
        guard !options.isEmpty else { return [] }
        let width = (options.map { $0.name.count + placeholder(for: $0.kind).count }.max() ?? 0) + 3
        var lines = ["", "options:"]
        for option in options {
            var text = option.doc
            let notes = [option.bounds.map { "valid: \($0)" }, option.defaultValue.map { "default: \($0)" }].compactMap { $0 }
            if !notes.isEmpty { text += " (" + notes.joined(separator: "; ") + ")" }
            lines.append("  " + "\(option.name)=\(placeholder(for: option.kind))".padded(to: width) + text)
        }
        return lines
    }

    /// The command reference embedded in docs/LANGUAGE.md between the `BEGIN/END GENERATED`
    /// markers (DocsSyncTests fails when they differ).
    public func markdownReference() -> String {
        var out: [String] = []
        for category in CommandCategory.allCases {
            let specs = commands.filter { $0.category == category }
            guard !specs.isEmpty else { continue }
            out += ["### \(category.rawValue)", ""]
            for spec in specs {
                out += ["#### `\(spec.name)`", "", "\(spec.summary).", "", "```", spec.usage, "```", ""]
                if let details = spec.details { out += [details, ""] }
                for arg in spec.positionals {
                    let optional = arg.required ? "" : " (optional\(arg.repeats ? ", repeatable" : ""))"
                    out.append("- `\(arg.name)`\(optional): \(arg.doc); \(arg.kind.expectation).")
                }
                for option in spec.options {
                    let valid = option.bounds.map { " Valid: \($0)." } ?? ""
                    let value = option.defaultValue.map { " Default: \($0)." } ?? ""
                    out.append("- `\(option.name)=`: \(option.doc); \(option.kind.expectation).\(valid)\(value)")
                }
                if !spec.positionals.isEmpty || !spec.options.isEmpty { out.append("") }
                out += ["Examples:", "", "```"] + spec.examples + ["```", ""]
            }
        }
        out += ["### Functions", "", "| Function | Meaning | Example |", "|---|---|---|"]
        for function in functions {
            out.append("| `\(function.usage)` | \(function.summary) | `\(function.examples.first ?? "")` |")
        }
        return out.joined(separator: "\n")
    }
}

extension String {
    func padded(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
