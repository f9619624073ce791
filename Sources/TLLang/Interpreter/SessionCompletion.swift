// Front-end-neutral editing help from a live session: Tab completion, the continuation rule and
// help for the word under the cursor. The REPL (libedit) and the Jupyter kernel
// (complete_request, is_complete_request, inspect_request) call these same three functions, so
// the two front ends cannot drift apart.
import Foundation
import TLHub
import TLModel

extension Session {
    /// Completions at `cursor` (a Unicode-scalar offset into `source`); `start`/`end` of the
    /// result are Unicode-scalar offsets too. Offers verbs, options, option values, variables,
    /// the current model's hook names (inside `x["…`) and cache short names (after `x.`).
    public func completions(source: String, cursor: Int) -> CompletionResult {
        complete(source: source, cursor: cursor, context: completionContext())
    }

    /// Whether `source` is ready to run or needs another line (the REPL's `...>` prompt and
    /// Jupyter's is_complete_request).
    public func isComplete(_ source: String) -> Completeness {
        completeness(of: source, table: .standard)
    }

    /// Help text for the word under `cursor` (a Unicode-scalar offset): a verb or function's
    /// help, an option of the statement's verb, a variable's type and value, or a hook name's
    /// axes. Nil when the cursor is not on anything known.
    public func inspect(source: String, cursor: Int) -> String? {
        let scalars = Array(source.unicodeScalars)
        guard let word = Self.word(in: scalars, at: cursor), !word.text.isEmpty else { return nil }
        let table = CommandTable.standard
        let name = word.text

        if let help = table.help(for: name) { return help }
        if let option = optionHelp(name, line: Self.lineBefore(scalars, word.start), table: table) { return option }
        if let value = variables[name] { return describeVariable(name, value) }
        // `cache.resid_post`: the hook after the dot, else the variable before it.
        let parts = name.split(separator: ".").map(String.init)
        if let hook = hookHelp(name) ?? parts.last.flatMap(hookHelp) { return hook }
        if let first = parts.first, let value = variables[first] { return describeVariable(first, value) }
        return nil
    }

    // MARK: Context

    /// What completion can see of the session right now.
    func completionContext() -> CompletionContext {
        let full = current?.model.hookNames ?? []
        return CompletionContext(variables: variables.keys.sorted(), hookNames: full,
                                 cacheShortNames: Self.cacheShortNames(fullNames: full),
                                 modelNames: ModelSource.aliasNames, table: .standard)
    }

    /// Short names offered after `cache.`: those of the model's hooks (in firing order) that the
    /// evaluator resolves, plus `logits` and `tokens`. Without a model, the names every GPT-2
    /// layer has, so completion works before the default model is loaded.
    static func cacheShortNames(fullNames: [String]) -> [String] {
        let names = fullNames.isEmpty ? HookNames.all(nLayers: 1) : fullNames
        let known = Set(HookNames.shortNames)
        var seen = Set<String>()
        var out: [String] = []
        for full in names {
            guard let last = full.split(separator: ".").last, last.hasPrefix("hook_") else { continue }
            let short = String(last.dropFirst("hook_".count))
            if known.contains(short), seen.insert(short).inserted { out.append(short) }
        }
        return out + ["logits", "tokens"]
    }

    // MARK: Inspect helpers

    /// The identifier-like word (letters, digits, `_`, `.`) around `cursor`, with its start.
    static func word(in scalars: [Unicode.Scalar], at cursor: Int) -> (text: String, start: Int)? {
        let cursor = min(max(cursor, 0), scalars.count)
        func isWord(_ s: Unicode.Scalar) -> Bool { s == "_" || s == "." || s.properties.isAlphabetic || ("0"..."9").contains(s) }
        var start = cursor, end = cursor
        while start > 0, isWord(scalars[start - 1]) { start -= 1 }
        while end < scalars.count, isWord(scalars[end]) { end += 1 }
        guard start < end else { return nil }
        var text = String(String.UnicodeScalarView(scalars[start..<end]))
        while text.hasSuffix(".") { text.removeLast() }
        while text.hasPrefix(".") { text.removeFirst(); start += 1 }
        return (text, start)
    }

    /// The text of the statement before `offset` on its line (after the last `;`).
    static func lineBefore(_ scalars: [Unicode.Scalar], _ offset: Int) -> String {
        var start = offset
        while start > 0, scalars[start - 1] != "\n", scalars[start - 1] != ";" { start -= 1 }
        return String(String.UnicodeScalarView(scalars[start..<offset]))
    }

    /// `layer` in `patch resid_post layer=*`: the option's documentation.
    func optionHelp(_ name: String, line: String, table: CommandTable) -> String? {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if words.count >= 2, words[1] == "=" { words.removeFirst(2) } else if let first = words.first, first.hasSuffix("="), first.count > 1 {
            words.removeFirst()
        }
        guard let verb = words.first, let spec = table[verb], let option = spec.option(named: name) else { return nil }
        var text = "\(verb) \(option.name)= — \(option.doc); \(option.kind.expectation)"
        if let value = option.defaultValue { text += " (default: \(value))" }
        return text
    }

    func describeVariable(_ name: String, _ value: Value) -> String {
        var text = "\(name): \(value.typeName)"
        if let shown = (try? display(of: value)) ?? nil {
            let lines = shown.plainText.split(separator: "\n", omittingEmptySubsequences: false).prefix(20)
            if !lines.isEmpty { text += "\n" + lines.joined(separator: "\n") }
        }
        return text
    }

    /// A full hook name (`blocks.0.attn.hook_pattern`) or short name (`pattern`): its axes.
    func hookHelp(_ name: String) -> String? {
        let nLayers = current?.model.config.nLayers
        if name.contains("hook_") {
            // Without a model, the names of one block, renumbered to the layer asked about: generating
            // every layer up to it would hang on `blocks.4294967296.…`.
            let layer = HookNames.layer(of: name) ?? 0
            let known = current?.model.hookNames
                ?? HookNames.all(nLayers: 1).map { $0.replacingOccurrences(of: "blocks.0.", with: "blocks.\(layer).") }
            guard known.contains(name) else { return nil }
            return "hook \(name): axes [\(Self.axes(ofHook: name).joined(separator: ", "))] (batch dropped)"
        }
        guard HookNames.shortNames.contains(name) else { return nil }
        let example = HookNames.actName(name, layer: 0)
        let full = HookNames.actName(name)
        let layers = nLayers.map { " for layers 0…\($0 - 1)" } ?? ""
        if full.hasPrefix("ln_final") || !example.hasPrefix("blocks.") {
            return "hook short name '\(name)': \(full), axes [\(Self.axes(ofHook: full).joined(separator: ", "))]"
        }
        return "hook short name '\(name)': cache.\(name)[L] is \(example.replacingOccurrences(of: "blocks.0.", with: "blocks.L."))\(layers), axes [\(Self.axes(ofHook: example).joined(separator: ", "))]"
    }
}
