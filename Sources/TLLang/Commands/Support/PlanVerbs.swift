// loss, test, lens and generate on a non-local backend (nnsight, NDIF): each statement is one plan
// whose reads are reduced where the model runs (Sources/TLInterp/PlanReductions.swift), so only
// what the display shows comes back — a row of log-probabilities per position for loss, the answer
// tokens' values and ranks and the top k for test, the top k of every lens row — and generation is
// a plan run (PlanGeneration.swift). They need only the model's config and tokenizer here, so they
// work on a model loaded with weights=false. Under backend local these verbs keep their own paths.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

extension Session {
    /// saes= splices SAEs into the Swift engine's forward; a plan cannot carry them yet.
    func refuseSplicesOnPlan(_ a: Invocation, verb: String) throws {
        guard a.expression(of: Splice.saes) != nil else { return }
        throw TLLangError.at(a.range, "\(verb) saes= runs on the Swift engine only for now (SAEs are not spliced into \(backend.kind.rawValue) plans)",
                             hint: "`backend local` first")
    }

    /// A plan's tokens from a prompt, token ids or a cache (its tokens run again); nil: the last cache's.
    func planInput(_ e: Expr?, range: SourceRange) throws -> (ids: [Int], prompt: String?) {
        let m = try requireModel()
        guard let e else {
            guard let c = lastCache else {
                throw TLLangError.at(range, "there is no cache yet", hint: "run a prompt first: cache = run \"The capital of France is\"")
            }
            return (c.tokens, c.prompt)
        }
        switch try evaluate(e) {
        case .string(let s): return (try m.tokens(s), s)
        case .list(let items): return (try tokenIDs(items, range: e.range), nil)
        case .cache(let c): return (c.tokens, c.prompt)
        case let v: throw TLLangError.at(e.range, "expected a prompt string, token ids or a cache, not a \(v.typeName)")
        }
    }

    /// Runs a plan for `verb` and says where it ran; `detail` says what the worker reduced.
    func executeVerbPlan(_ plan: InterventionPlan, verb: String, model m: LoadedModel, range: SourceRange,
                         detail: String? = nil) throws -> PlanResult {
        let started = Date()
        let r = try planned(range) { try executePlan(plan, model: m, range: range) }
        note(String(format: "%@: %@ ran as a plan of %d run%@ in one nnsight session in %.2f s%@; Hugging Face weights, process=false",
                    backend.kind.rawValue, verb, plan.runs.count, plan.runs.count == 1 ? "" : "s", Date().timeIntervalSince(started),
                    detail.map { " (\($0))" } ?? ""))
        return r
    }

    func planValue(_ r: PlanResult, run: Int = 0, _ name: String, range: SourceRange) throws -> Tensor {
        guard let t = r.runs[run][name] else { throw TLLangError.at(range, "the worker sent back no \(name)") }
        return t
    }

    // MARK: loss

    /// Each position's next-token log-probability: one (value, rank) pair per position comes back.
    func lossThroughPlan(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let text = a.expression(of: LossCommand.text)!
        let input = try evaluate(text)
        if case .cache(let c) = input {
            // A cache holds its logits: nothing to run.
            let loss = crossEntropyLoss(logits: c.logits, tokens: [c.tokens])
            return value(of: LossResult(mean: loss.mean, perToken: loss.perToken.reshaped([-1]), tokens: c.strTokens, showPerToken: try a[LossCommand.perToken]))
        }
        let ids: [Int]
        switch input {
        case .string(let s): ids = try m.tokens(s)
        case .list(let items): ids = try tokenIDs(items, range: text.range)
        default: throw TLLangError.at(text.range, "loss takes a text, token ids or a cache, not a \(input.typeName)")
        }
        guard ids.count >= 2 else {
            throw TLLangError.at(text.range, "loss needs at least two tokens (each token is predicted from the ones before it); this text has \(ids.count)",
                                 hint: "give a longer text, e.g. loss \"Hello world!\"")
        }
        var read = InterventionPlan.Read(InterventionPlan.logits, positions: Array(0..<(ids.count - 1)))
        read.reduce = .init(logSoftmax: true, pick: .columns(Array(ids.dropFirst())))
        let r = try executeVerbPlan(InterventionPlan(runs: [.init(tokens: ids, reads: [read])]), verb: "loss", model: m, range: a.range)
        let pairs = try planValue(r, InterventionPlan.logits, range: a.range)  // [1, P-1, 2]: (log-prob, rank)
        let per = (0..<(ids.count - 1)).map { -pairs.data[2 * $0] }
        let mean = Float(per.reduce(0.0) { $0 + Double($1) } / Double(per.count))
        return value(of: LossResult(mean: mean, perToken: Tensor(shape: [per.count], data: per), tokens: m.strTokens(ids),
                                    showPerToken: try a[LossCommand.perToken]))
    }

