// Commands: output and the session. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLCore
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor
import TLTokenizer

enum ShowCommand: TLCommand {
    static let about = CommandAbout("show", .session, "Display a value as a picture (heatmap, chart) or a table",
                                     examples: ["show cache.pattern[0]", "show cache[\"pattern\", 5] title=\"layer 5\""])
    static let value = Argument<Expr>("VALUE", "what to show")
    static let title = Option<String?>("title", "the picture's title")
    static let colors = Option<String>("colors", .choice(["auto", "RdBu", "viridis", "gray"]), "colour map; auto picks RdBu for signed data", default: "auto")
    static let options: [any OptionDeclaration] = [title, colors]
    static let arguments: [any ArgumentDeclaration] = [value]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdShow(a, assigning: a.assigning) }
}

enum PrintCommand: TLCommand {
    static let about = CommandAbout("print", .session, "Print values as plain text",
                                     examples: ["print v", "print \"done\" x"])
    static let value = Argument<Expr>("VALUE", "what to print", repeats: true)
    static let arguments: [any ArgumentDeclaration] = [value]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdPrint(a.all(value), toStandardError: false) }
}

enum WarnCommand: TLCommand {
    static let about = CommandAbout("warn", .session, "Print values as plain text on standard error",
                                     examples: ["warn \"careful: the prompts differ in length\""])
    static let value = Argument<Expr>("VALUE", "what to print", repeats: true)
    static let arguments: [any ArgumentDeclaration] = [value]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdPrint(a.all(value), toStandardError: true) }
}

enum SaveCommand: TLCommand {
    static let about = CommandAbout("save", .session, "Write a value to a file: .png .svg .csv .json .npy .safetensors",
                                     examples: ["save v \"steer.npy\"", "save cache.pattern[0] heads.png"])
    static let value = Argument<Expr>("VALUE", "what to save")
    static let file = Argument<Expr>("FILE", .path, "the file; its extension picks the format")
    static let format = Option<String?>("format", .choice(["png", "svg", "csv", "json", "npy", "safetensors"]), "override the format", default: .described("from the extension"))
    static let options: [any OptionDeclaration] = [format]
    static let arguments: [any ArgumentDeclaration] = [value, file]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdSave(a) }
}

enum VarsCommand: TLCommand {
    static let about = CommandAbout("vars", .session, "List session variables with their types and shapes",
                                     examples: ["vars"])
    static func run(_ a: Invocation, in session: Session) throws -> Value { session.cmdVars() }
}

enum ClearCommand: TLCommand {
    static let about = CommandAbout("clear", .session, "Clear the screen; with names, forget those variables (clear * forgets every one)",
                                     examples: ["clear", "clear pos neg", "clear *"],
                                     details: "Alone, clear only clears the terminal (or the cell's output in a notebook), as in psql and IPython; no variable is touched.")
    static let name = Argument<Expr?>("NAME", .word, "a variable to forget, e.g. clean; * forgets them all", repeats: true)
    static let arguments: [any ArgumentDeclaration] = [name]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdClear(a) }
}

enum SetCommand: TLCommand {
    static let about = CommandAbout("set", .session, "Show or change session settings",
                                     examples: ["set", "set threads=2 precision=3", "set matmul=medium"])
    static let threads = Option<Int?>("threads", "CPU threads for numeric work (matrix products, attention, element-wise passes)", default: .described("all cores"), bounds: .atLeast(1, atMost: .value(256)))
    static let matmul = Option<MatmulPrecision?>("matmul", "weight products in Float32 (highest) or, on Intel AMX, bf16 with Float32 sums: high ≈ 16 bits, medium ≈ 8 bits (like torch.set_float32_matmul_precision)", default: .described("highest"))
    static let precision = Option<Int?>("precision", "significant digits in tables", default: .described("4"), bounds: .atLeast(1, atMost: .value(12)))
    static let color = Option<Bool?>("color", "use colour in the terminal", default: .described("true when a terminal"))
    static let seed = Option<Int?>("seed", "default random seed", default: .described("0"))
    static let options: [any OptionDeclaration] = [threads, matmul, precision, color, seed]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdSet(a) }
}

