// The tlsh interpreter behind the kernel: runs cells in a Session and turns its Display values into
// Jupyter MIME bundles (text/plain always; text/html + text/markdown for tables; image/png +
// image/svg+xml for pictures), with progress bars as updatable displays.
import Foundation
import TLLang
import TLRender

public final class SessionBackend: KernelBackend, @unchecked Sendable {
    let session: Session
    public init(session: Session) { self.session = session }

    public var languageInfo: LanguageInfo {
        LanguageInfo(name: "tlsh", version: TLSHVersion.string, mimetype: "text/x-tlsh", fileExtension: ".tl",
                     pygmentsLexer: "text", codemirrorMode: "shell")
    }

    public var banner: String {
        "tlsh \(TLSHVersion.string) — mechanistic interpretability for transformer language models.\nType `help` for the verbs; `model` loads the embedded default model."
    }

    public var helpLinks: [HelpLink] { [HelpLink(text: "tlsh language reference", url: "https://github.com/tlsh/tlsh/blob/main/docs/LANGUAGE.md")] }

    public func execute(code: String, output: KernelOutput) -> ExecutionResult {
        let sink = KernelSessionOutput(output: output)
        session.output = sink
        defer { session.output = nil }
        do {
            let result = try session.execute(code)
            sink.finishProgress()
            if session.exitRequested {
                // IPython's exit() asks the front end to stop the kernel; tlsh says how instead of
                // stopping under a notebook that would only restart it.
                sink.write("exit stops the REPL and scripts; to stop this kernel use Kernel › Shut Down Kernel\n", toStandardError: true)
            }
            guard let result else { return .ok(result: nil) }
            // Pictures go out as their own display_data: front ends show one MIME type per output
            // and prefer HTML (the tables) over image/png, so a combined bundle would hide them.
            for picture in result.pictures { sink.show(picture) }
            return .ok(result: Self.bundle(result))
        } catch {
            sink.finishProgress()
            return .error(ename: error.name, evalue: error.message, traceback: error.rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        }
    }

    public func complete(code: String, cursor: Int) -> TLJupyter.CompletionResult {
        let r = session.completions(source: code, cursor: cursor)
        // A unique match carries its closing (`"]`, a space) when nothing follows on the line.
        let scalars = Array(code.unicodeScalars)
        let rest = String(String.UnicodeScalarView(scalars[min(max(cursor, 0), scalars.count)...].prefix { $0 != "\n" }))
        let matches = rest.allSatisfy(\.isWhitespace) ? (r.completedText(after: rest).map { [$0.trimmingCharacters(in: .whitespaces)] } ?? r.matches) : r.matches
        return TLJupyter.CompletionResult(matches: matches, cursorStart: r.start, cursorEnd: r.end)
    }

    public func inspect(code: String, cursor: Int, detailLevel: Int) -> MimeBundle? {
        session.inspect(source: code, cursor: cursor).map { MimeBundle.text($0) }
    }

    public func isComplete(code: String) -> IsCompleteResult {
        switch session.isComplete(code) {
        case .complete: return .complete
        case .incomplete(let indent): return .incomplete(indent: indent)
        case .invalid: return .invalid
        }
    }

    public func interrupt() { session.interrupt() }

    /// The MIME bundle of a Display: plain text first, then richer forms.
    static func bundle(_ d: Display) -> MimeBundle {
        var bundle = MimeBundle.text(d.plainText)
        if d.tables.isEmpty, d.text.contains("\n") || d.text.count > 60 {
            // Help and long results: the same text in a <pre> that does not break words.
            return bundle.merging(MimeBundle.html(preformatted(d.text), altText: d.plainText))
        }
        if !d.tables.isEmpty {
            let html = d.tables.compactMap { try? $0.render(style: .html) }.joined(separator: "\n")
            let markdown = d.tables.compactMap { try? $0.render(style: .markdown) }.joined(separator: "\n\n")
            let textHTML = d.text.isEmpty ? "" : preformatted(d.text) + "\n"
            bundle = bundle.merging(MimeBundle.html(textHTML + html, altText: d.plainText))
                .merging(MimeBundle.markdown((d.text.isEmpty ? "" : "```\n\(d.text)\n```\n\n") + markdown, altText: d.plainText))
        }
        return bundle
    }

    /// One picture for a notebook: text/html, an interactive view (the PNG scaled to the output
    /// area, hover values, a token view for attention patterns; see TLRender's HTMLView), then
    /// image/png as the fallback (untrusted notebooks, nbconvert, consoles) and, for small
    /// pictures, image/svg+xml; the title is text/plain and the image's alt text.
    static func pictureBundle(_ picture: AnyPicture) -> MimeBundle {
        let title = picture.title.isEmpty ? "<picture>" : picture.title
        var bundle = MimeBundle.text(title)
        if let view = try? picture.picture.renderInteractive(id: "tlsh-view-\(UUID().uuidString.lowercased())") {
            bundle = bundle.merging(MimeBundle.png(view.png.bytes, width: view.png.width, height: view.png.height, altText: title))
                .merging(MimeBundle.html(view.html, altText: title))
        }
        // An SVG has one element per cell: 70 MB for twelve heads of 241 tokens. Small ones only.
        if cellCount(picture.picture) <= maxSVGCells, let svg = try? picture.picture.renderSVG() {
            bundle = bundle.merging(MimeBundle.svg(svg, altText: title))
        }
        return bundle
    }

    static let maxSVGCells = 20_000

    static func cellCount(_ picture: any Picture) -> Int {
        switch picture {
        case let f as Figure: return f.panels.reduce(0) { $0 + $1.rows * $1.cols }
        case let h as Heatmap: return h.rows * h.cols
        default: return 0
        }
    }

    /// Text in a <pre> that wraps long lines only between words, keeping words and numbers whole
    /// (JupyterLab's own <pre> style breaks them anywhere, "12.076⏎4"); a word longer than the
    /// output area scrolls.
    static func preformatted(_ text: String) -> String {
        "<pre style=\"white-space:pre-wrap;word-break:normal;overflow-wrap:normal;overflow-x:auto\">\(escape(text))</pre>"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Forwards session output to the kernel: streams, displays (one per extra picture), progress bars.
final class KernelSessionOutput: SessionOutput {
    let output: KernelOutput
    var progressID: String?
    var lastProgressUpdate = Date.distantPast

    init(output: KernelOutput) { self.output = output }

    func write(_ text: String, toStandardError: Bool) { output.stream(toStandardError ? .stderr : .stdout, text) }

    func clearScreen() { output.clearOutput(wait: false) }

    func display(_ display: Display) {
        if !display.text.isEmpty || !display.tables.isEmpty { output.display(SessionBackend.bundle(display), displayID: nil) }
        for picture in display.pictures { show(picture) }
    }

    /// One picture as its own display_data.
    func show(_ picture: AnyPicture) { output.display(SessionBackend.pictureBundle(picture), displayID: nil) }

    func progress(_ label: String, done: Int, total: Int) {
        let bar = Self.bar(label, done: done, total: total)
        if progressID == nil {
            let id = "tlsh-progress-\(UUID().uuidString)"
            progressID = id
            output.display(.text(bar), displayID: id)
            return
        }
        // Throttle updates so a fast sweep does not flood the notebook.
        if done < total && Date().timeIntervalSince(lastProgressUpdate) < 0.1 { return }
        lastProgressUpdate = Date()
        output.updateDisplay(.text(bar), displayID: progressID!)
        if done >= total { progressID = nil }
    }

    func finishProgress() { progressID = nil }

    static func bar(_ label: String, done: Int, total: Int, width: Int = 30) -> String {
        let filled = total > 0 ? width * done / total : 0
        return "\(label) [" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "] \(done)/\(total)"
    }
}
