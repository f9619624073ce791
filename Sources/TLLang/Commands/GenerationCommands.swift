// Commands: generation and steering. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLInterp
import TLModel
import TLRender
import TLTensor

enum GenerateCommand: TLCommand {
    static let about = CommandAbout("generate", .generation, "Continue a prompt; with add= and at=, steer it by adding a vector to an activation",
                                     examples: ["generate \"The movie was\" n=20", "generate \"The movie was\" n=20 add=v*2.0 at=resid_post layer=6",
                           "generate \"I went to\" add=s.dec[453]*20 at=resid_post layer=2"],
                                     details: "The second run (steered, or with saes= alone the spliced one) is shown beside the normal continuation. Steer with an SAE feature by adding its decoder direction: add=s.dec[F]*COEFFICIENT at the SAE's hook (s.hook, s.layer). With saes=, the SAEs are spliced into every step of the second run.")
    static let prompt = Argument<String>("PROMPT", "the prompt")
    static let n = Option<Int>("n", "number of new tokens", default: 20, bounds: .atLeast(0, atMost: .context))
    static let temperature = Option<Double>("temperature", "sampling temperature; 0 picks the most likely token", default: 0, bounds: .atLeast(0))
    static let topK = Option<Int?>("top_k", "sample only among the k most likely tokens", bounds: .atLeast(1, atMost: .vocabulary))
    static let topP = Option<Double?>("top_p", "sample only within this cumulative probability", bounds: .above(0, atMost: 1))
    static let seed = Option<Int>("seed", "random seed for sampling", default: .computed("the session's seed (set seed=…; 0 at start)") { $0.settings.seed })
    static let add = Option<Expr?>("add", "a steering vector [d_model] added to the activation")
    static let at = Option<Expr?>("at", .hook, "where to add it", default: .described("resid_post"))
    static let layer = Option<Expr?>("layer", .layers, "the layer(s) to add it at")
    static let promptOnly = Option<Bool>("prompt_only", "add the vector only at the prompt's positions, not at generated ones", default: false)
    static let options: [any OptionDeclaration] = [n, temperature, topK, topP, seed, add, at, layer, promptOnly] + Splice.options
    static let arguments: [any ArgumentDeclaration] = [prompt]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdGenerate(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdGenerate(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let tok = try m.requireTokenizer()
        let prompt = try a[GenerateCommand.prompt]
        let n = try a[GenerateCommand.n]
        let ids = try m.tokens(prompt)
        let temperature = try a[GenerateCommand.temperature]
        let sampling: Sampling = temperature == 0 ? .greedy
            : .sample(temperature: Float(temperature), topK: try a[GenerateCommand.topK], topP: try a[GenerateCommand.topP].map(Float.init),
                      freqPenalty: 0, seed: UInt64(bitPattern: Int64(try a[GenerateCommand.seed])))
        let generator = Generator(model: m.model)
        /// The continuation's text, and a note when it ended at end-of-text before n tokens.
        func continuation(_ hooks: [ForwardHook], promptOnly: [ForwardHook] = [], label: String, name: String) throws -> GenerationResult.Run {
            let new = try generator.generate(prompt: ids, maxNewTokens: n, sampling: sampling, eos: tok.eosTokenID,
                                             hooks: hooks, promptOnlyHooks: promptOnly, monitor: monitor(label))
            let stop = new.count < n && new.last == tok.eosTokenID
                ? "stopped after \(new.count) of \(n) tokens: the model produced end-of-text" : nil
            return GenerationResult.Run(name: name, text: tok.decode(new), count: new.count, stop: stop)
        }
        // saes= splices SAEs into every step of the second run (see Commands/Support/SAESupport.swift).
        if !backend.isLocal { try refuseSplicesOnPlan(a, verb: "generate") }
        let spliceHooks = try splices(a, model: m).flatMap { $0.hooks(for: m.model) }
        guard let add = a.expression(of: GenerateCommand.add) else {
            if !backend.isLocal {  // Support/PlanVerbs.swift
                return try generateThroughPlan(m, prompt: prompt, ids: ids, n: n, sampling: sampling, steering: nil, range: a.range)
            }
            let made = try continuation([], label: "generate", name: "normal")
            if let stop = made.stop { note("\(stop) (\(tokenLabel(tok.eosTokenID, model: m)))") }
            if spliceHooks.isEmpty { return value(of: GenerationResult(prompt: prompt, normal: made)) }
            let spliced = try continuation(spliceHooks, label: "generate (SAEs spliced)", name: "SAEs spliced")
            return value(of: GenerationResult(prompt: prompt, normal: made, second: spliced, comparison: .spliced))
        }
        let dModel = m.model.config.dModel
        let addValue = try evaluate(add)
        guard case .tensor(let v) = addValue, v.tensor.rank == 1, v.tensor.count == dModel else {
            let got: String
            if case .tensor(let t) = addValue { got = "a tensor of shape [\(t.tensor.shape.map(String.init).joined(separator: ", "))]" } else { got = "a \(addValue.typeName)" }
            throw TLLangError.at(add.range, "add= takes a vector of shape [\(dModel)] (d_model), but this is \(got)",
                                 hint: "e.g. v = mean(pos.resid_post[2], over=pos) - mean(neg.resid_post[2], over=pos)")
        }
        if let bad = v.tensor.data.firstIndex(where: { !$0.isFinite }) {
            let count = v.tensor.data.filter { !$0.isFinite }.count
            throw TLLangError.at(add.range, "add= holds \(count) non-finite value\(count == 1 ? "" : "s") (element \(bad) is \(v.tensor.data[bad])); a steering vector must be finite",
                                 hint: "check how the vector was made, e.g. a division by zero")
        }
        let at = a.expression(of: GenerateCommand.at).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? "resid_post"
        let layers = try a.expression(of: GenerateCommand.layer).map { try indexList($0, limit: m.model.config.nLayers) } ?? [m.model.config.nLayers / 2]
        let promptOnly = try a[GenerateCommand.promptOnly]
        var hooks: [ForwardHook] = [], hookNames: [String] = []
        for l in layers {
            let name = HookNames.actName(at, layer: try resolveLayer(l, m.model, range: a.range))
            guard m.model.hookNames.contains(name) else { throw TLLangError.at(a.range, "'\(name)' is not a hook of this model") }
            hooks.append(steeringHook(name: name, vector: v.tensor.data, coefficient: 1))
            hookNames.append(name)
        }
        let steeredName = "steered (\(at) layer \(layers.map(String.init).joined(separator: ",")))"
        if !backend.isLocal {
            return try generateThroughPlan(m, prompt: prompt, ids: ids, n: n, sampling: sampling,
                                           steering: (v.tensor, hookNames, promptOnly, steeredName), range: a.range)
        }
        let normal = try continuation([], label: "generate", name: "normal")
        let steered = try continuation(spliceHooks + (promptOnly ? [] : hooks), promptOnly: promptOnly ? hooks : [], label: "generate (steered)",
                                       name: steeredName)
        return value(of: GenerationResult(prompt: prompt, normal: normal, second: steered, comparison: .steered))
    }
}
