// `generate`: a continuation, or a normal and a steered (or SAE-spliced) continuation side by side.
import TLRender

/// One or two continuations of a prompt.
struct GenerationResult: ResultModel {
    struct Run {
        /// How the table names the run: "normal", "SAEs spliced", "steered (resid_post layer 6)".
        var name: String
        var text: String
        var count: Int
        /// Why it ended before n tokens, when it did.
        var stop: String?
    }
    enum Comparison { case none, spliced, steered }

    var prompt: String
    var normal: Run
    var second: Run?
    var comparison: Comparison = .none

    func display(_ context: PresentationContext) -> Display {
        guard let second else { return Display(text: prompt + normal.text) }
        let table = Table(title: "\"\(prompt)\" continued", columns: ["run", "tokens", "continuation"],
                          rows: [normal, second].map { [.text($0.name), .int($0.count), .text($0.text)] })
        if comparison == .spliced {
            return Display(text: "normal:  \(prompt)\(normal.text)\nspliced: \(prompt)\(second.text)", tables: [table])
        }
        // Steered: the table alone; the same continuations as text above it would say everything twice.
        func tokens(_ c: Int) -> String { "\(c) token\(c == 1 ? "" : "s")" }
        let stops = [("normal", normal.stop), ("steered", second.stop)].compactMap { run, stop in stop.map { "\(run): \($0)" } }
        let summary = normal.count == second.count ? "\(tokens(normal.count)) each" : "normal \(tokens(normal.count)), steered \(tokens(second.count))"
        return Display(text: ([summary] + stops).joined(separator: "\n"), tables: [table])
    }
}