enum HelpCommand: TLCommand {
    static let about = CommandAbout("help", .session, "List the verbs, or explain one verb or function",
                                     examples: ["help", "help patch", "help mean"])
    static let topic = Argument<Expr?>("TOPIC", .word, "a verb or function name")
    static let arguments: [any ArgumentDeclaration] = [topic]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdHelp(a) }
}

enum ExitCommand: TLCommand {
    static let about = CommandAbout("exit", .session, "Leave tlsh: the REPL, or the rest of a script or -c (quit, exit(), \\q and .quit too)",
                                     examples: ["exit"],
                                     details: "In a notebook it stops nothing: use Kernel › Shut Down Kernel.")
    static func run(_ a: Invocation, in session: Session) throws -> Value { session.exitRequested = true; return .none }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    /// `print` and `warn`: the values as plain text, on standard output or standard error.
    func cmdPrint(_ values: [Expr], toStandardError: Bool) throws -> Value {
        let text = try values.map { try plainString(evaluate($0)) }.joined(separator: " ")
        output?.write(text + "\n", toStandardError: toStandardError)
        return .none
    }

    func cmdClear(_ a: Invocation) throws -> Value {
        let names = a.all(ClearCommand.name)
        // Alone it clears the screen, as psql's and IPython's clear do: forgetting every
        // variable takes `clear *`.
        if names.isEmpty { output?.clearScreen(); return .none }
        if names.contains(where: { $0.kind == .bareWord("*") || $0.kind == .wildcard }) {
            variables.removeAll(); lastCache = nil
        } else {
            for p in names {
                guard let name = p.dottedName ?? (try? stringValue(p)) else { continue }
                guard variables.removeValue(forKey: name) != nil else { throw TLLangError.at(p.range, "no variable '\(name)' to clear") }
            }
        }
        return .none
    }

    func cmdHelp(_ a: Invocation) throws -> Value {
        let topic = a.expression(of: HelpCommand.topic).map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
        if let topic, !topic.isEmpty {
            guard let text = CommandTable.standard.help(for: topic) else {
                let hint = CommandTable.standard.suggestTopic(for: topic).map { "did you mean '\($0)'?" }
                throw TLLangError.at(a.range, "no help for '\(topic)'", hint: hint ?? "type help for the list of verbs")
            }
            return .result(Display(text: text), data: nil)
        }
        return .result(Display(text: CommandTable.standard.helpOverview()), data: nil)
    }

    func cmdVars() -> Value {
        let rows = variables.keys.sorted().map { name -> [Table.Cell] in
            let v = variables[name]!
            var detail = ""
            switch v {
            case .cache(let c): detail = "\(c.tokens.count) tokens, \(c.cache.count) activations" + (c.prompt.map { ": \"\($0)\"" } ?? "")
            case .number(let n): detail = formatNumber(n)
            case .string(let s): detail = "\"\(s)\""
            case .metric(let m): detail = m.description
            case .tensor(let t): detail = "axes " + t.axes.joined(separator: ", ")
            default: break
            }
            return [.text(name), .text(v.typeName), .text(detail)]
        }
        return .result(Display(text: rows.isEmpty ? "no variables" : "", tables: rows.isEmpty ? [] : [Table(columns: ["name", "type", "value"], rows: rows)]), data: nil)
    }