    // MARK: test

    /// Per answer position: the answer token's logit and rank, its log-probability, and the top k
    /// logits; probabilities come from log-sum-exp = logit − log-probability.
    func testThroughPlan(_ a: Invocation, promptIDs: [Int], answerIDs: [Int], k: Int) throws -> Value {
        let m = try requireModel()
        let positions = answerIDs.indices.map { promptIDs.count - 1 + $0 }
        var logit = InterventionPlan.Read(InterventionPlan.logits, positions: positions)
        logit.reduce = .init(pick: .columns(answerIDs))
        var logProb = InterventionPlan.Read(InterventionPlan.logits, positions: positions)
        logProb.key = "log_prob"
        logProb.reduce = .init(logSoftmax: true, pick: .columns(answerIDs))
        var top = InterventionPlan.Read(InterventionPlan.logits, positions: positions)
        top.key = "top"
        top.reduce = .init(topK: k)
        let plan = InterventionPlan(runs: [.init(tokens: promptIDs + answerIDs, reads: [logit, logProb, top])])
        let r = try executeVerbPlan(plan, verb: "test", model: m, range: a.range)
        let l = try planValue(r, InterventionPlan.logits, range: a.range), lp = try planValue(r, "log_prob", range: a.range)
        let t = try planValue(r, "top", range: a.range)
        let kk = t.shape[2]
        var answers: [(rank: Int, logit: Float, prob: Float)] = [], tops: [[TopTokens.Entry]] = []
        for i in answerIDs.indices {
            let lse = l.data[2 * i] - lp.data[2 * i]
            answers.append((Int(l.data[2 * i + 1]), l.data[2 * i], expf(lp.data[2 * i])))
            tops.append((0..<kk).map { j in
                let v = t.data[(i * kk + j) * 2], id = Int(t.data[(i * kk + j) * 2 + 1])
                return TopTokens.Entry(token: m.strTokens([id])[0], id: id, prob: expf(v - lse), logit: v)
            })
        }
        return testDisplay(m, promptIDs: promptIDs, answerIDs: answerIDs, answers: answers, tops: tops, k: k)
    }

    /// test's display from each answer token's (rank, logit, prob) and the top k before it.
    func testDisplay(_ m: LoadedModel, promptIDs: [Int], answerIDs: [Int], answers: [(rank: Int, logit: Float, prob: Float)],
                     tops: [[TopTokens.Entry]], k: Int) -> Value {
        var d = Display(text: "Tokenized prompt: \(m.strTokens(promptIDs).map { "'\($0)'" }.joined(separator: ", "))\nTokenized answer: \(m.strTokens(answerIDs).map { "'\($0)'" }.joined(separator: ", "))")
        var rankRows: [[Table.Cell]] = []
        for (i, t) in answerIDs.enumerated() {
            let p = promptIDs.count - 1 + i
            rankRows.append([.token(m.strTokens([t])[0]), .int(answers[i].rank), .float(Double(answers[i].logit)), .float(Double(answers[i].prob))])
            d.tables.append(TopTokens(title: "top \(k) at position \(p) (before \(visibleToken(m.strTokens([t])[0])))", entries: tops[i], firstRank: 0).table)
        }
        d.tables.insert(Table(title: "answer tokens", columns: [.init(name: "token"), .init(name: "rank"), .init(name: "logit", decimals: 3), .init(name: "prob", decimals: 4)], rows: rankRows), at: 0)
        return .result(d, data: nil)
    }

    // MARK: lens

    /// The lens rows of `point` (hooks and LogitLens's labels), in order.
    static func lensRows(_ point: LogitLens.Point, layers L: Int) -> [(hook: String, label: String)] {
        switch point {
        case .resid_post:
            return (0..<L).map { ("blocks.\($0).hook_resid_pre", "\($0)_pre") } + [("blocks.\(L - 1).hook_resid_post", "final_post")]
        case .resid_pre: return (0..<L).map { ("blocks.\($0).hook_resid_pre", "\($0)_pre") }
        case .resid_mid: return (0..<L).map { ("blocks.\($0).hook_resid_mid", "\($0)_mid") }
        }
    }

