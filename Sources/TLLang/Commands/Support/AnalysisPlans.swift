// dla, induction and detect on a non-local engine (backend nnsight|ndif): each is one plan whose
// reads are reduced where the model runs (DLAPlan, HeadScorePlan), so they work on a model loaded
// without its weights and a reply is a few floats per component or head. Under backend local the
// handlers keep their direct Swift-engine path.
import Foundation
import TLInterp
import TLModel
import TLTensor

extension Session {
    /// A plan-building error from TLInterp as a statement error.
    func planned<T>(_ range: SourceRange, _ body: () throws -> T) throws -> T {
        do { return try body() } catch TLInterpError.invalidArgument(let msg) { throw TLLangError.at(range, msg) }
    }

    func dlaThroughPlan(_ m: LoadedModel, tokens: [Int], target: (answer: Int, wrong: Int?, label: String), position: Int,
                        neuronLayer: Int?, range: SourceRange) throws -> LogitAttribution {
        let dp = try planned(range) {
            try DLAPlan(config: m.model.config, hookNames: m.model.hookNames, tokens: tokens, token: target.answer, wrong: target.wrong,
                        position: position, neuronLayer: neuronLayer)
        }
        let started = Date()
        let r = try executePlan(dp.plan, model: m, range: range)
        let attr = try planned(range) { try dp.attribution(r) }
        note(String(format: "%@: dla as one run, each component projected onto the unembedding on the worker (%d reads) in %.2f s; Hugging Face weights, process=false",
                    backend.kind.rawValue, dp.plan.runs[0].reads.count, Date().timeIntervalSince(started)))
        return attr
    }

    func inductionThroughPlan(_ m: LoadedModel, length: Int, seed: UInt64, range: SourceRange) throws
        -> (tokens: [Int], scores: Tensor, lossPerToken: Tensor) {
        let tokens = HeadDetector.repeatedRandomTokens(length: length, seed: seed, bos: m.bos, vocab: m.model.config.dVocab)
        let plan = HeadScorePlan.induction(config: m.model.config, tokens: tokens, length: length)
        let started = Date()
        let r = try executePlan(plan, model: m, range: range)
        let out = try planned(range) { try HeadScorePlan.inductionResult(r, config: m.model.config) }
        note(String(format: "%@: induction as one run, patterns reduced to per-head stripes and logits to losses on the worker, in %.2f s; Hugging Face weights, process=false",
                    backend.kind.rawValue, Date().timeIntervalSince(started)))
        return (tokens, out.scores, out.lossPerToken)
    }

    func detectThroughPlan(_ m: LoadedModel, tokens: [Int], pattern: HeadPattern, excludeBOS: Bool, excludeCurrentToken: Bool,
                           measure: ErrorMeasure, range: SourceRange) throws -> Tensor {
        let cfg = m.model.config
        let plan = try planned(range) {
            try HeadScorePlan.detect(config: cfg, tokens: tokens, pattern: pattern, excludeBOS: excludeBOS,
                                     excludeCurrentToken: excludeCurrentToken, measure: measure)
        }
        let started = Date()
        let r = try executePlan(plan, model: m, range: range)
        let scores = try planned(range) {
            try HeadScorePlan.detectScores(r, config: cfg, tokens: tokens, pattern: pattern, excludeBOS: excludeBOS,
                                           excludeCurrentToken: excludeCurrentToken, measure: measure)
        }
        note(String(format: "%@: detect as one run, patterns reduced to per-head scores on the worker, in %.2f s; Hugging Face weights, process=false",
                    backend.kind.rawValue, Date().timeIntervalSince(started)))
        return scores
    }
}
