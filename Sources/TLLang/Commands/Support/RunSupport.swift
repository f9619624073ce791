// Running prompts for commands: a prompt or cache argument as a run (with SAEs spliced), the top
// tokens of a run, and the small helpers of the model and session verbs.
import Foundation
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor
import TLTokenizer

extension Session {
    /// "247 MB": the bf16 weight copies `precision` needs for `model`.
    func bf16CopySize(_ model: HookedTransformer, _ precision: MatmulPrecision) -> String {
        MemoryBudget.describe(bytes: Double(model.reducedPrecisionBytes(precision)))
    }

    func summary(_ m: LoadedModel) -> String {
        let c = m.model.config
        return "\(c.nLayers) layers, \(c.nHeads) heads, d_model \(c.dModel), d_vocab \(c.dVocab), n_ctx \(c.nCtx)"
    }

    /// A token-id list as written (`[464, 3139, 286]`), checked to hold whole numbers.
    func tokenIDs(_ items: [Value], range: SourceRange) throws -> [Int] {
        try items.map { item -> Int in
            guard case .number(let n) = item, n == n.rounded() else { throw TLLangError.at(range, "a token list holds whole numbers") }
            return try integer(n, at: range, what: "a token id")
        }
    }

    /// Runs a prompt (string) or token ids (list, used verbatim) with a full cache.
    /// `bos` nil: the model family's default_prepend_bos.
    /// `names`: cache only hook points whose names contain one of these texts (nil: every one).
    /// `storage`: how the cache keeps its activations (`run ... store=`); nil: in Float32, or on disk
    /// (with a note) when a Float32 cache would not fit in the memory available.
    func runPrompt(_ value: Value, bos: Bool?, range: SourceRange, saes: [SAESplice] = [], names: [String]? = nil,
                   storage: CacheStorage? = nil) throws -> CacheValue {
        let m = try requireModel()
        let ids: [Int], prompt: String?
        switch value {
        case .string(let s): ids = try m.tokens(s, bos: bos); prompt = s
        case .list(let items):
            ids = try tokenIDs(items, range: range)
            prompt = nil
        case .cache(let c):
            if saes.isEmpty { return c }
            ids = c.tokens; prompt = c.prompt  // a spliced rerun of the cache's tokens
        default: throw TLLangError.at(range, "run takes a prompt string or a list of token ids, not a \(value.typeName)")
        }
        if !backend.isLocal {
            guard storage == nil || storage == .f32 else { throw TLLangError.at(range, "store= runs on the Swift engine only for now", hint: "`backend local` first") }
            guard saes.isEmpty else {
                throw TLLangError.at(range, "saes= runs on the Swift engine only for now", hint: "`backend local` first")
            }
            return try runPromptPlan(m, ids: ids, prompt: prompt, names: names, range: range)
        }
        var o = RunOptions()
        o.cacheFilter = names.map { filter in { name in filter.contains { name.contains($0) } } } ?? { _ in true }
        o.isCancelled = monitorCancel
        o.cacheStorage = storage ?? automaticStorage(m, positions: ids.count, names: o.cacheFilter!)
        o.hooks = saes.flatMap { $0.hooks(for: m.model) }
        let out: RunOutput
        do { out = try m.model.run(tokens: [ids], options: o) } catch TLModelError.invalidInput(let msg) {
            throw TLLangError.at(range, msg)
        } catch let e as SAEError { throw TLLangError.at(range, e.description) }
        for s in saes { s.insertRecorded(into: out.cache, model: m.model) }
        return CacheValue(cache: out.cache, logits: out.logits!, tokens: ids, strTokens: m.strTokens(ids), prompt: prompt)
    }

    /// Float32, or disk when a Float32 cache of this run would not fit in memory but a disk-stored
    /// one would (said in a note; `store=f32` asks for the refusal instead).
    private func automaticStorage(_ m: LoadedModel, positions: Int, names: (String) -> Bool) -> CacheStorage {
        let storage = m.model.automaticCacheStorage(batch: 1, positions: positions, names: names)
        if storage == .disk {
            let bytes = m.model.estimatedCacheBytes(batch: 1, positions: positions, names: names)
            let spill = m.model.estimatedSpillBytes(batch: 1, positions: positions, names: names)
            note("note: this cache needs about \(MemoryBudget.describe(bytes: bytes)) in Float32, more than the \(MemoryBudget.describe(bytes: Double(MemoryBudget.availableBytes() ?? 0))) of memory available: "
                 + "its activations go to a temporary file of about \(MemoryBudget.describe(bytes: spill)) in \(EngineContext.current.effectiveSpillDirectory) (store=disk), read back when used; "
                 + "names= caches fewer, store=f16 keeps them in memory in 16 bits")
        }
        return storage
    }

    /// The cache an analysis reads: an explicit argument (cache or prompt), else the last cache.
    /// With `splicing` (a command declaring saes=, error=, ablate=), a prompt runs with those SAEs
    /// spliced in, and a cache's tokens are rerun with them.
    /// `names` narrows what a prompt's run caches (top needs only the logits).
    func cacheArgument(_ e: Expr?, range: SourceRange, splicing a: Invocation? = nil, names: [String]? = nil) throws -> CacheValue {
        let saes = try a.map { try splices($0, model: try requireModel()) } ?? []
        if let e { return try runPrompt(try evaluate(e), bos: nil, range: e.range, saes: saes, names: names) }
        guard let c = lastCache else {
            throw TLLangError.at(range, "there is no cache yet", hint: "run a prompt first: cache = run \"The capital of France is\"")
        }
        return saes.isEmpty ? c : try runPrompt(.cache(c), bos: nil, range: range, saes: saes)
    }

    /// The k most likely next tokens at `position` of a cache's run. `firstRank`: see TopTokens.
    func topTokens(_ c: CacheValue, position: Int, k: Int, title: String, firstRank: Int = 1) throws -> TopTokens {
        let m = try requireModel()
        let logits = try c.logits.select(axis: 0, index: 0)  // [pos, vocab]
        let P = logits.shape[0], V = logits.shape[1]
        let p = position < 0 ? position + P : position
        guard p >= 0 && p < P else { throw TLLangError.runtime("position \(position) is out of range for \(P) tokens") }
        let row = Tensor(shape: [V], data: Array(logits.data[(p * V)..<((p + 1) * V)]))
        let probs = row.softmax()
        let entries = row.topK(k).map { t in
            TopTokens.Entry(token: m.strTokens([t.index])[0], id: t.index, prob: probs.data[t.index], logit: t.value)
        }
        return TopTokens(title: title, entries: entries, firstRank: firstRank)
    }
}