    /// Every row decoded where the model runs: its top k per position and, per position, the log-
    /// probability at every row of the final row's top token.
    func lensThroughPlan(_ a: Invocation) throws -> (lens: ReducedLens, tokens: [Int], positions: [Int]) {
        let m = try requireModel()
        try refuseSplicesOnPlan(a, verb: "lens")
        let (ids, _) = try planInput(a.expression(of: LensCommand.input), range: a.range)
        let P = ids.count
        let positions = try a.expression(of: LensCommand.pos).map { try indexList($0, limit: P) } ?? [P - 1]
        let k = try a[LensCommand.k], point = try a[LensCommand.at]
        let rows = Self.lensRows(point, layers: m.model.config.nLayers)
        let resolved = positions.map { ($0 + P) % P }
        let last = rows.last!.label
        var reads: [InterventionPlan.Read] = []
        for row in rows {
            var top = InterventionPlan.Read(row.hook, positions: resolved)
            top.key = row.label
            top.reduce = .init(decode: true, logSoftmax: true, topK: k)
            var track = InterventionPlan.Read(row.hook, positions: resolved)
            track.key = row.label + " track"
            track.reduce = .init(decode: true, logSoftmax: true, pick: .argmaxOf(last))
            reads += [top, track]
        }
        let r = try executeVerbPlan(InterventionPlan(runs: [.init(tokens: ids, reads: reads)]), verb: "lens", model: m, range: a.range)
        let n = resolved.count
        var tops: [[[(token: Int, logProb: Float)]]] = []
        var trackRows: [Tensor] = []
        for row in rows {
            let t = try planValue(r, row.label, range: a.range)  // [1, n, k, 2]
            let kk = t.shape[2]
            tops.append((0..<n).map { c in (0..<kk).map { j in (Int(t.data[(c * kk + j) * 2 + 1]), t.data[(c * kk + j) * 2]) } })
            trackRows.append(try planValue(r, row.label + " track", range: a.range))  // [1, n, 2]
        }
        let tracks = (0..<n).map { c in (token: tops[rows.count - 1][c][0].token, logProbs: trackRows.map { $0.data[2 * c] }) }
        return (ReducedLens(labels: rows.map(\.label), tops: tops, tracks: tracks), ids, positions)
    }

    // MARK: generate

    /// The normal continuation and, with `steering`, the steered one, as generation runs of one plan.
    func generateThroughPlan(_ m: LoadedModel, prompt: String, ids: [Int], n: Int, sampling: Sampling,
                             steering: (vector: Tensor, hooks: [String], promptOnly: Bool, name: String)?, range: SourceRange) throws -> Value {
        let tok = try m.requireTokenizer()
        guard n <= m.model.config.nCtx - ids.count else {
            throw TLLangError.at(range, "the prompt (\(ids.count) tokens) plus \(n) new tokens exceeds the context of \(m.model.config.nCtx); ask for fewer tokens (n=\(max(0, m.model.config.nCtx - ids.count)))")
        }
        let g = InterventionPlan.Generation(newTokens: n, eos: tok.eosTokenID, sampling: sampling)
        var normal = InterventionPlan.Run(tokens: ids)
        normal.generate = g
        var runs = [normal]
        if let s = steering {
            var steered = InterventionPlan.Run(tokens: ids, writes: s.hooks.map { h in
                var w = InterventionPlan.Write(h, .add, value: .tensor(s.vector))
                w.promptOnly = s.promptOnly
                return w
            })
            steered.generate = g
            runs.append(steered)
        }
        if case .sample(let t, _, _, _, let seed) = sampling, t > 0 {
            note("note: sampling on \(backend.kind.rawValue) draws from torch's generator (seed \(seed)): the text differs from the Swift engine's for the same seed; greedy decoding (temperature=0) gives the same tokens")
        }
        let r = try executeVerbPlan(InterventionPlan(runs: runs), verb: "generate", model: m, range: range)
        func made(_ i: Int, name: String) throws -> GenerationResult.Run {
            let new = try planValue(r, run: i, InterventionPlan.Generation.resultKey, range: range).data.map { Int($0) }
            let stop = new.count < n && new.last == tok.eosTokenID ? "stopped after \(new.count) of \(n) tokens: the model produced end-of-text" : nil
            return GenerationResult.Run(name: name, text: tok.decode(new), count: new.count, stop: stop)
        }
        let first = try made(0, name: "normal")
        guard let s = steering else {
            if let stop = first.stop { note("\(stop) (\(tokenLabel(tok.eosTokenID, model: m)))") }
            return value(of: GenerationResult(prompt: prompt, normal: first))
        }
        return value(of: GenerationResult(prompt: prompt, normal: first, second: try made(1, name: s.name), comparison: .steered))
    }
}
