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

    public func complete(code: String, cursor: Int) -> TLKernel.CompletionResult {
        let r = session.completions(source: code, cursor: cursor)
        return TLKernel.CompletionResult(matches: r.matches, cursorStart: r.start, cursorEnd: r.end)
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
        if !d.tables.isEmpty {
            let html = d.tables.compactMap { try? $0.render(style: .html) }.joined(separator: "\n")
            let markdown = d.tables.compactMap { try? $0.render(style: .markdown) }.joined(separator: "\n\n")
            let textHTML = d.text.isEmpty ? "" : "<pre>\(escape(d.text))</pre>\n"
            bundle = bundle.merging(MimeBundle.html(textHTML + html, altText: d.plainText))
                .merging(MimeBundle.markdown((d.text.isEmpty ? "" : "```\n\(d.text)\n```\n\n") + markdown, altText: d.plainText))
        }
        return bundle
    }

    /// image/png and image/svg+xml (hover values) of one picture, with its title as text/plain.
    static func pictureBundle(_ picture: AnyPicture) -> MimeBundle {
        var bundle = MimeBundle.text(picture.title.isEmpty ? "<picture>" : picture.title)
        if let png = try? picture.picture.renderPNG() {
            bundle = bundle.merging(MimeBundle.png(png.bytes, width: png.width, height: png.height, altText: picture.title))
        }
        if let svg = try? picture.picture.renderSVG() { bundle = bundle.merging(MimeBundle.svg(svg, altText: picture.title)) }
        return bundle
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
