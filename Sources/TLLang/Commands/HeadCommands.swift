// Commands: attention heads. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

enum InductionCommand: TLCommand {
    static let about = CommandAbout("induction", .heads, "Score every head for induction on repeated random tokens",
                                     examples: ["induction", "induction len=100 threshold=0.5"])
    static let len = Option<Int>("len", "length of the random sequence that is repeated",
                              default: .computed("50, or (n_ctx − 1) / 2 when the context is shorter") { session in
                                  min(50, (try session.requireModel().model.config.nCtx - 1) / 2)
                              }, bounds: .atLeast(1, atMost: .context))
    static let seed = Option<Int>("seed", "random seed", default: .computed("the session's seed (set seed=…; 0 at start)") { $0.settings.seed })
    static let threshold = Option<Double>("threshold", "list heads scoring above this", default: 0.3)
    static let options: [any OptionDeclaration] = [len, seed, threshold]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdInduction(a) }
}

enum DetectCommand: TLCommand {
    static let about = CommandAbout("detect", .heads, "Score every head against a TransformerLens head pattern",
                                     examples: ["detect previous_token \"some text\"", "detect duplicate_token \"a b c a b c\" exclude_bos=true"])
    static let kind = Argument<Expr>("KIND", .choice(["previous_token", "duplicate_token", "induction"]), "which pattern")
    static let text = Argument<String>("TEXT", "the text to run, or a list of token ids used as given")
    static let measure = Option<ErrorMeasure>("measure", "how pattern and detector are compared", default: .mul)
    static let excludeBos = Option<Bool>("exclude_bos", "ignore attention to the first token", default: false)
    static let excludeCurrent = Option<Bool>("exclude_current", "ignore attention to the current token", default: false)
    static let options: [any OptionDeclaration] = [measure, excludeBos, excludeCurrent]
    static let arguments: [any ArgumentDeclaration] = [kind, text]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdDetect(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdInduction(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let len = try a[InductionCommand.len]
        guard 2 * len + 1 <= m.model.config.nCtx else {
            throw TLLangError.at(a.range(of: InductionCommand.len), "len=\(len) needs 2 × \(len) + 1 = \(2 * len + 1) tokens but the context is \(m.model.config.nCtx)", hint: "use len=\((m.model.config.nCtx - 1) / 2) or less")
        }
        let seed = try a[InductionCommand.seed]
        let threshold = Float(try a[InductionCommand.threshold])
        let r = backend.isLocal
            ? try HeadDetector.induction(model: m.model, length: len, seed: UInt64(bitPattern: Int64(seed)), bos: m.bos,
                                         isCancelled: monitorCancel)
            : try inductionThroughPlan(m, length: len, seed: UInt64(bitPattern: Int64(seed)), range: a.range)
        let loss = r.lossPerToken.data
        let first = loss.prefix(len).reduce(0, +) / Float(max(len, 1))
        let second = loss.suffix(len).reduce(0, +) / Float(max(len, 1))
        let above = r.scores.data.filter { $0 > threshold }.count
        return value(of: HeadScores(scores: r.scores,
                                    summary: String(format: "repeated random tokens (2 × %d): loss %.3f on the first copy, %.3f on the second", len, first, second),
                                    tableTitle: "\(above) head\(above == 1 ? "" : "s") score\(above == 1 ? "s" : "") above \(threshold)",
                                    threshold: threshold, scoreName: "induction score"))
    }

    func cmdDetect(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        guard let k = a.expression(of: DetectCommand.kind), let kindName = k.dottedName ?? (try? stringValue(k)),
              let kind = HeadPattern(rawValue: kindName.replacingOccurrences(of: "_head", with: "")) else {
            throw TLLangError.at(a.range, "detect needs a kind: previous_token, duplicate_token or induction")
        }
        // Text goes through the tokenizer; a list of token ids is used as given (a model without a
        // tokenizer, or an exact sequence of repeats).
        let tokens: [Int]
        if let e = a.expression(of: DetectCommand.text), case .list(let items) = try evaluate(e) {
            tokens = try tokenIDs(items, range: e.range)
        } else {
            tokens = try m.tokens(try a[DetectCommand.text])
        }
        let measure = try a[DetectCommand.measure]
        let excludeBOS = try a[DetectCommand.excludeBos], excludeCurrent = try a[DetectCommand.excludeCurrent]
        let scores = backend.isLocal
            ? try HeadDetector.detect(model: m.model, tokens: tokens, pattern: kind, excludeBOS: excludeBOS,
                                      excludeCurrentToken: excludeCurrent, measure: measure, isCancelled: monitorCancel)
            : try detectThroughPlan(m, tokens: tokens, pattern: kind, excludeBOS: excludeBOS, excludeCurrentToken: excludeCurrent,
                                    measure: measure, range: a.range)
        return value(of: HeadScores(scores: scores, summary: "\(kind.rawValue) head scores (\(measure.rawValue)) on \(tokens.count) tokens",
                                    tableTitle: "top heads", threshold: 0.3, scoreName: "\(kind.rawValue) score"))
    }
}
