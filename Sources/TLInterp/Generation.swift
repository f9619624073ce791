// Text generation with TransformerLens's semantics (HookedTransformer.generate): a KV cache, so
// after the first step each forward sees only the newest position; hooks stay active throughout;
// greedy or sampled decoding with temperature, top-k, top-p and a frequency penalty.
import Foundation
import TLModel
import TLTensor

/// How the next token is chosen.
public enum Sampling: Sendable, Equatable {
    case greedy
    case sample(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, freqPenalty: Float = 0, seed: UInt64 = 0)
}

/// A small, fast, seedable generator (SplitMix64) so sampled runs repeat exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates continuations, optionally with hooks (e.g. steering vectors) active.
public struct Generator {
    public let model: HookedTransformer
    public init(model: HookedTransformer) { self.model = model }

    /// Picks the next token from one row of logits [vocab] given every token so far.
    public static func choose(_ logits: [Float], history: [Int], sampling: Sampling, rng: inout SeededRandom) -> Int {
        switch sampling {
        case .greedy:
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return best
        case .sample(let temperature, let topK, let topP, let freqPenalty, _):
            if temperature == 0 { return choose(logits, history: history, sampling: .greedy, rng: &rng) }
            // In Double: a tiny temperature (1e-39) makes Float logits / temperature overflow to inf
            // and the probabilities NaN; in Double the scaled logits stay finite, so the softmax goes
            // to its limit (all mass on the largest logit: greedy) instead of sampling garbage.
            let t = Double(temperature)
            var l = logits.map { Double($0) / t }
            if freqPenalty != 0 { for h in history where h < l.count { l[h] -= Double(freqPenalty) } }
            var order = Array(l.indices)
            order.sort { l[$0] > l[$1] }
            var keep = order.count
            if let k = topK, k > 0 { keep = min(keep, k) }
            let maxL = l[order[0]]
            var probs = order.prefix(keep).map { exp(l[$0] - maxL) }
            var total = probs.reduce(0, +)
            if let p = topP, p < 1 {
                // Smallest prefix whose cumulative probability reaches p (the first is always kept).
                var cum = 0.0, cut = 0
                for (i, q) in probs.enumerated() { cum += q / total; cut = i + 1; if cum >= Double(p) { break } }
                probs = Array(probs.prefix(cut)); total = probs.reduce(0, +)
            }
            var r = Double.random(in: 0..<1, using: &rng) * total
            for (i, q) in probs.enumerated() { r -= q; if r < 0 { return order[i] } }
            return order[probs.count - 1]
        }
    }

    /// Generates up to `maxNewTokens` after each prompt (batched prompts are left-padded and
    /// masked, as TransformerLens does). Returns only the new tokens per prompt; a finished
    /// sequence stops at (and includes) EOS.
    public func generate(prompts: [[Int]], maxNewTokens: Int, sampling: Sampling = .greedy, stopAtEOS: Bool = true,
                         eos: Int = 50256, hooks: [ForwardHook] = [], promptOnlyHooks: [ForwardHook] = [],
                         monitor: WorkMonitor = .none, onToken: ((Int, Int) -> Void)? = nil) throws -> [[Int]] {
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw TLInterpError.invalidArgument("generate needs a non-empty prompt")
        }
        let longest = prompts.map(\.count).max()!
        guard maxNewTokens >= 0 else {
            throw TLInterpError.invalidArgument("the number of new tokens must be 0 or more, not \(maxNewTokens)")
        }
        // Compared without adding, so a huge maxNewTokens cannot overflow.
        guard maxNewTokens <= model.config.nCtx - longest else {
            throw TLInterpError.invalidArgument("the prompt (\(longest) tokens) plus \(maxNewTokens) new tokens exceeds the context of \(model.config.nCtx); ask for fewer tokens (n=\(max(0, model.config.nCtx - longest)))")
        }
        let B = prompts.count
        let padded = prompts.map { Array(repeating: eos, count: longest - $0.count) + $0 }
        let mask = prompts.map { Array(repeating: 0, count: longest - $0.count) + Array(repeating: 1, count: $0.count) }
        let kv = KVCache(config: model.config, batch: B)
        var rng: SeededRandom
        if case .sample(_, _, _, _, let seed) = sampling { rng = SeededRandom(seed: seed) } else { rng = SeededRandom(seed: 0) }
        var history = prompts
        var generated = Array(repeating: [Int](), count: B)
        var finished = Array(repeating: false, count: B)
        var input = padded
        var stepMask: [[Int]]? = B > 1 || prompts.contains { $0.count < longest } ? mask : nil
        for step in 0..<maxNewTokens {
            try monitor.checkCancelled()
            var o = RunOptions()
            o.hooks = step == 0 ? hooks + promptOnlyHooks : hooks
            o.kvCache = kv
            o.attentionMask = stepMask
            o.logitPositions = [-1]
            o.isCancelled = monitor.isCancelled
            let logits = try model.run(tokens: input, options: o).logits!  // [B, 1, V]
            let V = logits.shape[2]
            var next: [Int] = []
            for b in 0..<B {
                if finished[b] { next.append(eos); continue }
                let row = Array(logits.data[(b * V)..<((b + 1) * V)])
                let t = Self.choose(row, history: history[b], sampling: sampling, rng: &rng)
                next.append(t)
                generated[b].append(t)
                history[b].append(t)
                onToken?(b, t)
                if stopAtEOS && t == eos { finished[b] = true }
            }
            if finished.allSatisfy({ $0 }) {
                // Stopped early at end-of-text: the work is done, so the bar ends full (at the
                // tokens made) instead of standing at step/maxNewTokens.
                monitor.progress?(step + 1, step + 1)
                break
            }
            monitor.progress?(step + 1, maxNewTokens)
            input = next.map { [$0] }
            stepMask = stepMask == nil ? nil : Array(repeating: [1], count: B)
        }
        return generated
    }

    /// One prompt's continuation.
    public func generate(prompt: [Int], maxNewTokens: Int, sampling: Sampling = .greedy, stopAtEOS: Bool = true,
                         eos: Int = 50256, hooks: [ForwardHook] = [], promptOnlyHooks: [ForwardHook] = [],
                         monitor: WorkMonitor = .none, onToken: ((Int) -> Void)? = nil) throws -> [Int] {
        try generate(prompts: [prompt], maxNewTokens: maxNewTokens, sampling: sampling, stopAtEOS: stopAtEOS, eos: eos,
                     hooks: hooks, promptOnlyHooks: promptOnlyHooks, monitor: monitor,
                     onToken: onToken.map { f in { _, t in f(t) } })[0]
    }
}

/// Activation addition: a hook that adds `coefficient · vector` [d_model] at every position.
public func steeringHook(name: String, vector: [Float], coefficient: Float) -> ForwardHook {
    ForwardHook(name: name) { act, _ in
        let d = vector.count
        guard act.shape.last == d else {
            throw TLInterpError.invalidArgument("a steering vector of length \(d) cannot be added at \(name), whose last axis has \(act.shape.last ?? 0)")
        }
        act.data.withUnsafeMutableBufferPointer { a in
            for r in 0..<(a.count / d) { for i in 0..<d { a[r * d + i] += coefficient * vector[i] } }
        }
    }
}
