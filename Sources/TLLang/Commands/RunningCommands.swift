// Commands: running the model and reading its predictions. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor
import TLTokenizer

enum RunCommand: TLCommand {
    static let about = CommandAbout("run", .running, "Run the model on a prompt and cache every activation",
                                     examples: ["cache = run \"The capital of France is\"", "cs = run \"The capital of France is\" saes=[s] error=true", "r = run \"The capital of France is\" names=[\"resid_post\", \"attn_out\"]", "long = run \"The capital of France is\" store=f16"],
                                     details: "The result is an activation cache; index it with TransformerLens names: cache[\"blocks.6.hook_resid_post\"], cache.resid_post[6], cache[\"pattern\", 0]. The last cache becomes the default for top, norms, dla and lens. With saes=, each SAE replaces the activation at its hook with its reconstruction (HookedSAETransformer's semantics) and the cache also holds HOOK.hook_sae_input, hook_sae_acts_pre, hook_sae_acts_post, hook_sae_recons, hook_sae_error (with error=true) and hook_sae_output; HOOK itself then holds the value the rest of the model read.")
    static let prompt = Argument<String>("PROMPT", "the prompt")
    static let names = Option<Expr?>("names", "cache only hook points whose names contain this text (or any text of a list), e.g. names=\"resid_post\"", default: .described("every hook point"))
    static let store = Option<CacheStorage?>("store", "how the cache keeps its activations: f32 exact in memory; f16 or bf16 in half the memory (rounded to nearest even, widened to Float32 when read); disk in a temporary safetensors file (TLSH_SPILL_DIR, else the system's temporary directory) read back on access and deleted with the cache", default: .described("f32, or disk (with a note) when a Float32 cache would not fit in the memory available; store=f32 refuses such a run instead"))
    static let options: [any OptionDeclaration] = [Shared.bos] + Splice.options + [names, store]
    static let arguments: [any ArgumentDeclaration] = [prompt]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdRun(a) }
}

enum TopCommand: TLCommand {
    static let about = CommandAbout("top", .running, "Show the most likely next tokens with their probabilities",
                                     examples: ["top cache k=5", "top \"The Eiffel Tower is in\"", "top \"The capital of France is\" saes=[s] error=true ablate=[453]"],
                                     details: "Without INPUT, uses \(lastCache). With saes=, the prompt (or the cache's tokens) runs again with the SAEs spliced in, as run ... saes= does.")
    static let input = Argument<Expr?>("INPUT", "a cache or a prompt")
    static let k = Option<Int>("k", "how many tokens", default: 10, bounds: .atLeast(1, atMost: .vocabulary))
    static let pos = Option<Int>("pos", "the position whose prediction to show (negative counts from the end)", default: -1)
    static let options: [any OptionDeclaration] = [k, pos] + Splice.options
    static let arguments: [any ArgumentDeclaration] = [input]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdTop(a) }
}

enum LossCommand: TLCommand {
    static let about = CommandAbout("loss", .running, "Compute the cross-entropy loss and perplexity of a text",
                                     examples: ["loss \"Hello world!\"", "loss \"Hello world!\" per_token=true"])
    static let text = Argument<Expr>("TEXT", "a text or a cache")
    static let perToken = Option<Bool>("per_token", "show the loss at every position", default: false)
    static let options: [any OptionDeclaration] = [perToken]
    static let arguments: [any ArgumentDeclaration] = [text]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdLoss(a) }
}

enum TestCommand: TLCommand {
    static let about = CommandAbout("test", .running, "Show how an answer ranks after a prompt: rank, logit and probability of each answer token",
                                     examples: ["test \"The capital of France is\" \" Paris\""])
    static let prompt = Argument<String>("PROMPT", "the prompt")
    static let answer = Argument<String>("ANSWER", "the expected continuation")
    static let k = Option<Int>("k", "how many top tokens to list beside the answer", default: 10, bounds: .atLeast(1, atMost: .vocabulary))
    static let options: [any OptionDeclaration] = [k]
    static let arguments: [any ArgumentDeclaration] = [prompt, answer]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdTest(a) }
}