    func cmdSet(_ a: Invocation) throws -> Value {
        // Every value is checked before any is applied, so a failed `set` changes nothing.
        let threads = try a[SetCommand.threads]
        let matmul = try a.expression(of: SetCommand.matmul).map { m in
            let name = try m.dottedName ?? stringValue(m)
            guard let precision = MatmulPrecision(rawValue: name) else {
                throw TLLangError.at(m.range, "matmul must be highest, high or medium, not \(name)")
            }
            do { try MatmulPrecision.validate(precision) } catch { throw TLLangError.at(m.range, "\(error)") }
            if let model = current?.model, !model.reducedPrecisionPermitted(precision) {
                throw TLLangError.at(m.range, "matmul=\(name) keeps a bf16 copy of the weights, "
                    + "\(bf16CopySize(model, precision)) for this model, more than half "
                    + "of the memory available; stay at matmul=highest" + (precision == .high ? " or try matmul=medium (half the size)" : ""))
            }
            return precision
        }
        let precision = try a[SetCommand.precision]
        let seed = try a[SetCommand.seed]
        let color = try a[SetCommand.color]
        // Both take effect from the next statement: each statement runs under the settings'
        // engine context as it stood when the statement began.
        if let threads { settings.threads = threads }
        if let matmul { settings.matmul = matmul }
        if let precision { settings.precision = precision }
        if let seed { settings.seed = seed }
        if let color {
            settings.color = color
            output?.useColor(color)
        }
        let rows: [[Table.Cell]] = [[.text("threads"), .int(settings.threads)], [.text("matmul"), .text(settings.matmul.rawValue)],
                                    [.text("precision"), .int(settings.precision)], [.text("seed"), .int(settings.seed)],
                                    [.text("color"), .text(settings.color.map { "\($0)" } ?? "auto")]]
        return .result(Display(tables: [Table(title: "settings", columns: ["setting", "value"], rows: rows)]), data: nil)
    }

    /// `show` displays at once (Jupyter display_data, the REPL's terminal picture), like IPython's
    /// display(). Its value is what it showed, so `p = show x` then `save p "p.png"` saves the picture;
    /// a bare `show x` returns nothing, so the picture is not shown twice.
    func cmdShow(_ a: Invocation, assigning: Bool) throws -> Value {
        guard let e = a.expression(of: ShowCommand.value) else { throw TLLangError.at(a.range, "show needs a value, e.g. show cache.pattern[0]") }
        let v = try evaluate(e)
        let title = try a[ShowCommand.title]
        var shown: Display
        switch v {
        case .tensor(let t):
            let name = title ?? e.range.text(in: sourceOfLastStatement ?? "")
            do { shown = Display(pictures: [try picture(of: t, title: name)]) } catch let err as TLLangError {
                throw TLLangError.at(e.range, err.description)
            }
        case .result(var d, _):
            if let title, !d.pictures.isEmpty { d.text = title + (d.text.isEmpty ? "" : "\n" + d.text) }
            shown = d
        default:
            guard let d = try display(of: v) else { return .none }
            shown = d
        }
        try checkCancelled()  // interrupted while the value was computed: draw nothing
        output?.display(shown)
        guard assigning else { return .none }
        return .result(shown, data: SaveFormats.tensor(of: v))
    }

    func cmdSave(_ a: Invocation) throws -> Value {
        guard let e = a.expression(of: SaveCommand.value), let f = a.expression(of: SaveCommand.file) else { throw TLLangError.at(a.range, "save needs a value and a file, e.g. save v \"v.npy\"") }
        let v = try evaluate(e)
        let path: String
        if let name = f.dottedName { path = name } else { path = try stringValue(f) }
        let ext = try a[SaveCommand.format] ?? (path as NSString).pathExtension.lowercased()
        let target = (path as NSString).expandingTildeInPath
        // Refuse a directory, device, FIFO, socket or link before encoding anything (which may be slow).
        if let kind = SafeFileWriter.kind(at: target), kind != "a regular file" {
            throw TLLangError.at(f.range, SafeFileWriter.Failure.notARegularFile(path: path, kind: kind).description)
        }
        // A whole cache goes to the file entry by entry (it may be larger than memory: store=disk).
        if ext == "safetensors", case .cache(let c) = v {
            var written = 0
            do {
                try SafeFileWriter.write(toPath: target) { append in try SaveFormats.writeCache(c) { written += $0.count; try append($0) } }
            } catch { throw TLLangError.at(f.range, (error as? TLLangError)?.description ?? "\(error)") }
            return .result(Display(text: "saved \(path) (\(written) bytes)"), data: nil)
        }
        let bytes: [UInt8]
        do { bytes = try SaveFormats.encode(v, format: ext, session: self) } catch let err as TLLangError {
            throw TLLangError.at(f.range, err.description)
        }
        do { try SafeFileWriter.write(bytes, toPath: target) } catch {
            throw TLLangError.at(f.range, error.description)
        }
        return .result(Display(text: "saved \(path) (\(bytes.count) bytes)"), data: nil)
    }
}
