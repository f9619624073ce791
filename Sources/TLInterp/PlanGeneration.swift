// Generation as a plan run: continue the run's tokens for up to n new tokens (greedy or sampled,
// stopping at an end-of-text token), with the run's writes active: at every position of every step,
// or (`promptOnly`) only while the prompt runs. The Swift engine runs it with `Generator` (KV
// cache, TransformerLens's semantics); the nnsight worker as one trace per step inside the plan's
// session, so a remote generation is still one job. Greedy decoding gives the same tokens on both;
// sampling on nnsight draws from torch's generator, so sampled text differs from the Swift engine's.
import TLModel
import TLTensor

extension InterventionPlan {
    public struct Generation: Sendable, Equatable {
        public var newTokens: Int
        /// Stop after producing this token (nil: always make `newTokens`).
        public var eos: Int?
        public var sampling: Sampling
        public init(newTokens: Int, eos: Int? = nil, sampling: Sampling = .greedy) {
            self.newTokens = newTokens; self.eos = eos; self.sampling = sampling
        }
        /// The result's name: the new tokens [count] (ids as Float32, exact below 2^24).
        public static let resultKey = "generated"
    }

    /// One generation run on the Swift engine.
    static func generate(_ run: Run, _ g: Generation, on model: HookedTransformer, isCancelled: (() -> Bool)?) throws -> [String: Tensor] {
        var hooks: [ForwardHook] = [], promptOnly: [ForwardHook] = []
        for w in run.writes {
            guard model.hookNames.contains(w.hook) else { throw TLInterpError.invalidArgument("'\(w.hook)' is not a hook point of this model") }
            guard case .tensor(let v) = w.value else { throw TLInterpError.invalidArgument("a generation's writes hold numbers") }
            let hook = ForwardHook(name: w.hook) { t, _ in try PlanCells.write(&t, v, positions: nil, head: w.head, op: w.op) }
            if w.promptOnly { promptOnly.append(hook) } else { hooks.append(hook) }
        }
        let made = try Generator(model: model).generate(prompt: run.tokens, maxNewTokens: g.newTokens, sampling: g.sampling,
                                                        stopAtEOS: g.eos != nil, eos: g.eos ?? 0, hooks: hooks, promptOnlyHooks: promptOnly,
                                                        monitor: WorkMonitor(isCancelled: isCancelled))
        return [Generation.resultKey: Tensor(shape: [made.count], data: made.map(Float.init))]
    }
}