enum NormsCommand: TLCommand {
    static let about = CommandAbout("norms", .running, "Show the norm of one activation at every layer",
                                     examples: ["norms cache resid_post", "norms cache attn_out pos=*"])
    static let cache = Argument<Expr>("CACHE", "the cache to read")
    static let hook = Argument<Expr>("HOOK", .hook, "which activation, e.g. resid_post")
    static let pos = Option<Expr?>("pos", .positions, "positions to show", default: .described("-1"))
    static let options: [any OptionDeclaration] = [pos]
    static let arguments: [any ArgumentDeclaration] = [cache, hook]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdNorms(a) }
}

enum LensCommand: TLCommand {
    static let about = CommandAbout("lens", .running, "Decode the residual stream at every layer into top tokens (logit lens)",
                                     examples: ["lens \"The quick brown fox jumps over the lazy\"", "lens cache pos=* k=3", "lens cache at=resid_mid", "lens \"The capital of France is\" saes=[s]"],
                                     details: "Without INPUT, uses \(lastCache). With saes=, the prompt (or the cache's tokens) runs again with the SAEs spliced in, so the lens reads the residual stream the spliced model computed.")
    static let input = Argument<Expr?>("INPUT", "a prompt or a cache")
    static let k = Option<Int>("k", "tokens per layer", default: 1, bounds: .atLeast(1, atMost: .vocabulary))
    static let pos = Option<Expr?>("pos", .positions, "positions to decode", default: .described("-1"))
    static let at = Option<LogitLens.Point>("at", "which residual-stream points to decode: resid_post, the embeddings then every block's output (TransformerLens's accumulated_resid); resid_pre, every block's input; resid_mid, every block's middle (after attention, before the MLP)", default: .resid_post)
    static let options: [any OptionDeclaration] = [k, pos, at] + Splice.options
    static let arguments: [any ArgumentDeclaration] = [input]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdLens(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdLens(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        if !backend.isLocal {
            // nnsight/NDIF: decoded and reduced where the model runs (Support/PlanVerbs.swift).
            let (lens, ids, positions) = try lensThroughPlan(a)
            return lensValue(lens, m, point: try a[LensCommand.at], positions: positions, strTokens: m.strTokens(ids), k: try a[LensCommand.k])
        }
        let c = try cacheArgument(a.expression(of: LensCommand.input), range: a.range, splicing: a)
        let P = c.tokens.count
        let positions = try a.expression(of: LensCommand.pos).map { try indexList($0, limit: P) } ?? [P - 1]
        let k = try a[LensCommand.k]
        try checkCancelled()
        let point = try a[LensCommand.at]
        let lens = try LogitLens.compute(cache: c.cache, positions: positions, at: point)
        return lensValue(lens, m, point: point, positions: positions, strTokens: c.strTokens, k: k)
    }

    func lensValue(_ lens: any LensRows, _ m: LoadedModel, point: LogitLens.Point, positions: [Int], strTokens: [String], k: Int) -> Value {
        let P = strTokens.count
        let labels = lens.labels.map { label -> String in
            if label == "final_post" { return "out" }
            // resid_post's rows are each block's input (L0 = the embeddings); the other points name theirs.
            return "L" + label.replacingOccurrences(of: "_pre", with: point == .resid_post ? "" : " pre").replacingOccurrences(of: "_mid", with: " mid")
        }
        return value(of: LensResult(lens: lens, rowLabels: labels, positions: positions,
                                    positionTokens: positions.map { strTokens[($0 + P) % P] }, k: k,
                                    tokenString: { m.strTokens([$0])[0] }))
    }

    func cmdRun(_ a: Invocation) throws -> Value {
        guard let p = a.expression(of: RunCommand.prompt) else { throw TLLangError.at(a.range, "run needs a prompt, e.g. cache = run \"The capital of France is\"") }
        let saes = try splices(a, model: try requireModel())
        let c = try runPrompt(try evaluate(p), bos: try a[Shared.bos], range: p.range, saes: saes, names: try namesFilter(a, RunCommand.names),
                              storage: try a[RunCommand.store])
        lastCache = c
        return .cache(c)
    }

    func cmdTop(_ a: Invocation) throws -> Value {
        // On nnsight a prompt's run sends back only its logits.
        let c = try cacheArgument(a.expression(of: TopCommand.input), range: a.range, splicing: a, names: backend.isLocal ? nil : [])
        let pos = try a[TopCommand.pos], k = try a[TopCommand.k]
        try checkCancelled()
        let label = c.strTokens.isEmpty ? "" : " after \(visibleToken(c.strTokens[pos < 0 ? max(0, pos + c.strTokens.count) : min(pos, c.strTokens.count - 1)]))"
        return value(of: try topTokens(c, position: pos, k: k, title: "top \(k) next tokens\(label)"))
    }

    func cmdLoss(_ a: Invocation) throws -> Value {
        if !backend.isLocal { return try lossThroughPlan(a) }  // Support/PlanVerbs.swift
        let c = try cacheArgument(a.expression(of: LossCommand.text), range: a.range)
        guard c.tokens.count >= 2 else {
            throw TLLangError.at(a.range(of: LossCommand.text), "loss needs at least two tokens (each token is predicted from the ones before it); this text has \(c.tokens.count)",
                                 hint: "give a longer text, e.g. loss \"Hello world!\"")
        }
        let loss = crossEntropyLoss(logits: c.logits, tokens: [c.tokens])
        return value(of: LossResult(mean: loss.mean, perToken: loss.perToken.reshaped([-1]), tokens: c.strTokens,
                                    showPerToken: try a[LossCommand.perToken]))
    }

    /// TransformerLens's utils.test_prompt: rank, logit and probability of each answer token.
    func cmdTest(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let tok = try m.requireTokenizer()
        let prompt = try a[TestCommand.prompt]
        var answer = try a[TestCommand.answer]
        if !answer.hasPrefix(" ") { answer = " " + answer }  // prepend_space_to_answer
        let k = try a[TestCommand.k]
        let promptIDs = try m.tokens(prompt)
        let answerIDs = tok.encode(answer)
        if !backend.isLocal { return try testThroughPlan(a, promptIDs: promptIDs, answerIDs: answerIDs, k: k) }  // Support/PlanVerbs.swift
        let c = try runPrompt(.list((promptIDs + answerIDs).map { .number(Double($0)) }), bos: false, range: a.range)
        var answers: [(rank: Int, logit: Float, prob: Float)] = [], tops: [[TopTokens.Entry]] = []
        for (i, t) in answerIDs.enumerated() {
            let p = promptIDs.count - 1 + i
            let logits = try c.logits.select(axis: 0, index: 0)
            let V = logits.shape[1]
            let row = Tensor(shape: [V], data: Array(logits.data[(p * V)..<((p + 1) * V)]))
            let probs = row.softmax()
            let rank = row.data.filter { $0 > row.data[t] }.count
            answers.append((rank, row.data[t], probs.data[t]))
            tops.append(try topTokens(c, position: p, k: k, title: "", firstRank: 0).entries)
        }
        return testDisplay(m, promptIDs: promptIDs, answerIDs: answerIDs, answers: answers, tops: tops, k: k)
    }

    func cmdNorms(_ a: Invocation) throws -> Value {
        guard let e = a.expression(of: NormsCommand.cache), case .cache(let c) = try evaluate(e) else {
            throw TLLangError.at(a.range, "norms needs a cache first, e.g. norms cache resid_post")
        }
        let hook = a.expression(of: NormsCommand.hook).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let L = c.cache.model.config.nLayers
        let posSpec = a.expression(of: NormsCommand.pos)
        let P = c.tokens.count
        let positions = try posSpec.map { try indexList($0, limit: P) } ?? [P - 1]
        var values: [Float] = []
        for l in 0..<L {
            try checkCancelled()
            let name = HookNames.actName(hook, layer: l)
            guard case .tensor(let t) = try cacheTensor(c, fullName: name, range: a.range) else { continue }
            let norms = try t.tensor.reduce(.norm, axis: -1)  // [pos]
            for p in positions { values.append(norms.data[(p + P) % P]) }
        }
        return value(of: ActivationNorms(hook: hook, norms: Tensor(shape: [L, positions.count], data: values),
                                         positionLabels: positions.map { visibleToken(c.strTokens[($0 + P) % P]) }))
    }
}
