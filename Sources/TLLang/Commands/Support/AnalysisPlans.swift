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
        let r = try executeVerbPlan(dp.plan, verb: "dla", model: m, range: range,
                                    detail: "each of \(dp.plan.runs[0].reads.count) reads projected onto the unembedding on the worker")
        return try planned(range) { try dp.attribution(r) }
    }

    func inductionThroughPlan(_ m: LoadedModel, length: Int, seed: UInt64, range: SourceRange) throws
        -> (tokens: [Int], scores: Tensor, lossPerToken: Tensor) {
        let tokens = HeadDetector.repeatedRandomTokens(length: length, seed: seed, bos: m.bos, vocab: m.model.config.dVocab)
        let plan = HeadScorePlan.induction(config: m.model.config, tokens: tokens, length: length)
        let r = try executeVerbPlan(plan, verb: "induction", model: m, range: range,
                                    detail: "patterns reduced to per-head stripes and logits to losses on the worker")
        let out = try planned(range) { try HeadScorePlan.inductionResult(r, config: m.model.config) }
        return (tokens, out.scores, out.lossPerToken)
    }

    func detectThroughPlan(_ m: LoadedModel, tokens: [Int], pattern: HeadPattern, excludeBOS: Bool, excludeCurrentToken: Bool,
                           measure: ErrorMeasure, range: SourceRange) throws -> Tensor {
        let cfg = m.model.config
        let plan = try planned(range) {
            try HeadScorePlan.detect(config: cfg, tokens: tokens, pattern: pattern, excludeBOS: excludeBOS,
                                     excludeCurrentToken: excludeCurrentToken, measure: measure)
        }
        let r = try executeVerbPlan(plan, verb: "detect", model: m, range: range, detail: "patterns reduced to per-head scores on the worker")
        return try planned(range) {
            try HeadScorePlan.detectScores(r, config: cfg, tokens: tokens, pattern: pattern, excludeBOS: excludeBOS,
                                           excludeCurrentToken: excludeCurrentToken, measure: measure)
        }
    }
}
