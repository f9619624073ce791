// The engine a session runs on (`backend local|nnsight|ndif`), and the statements that run as plans
// on another engine: run (with names=), top, patch, dla, induction and detect build an InterventionPlan; the Swift engine or
// the nnsight worker executes it, and the display comes from the plan's results either way.
import Foundation
import TLCore
import TLInterp
import TLModel
import TLRender
import TLTensor

/// The engine a session runs model work on. Changed only by a `backend` statement that succeeds.
final class EngineBackend: @unchecked Sendable {
    enum Kind: String { case local, nnsight, ndif }
    var kind = Kind.local
    var worker: PlanWorker?
    var host: String?
    /// What the worker has loaded: (directory or repo, remote), and the hooks it maps.
    var loaded: (model: String, remote: Bool)?
    var workerHooks: [String] = []
    let environment: [String: String]

    init(environment: [String: String]) { self.environment = environment }

    var isLocal: Bool { kind == .local }

    func dropWorker() {
        worker?.terminate()
        worker = nil
        loaded = nil
        workerHooks = []
    }

    deinit { worker?.shutdown() }
}

extension Session {
    /// Model-touching verbs that still run on the Swift engine under `backend nnsight|ndif`
    /// (said in a note each time, so no result is mistaken for nnsight's).
    static let swiftEngineVerbs: Set<String> = ["grad", "attrib", "eap", "features", "sae_stats"]

    /// Verbs that run on a nnsight backend as plans (the others run the Swift engine's copy).
    static let planVerbs: Set<String> = ["run", "top", "patch", "loss", "test", "lens", "generate", "dla", "induction", "detect"]
    static let planVerbsText = "run, top, patch, loss, test, lens, generate, dla, induction and detect"

    /// Refuses a verb that would run the Swift engine on a model loaded without its weights
    /// (`model NAME weights=false`, the default under backend ndif), before anything runs.
    func requireWeightsIfRunHere(_ c: Command) throws {
        guard let m = current, !m.model.hasWeights else { return }
        // `feature` reads W_U itself on every backend; the plan verbs run here on backend local.
        let needsWeights = Session.swiftEngineVerbs.contains(c.verb) || c.verb == "feature"
        guard needsWeights || (backend.isLocal && Session.planVerbs.contains(c.verb)) else { return }
        let remote = backend.isLocal ? "" : "; on \(backend.kind.rawValue), \(Session.planVerbsText) run remotely"
        throw TLLangError.at(c.verbRange, "\(c.verb) runs on the Swift engine here, but \(m.name) was loaded without its weights (config and tokenizer only)\(remote)",
                             hint: "model \(m.name.contains(" ") ? "NAME" : m.name) weights=true loads them (if they fit in this machine's memory)")
    }

    /// The running worker with `m` loaded (started again if it stopped).
    func workerForModel(_ m: LoadedModel, range: SourceRange) throws -> PlanWorker {
        if backend.worker?.isRunning != true {
            backend.dropWorker()
            do { backend.worker = try NNsightEnvironment(environment: backend.environment).startWorker() } catch {
                throw TLLangError.at(range, "\(error)")
            }
        }
        let worker = backend.worker!
        let remote = backend.kind == .ndif
        let target: String
        if remote {
            // NDIF runs the models it hosts, named by their Hugging Face repo id.
            guard !FileManager.default.fileExists(atPath: m.name), !m.name.hasPrefix("default ") else {
                throw TLLangError.at(range, "NDIF runs only the models it hosts, by their Hugging Face name; '\(m.name)' is a local model",
                                     hint: "load one by name, e.g. model meta-llama/Llama-3.1-8B process=false (see docs/REMOTE.md for the list)")
            }
            target = m.name
        } else {
            target = m.directory.path
        }
        if let loaded = backend.loaded, loaded.model == target, loaded.remote == remote { return worker }
        let reply: JSON?
        do {
            reply = try worker.call("load", ["model": .string(target), "remote": .bool(remote), "host": backend.host.map(JSON.string) ?? .null],
                                    isCancelled: monitorCancel)
        } catch {
            throw workerError(error, range: range)
        }
        backend.loaded = (target, remote)
        backend.workerHooks = reply?["hooks"]?.array?.compactMap(\.string) ?? []
        return worker
    }

