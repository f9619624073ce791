// Helpers of the analysis commands (patch, dla, induction, detect, generate): token targets,
// checked index sweeps and activation names, head tables.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// A token target: `" Paris"` or `" Paris" - " Rome"` → (answer, wrong) ids and a label.
    func tokenTarget(_ e: Expr, model m: LoadedModel) throws -> (answer: Int, wrong: Int?, label: String) {
        func single(_ x: Expr) throws -> Int {
            let id: Int
            switch x.kind {
            case .string(let s):
                do { return try m.singleToken(s) } catch let TLLangError.runtime(msg, _, h) { throw TLLangError.at(x.range, msg, hint: h) }
            case .integer(let n): id = n
            default:
                guard case .number(let n) = try evaluate(x) else { throw TLLangError.at(x.range, "expected a token string such as \" Paris\"") }
                id = try integer(n, at: x.range, what: "a token id")
            }
            // Ids index the unembedding; an id outside the vocabulary must be an error, not a crash later.
            let vocabulary = m.model.config.dVocab
            guard id >= 0 && id < vocabulary else { throw TLLangError.at(x.range, "token id \(id) is outside the vocabulary (0..<\(vocabulary))") }
            return id
        }
        if case .binary(.subtract, let l, let r) = e.kind {
            let a = try single(l), b = try single(r)
            return (a, b, "\(visibleToken(m.strTokens([a])[0])) − \(visibleToken(m.strTokens([b])[0]))")
        }
        let a = try single(e)
        return (a, nil, visibleToken(m.strTokens([a])[0]))
    }

    func cacheVariable(_ name: String, option: Expr?, range: SourceRange) throws -> CacheValue {
        if let option { return try runPrompt(try evaluate(option), bos: nil, range: option.range) }
        guard let v = variables[name] else {
            throw TLLangError.at(range, "patch needs a '\(name)' cache", hint: "\(name) = run \"...\" (or pass \(name)=...)")
        }
        guard case .cache(let c) = v else { throw TLLangError.at(range, "'\(name)' is a \(v.typeName), not a cache") }
        return c
    }

    /// How many heads `hook` has, and what to call them in an error: k and v have n_key_value_heads
    /// heads under grouped- and multi-query attention, so head=* sweeps those, and a query-head
    /// index beyond them is refused at head=.
    func headAxis(of hook: String, config cfg: ModelConfig) -> (count: Int, noun: String) {
        let probe = hook.contains(".") ? hook : HookNames.actName(hook, layer: 0)
        let heads = HookRegistry.headCount(of: probe, config: cfg) ?? cfg.nHeads
        return heads == cfg.nHeads ? (heads, "heads")
            : (heads, "key/value heads (each \(hook) head serves \(cfg.nHeads / max(heads, 1)) query heads)")
    }

    /// The indices an option names, each checked against its axis so that an error underlines
    /// the option's value (not the whole statement) and says the valid range.
    func checkedIndices(_ e: Expr, limit: Int, option: String, what: String) throws -> [Int] {
        let indices = try indexList(e, limit: limit)
        if let bad = indices.first(where: { $0 >= limit || $0 < -limit }) {
            throw TLLangError.at(e.range, "\(option)=\(bad) is out of range: there are \(limit) \(what), 0…\(limit - 1)",
                                 hint: "negative values count from the end (\(option)=-1 is \(limit - 1)); \(option)=* takes all")
        }
        return indices
    }

    /// An activation name as the user wrote it (`resid_post`, `blocks.0.hook_resid_post`),
    /// refused at its own range with the nearest known short name when the model has no such hook.
    func checkActivationName(_ name: String, at range: SourceRange, model m: LoadedModel) throws {
        // As the patcher resolves it: a dotted name as given, else the name at layer 0.
        if m.model.hookNames.contains(name.contains(".") ? name : HookNames.actName(name, layer: 0)) { return }
        let known = Session.cacheShortNames(fullNames: m.model.hookNames).filter { $0 != "logits" && $0 != "tokens" }
        let hint = Suggest.nearest(to: name, in: known + m.model.hookNames).map { "did you mean '\($0)'?" }
            ?? "activations: " + known.joined(separator: ", ")
        throw TLLangError.at(range, "'\(name)' is not an activation of this model", hint: hint)
    }

    func patchDisplay(_ r: PatchResult, metric: MetricValue, tokens: [String]) -> Value {
        value(of: PatchReport(result: r, metric: metric.description, tokens: tokens))
    }

    /// How a token reads in a note: `<|endoftext|>`.
    func tokenLabel(_ id: Int, model m: LoadedModel) -> String { visibleToken(m.strTokens([id])[0]) }
}