    /// A worker failure as a statement error; a worker that died is dropped (the next statement
    /// starts a new one).
    func workerError(_ error: Error, range: SourceRange) -> Error {
        switch error {
        case PlanWorkerError.cancelled:
            backend.dropWorker()
            return TLLangError.cancelled
        case PlanWorkerError.lost, PlanWorkerError.protocolError:
            backend.dropWorker()
            return TLLangError.at(range, "\(error)", hint: "the next statement starts a new worker; `backend local` returns to the Swift engine")
        case PlanWorkerError.worker(let kind, let message):
            let hint: String? = kind == "missing_key" ? "set NDIF_API_KEY and restart tlsh"
                : kind == "unknown_hook" ? "`backend local` runs every hook" : nil
            return TLLangError.at(range, message, hint: hint)
        case let e as TLLangError: return e
        default: return TLLangError.at(range, "\(error)")
        }
    }

    /// Executes a plan on the session's backend.
    func executePlan(_ plan: InterventionPlan, model m: LoadedModel, range: SourceRange) throws -> PlanResult {
        if backend.isLocal {
            do { return try plan.execute(on: m.model, isCancelled: monitorCancel) } catch TLInterpError.invalidArgument(let msg) {
                throw TLLangError.at(range, msg)
            }
        }
        let worker = try workerForModel(m, range: range)
        if m.model.processing.foldLN || m.model.processing.centerWritingWeights || m.model.processing.centerUnembed {
            note("note: nnsight runs the unprocessed Hugging Face weights (process=false), but this model was loaded with processing; "
                 + "load it with process=false to compare with the Swift engine")
        }
        do {
            let reply = try worker.call("execute", ["plan": PlanWire.encode(plan)],
                                        status: { [weak self] status, message in
                                            self?.note("\(self?.backend.kind.rawValue ?? "nnsight"): \(status.lowercased())\(message.isEmpty ? "" : " — \(message)")")
                                        }, isCancelled: monitorCancel)
            return try PlanWire.decodeResult(reply, expectedRuns: plan.runs.count)
        } catch {
            throw workerError(error, range: range)
        }
    }

    /// The hook names `run` caches on the current engine, in firing order: every hook point (the
    /// worker's mapped ones on nnsight), narrowed by names= when given.
    func runHookNames(_ m: LoadedModel, filter: [String]?) -> [String] {
        var names = m.model.hookNames
        if !backend.isLocal { names = names.filter(backend.workerHooks.contains) }
        guard let filter else { return names }
        return names.filter { n in filter.contains { n.contains($0) } }
    }

    /// names= as a list of texts.
    func namesFilter(_ a: Invocation, _ option: Option<Expr?>) throws -> [String]? {
        guard let e = try a[option] else { return nil }
        switch try evaluate(e) {
        case .string(let s): return [s]
        case .list(let items):
            return try items.map { item in
                guard case .string(let s) = item else { throw TLLangError.at(e.range, "names= takes a text or a list of texts, e.g. names=[\"resid_post\", \"attn_out\"]") }
                return s
            }
        default: throw TLLangError.at(e.range, "names= takes a text or a list of texts, e.g. names=\"resid_post\"")
        }
    }

    /// A prompt's run as a one-run plan on a non-local engine: reads the named hooks and the logits.
    func runPromptPlan(_ m: LoadedModel, ids: [Int], prompt: String?, names: [String]?, range: SourceRange) throws -> CacheValue {
        _ = try workerForModel(m, range: range)  // so the worker's hook list is known
        let hooks = runHookNames(m, filter: names)
        let plan = InterventionPlan(runs: [.init(tokens: ids, reads: hooks.map { InterventionPlan.Read($0) } + [InterventionPlan.Read(InterventionPlan.logits)])])
        let r = try executePlan(plan, model: m, range: range)
        guard let logits = r.runs[0][InterventionPlan.logits] else { throw TLLangError.at(range, "the worker sent back no logits") }
        let cache = ActivationCache(model: m.model, entries: hooks.compactMap { h in r.runs[0][h].map { (h, $0) } })
        return CacheValue(cache: cache, logits: logits, tokens: ids, strTokens: m.strTokens(ids), prompt: prompt)
    }

    /// patch on a non-local engine: the whole sweep as one plan (one nnsight session).
    func patchThroughPlan(_ m: LoadedModel, hook: String, axes: [PatchAxis], ranges: [PatchAxis: [Int]], clean: CacheValue, corrupt: CacheValue,
                          metric: MetricValue, normalize: Bool, range: SourceRange) throws -> Value {
        let pp = try planned(range) {
            try PatchPlan(config: m.model.config, activation: hook, axes: axes, ranges: ranges,
                          clean: clean.tokens, corrupt: corrupt.tokens, metric: metric.metric)
        }
        let r = try executeVerbPlan(pp.plan, verb: "patch", model: m, range: range, detail: "the whole sweep is one job")
        return patchDisplay(try planned(range) { try pp.result(r, normalize: normalize) }, metric: metric, tokens: clean.strTokens)
    }
}
