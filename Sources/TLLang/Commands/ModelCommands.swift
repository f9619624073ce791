// Commands: the model: load, inspect, tokenize, choose the engine, list hooks. Each type declares its arguments and options once;
// the handlers below (extensions of Session) read them typed and return values or result models.
import Foundation
import TLCore
import TLHub
import TLInterp
import TLModel
import TLRender
import TLTensor
import TLTokenizer

enum ModelCommand: TLCommand {
    static let about = CommandAbout("model", .model, "Load a model and make it the current one",
                                     examples: ["model", "model gpt2-small", "model openai-community/gpt2", "model ./checkpoints/tiny process=false", "model ./checkpoints/llama dtype=bf16", "model meta-llama/Llama-3.1-70B weights=false"])
    static let name = Argument<Expr?>("NAME", .word, "an alias (gpt2-small), a Hugging Face repo id (openai-community/gpt2) or a local directory; omitted: the embedded default model")
    static let process = Option<Bool>("process", "apply TransformerLens weight processing (fold LayerNorm, centre weights); false keeps the raw weights", default: true)
    static let dtype = Option<WeightDType>("dtype", "precision the block weight matrices are kept in: bf16 or f16 halve their memory and the bytes a short forward streams (products still accumulate in Float32; embeddings and W_U stay Float32)", default: .f32)
    static let weights = Option<Bool?>("weights", "load the weights here; false fetches and reads only config.json and the tokenizer, for a remote engine that holds the weights (a 70B model on NDIF): run, top, patch, loss, test, lens, generate, dla, induction and detect then run there, and verbs that need the Swift engine say so", default: .described("true, or false under backend ndif"))
    static let options: [any OptionDeclaration] = [process, weights, dtype]
    static let arguments: [any ArgumentDeclaration] = [name]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdModel(a) }
}

enum InfoCommand: TLCommand {
    static let about = CommandAbout("info", .model, "Show the current model's configuration: layers, heads, d_model, d_vocab, n_ctx, parameters, dtype and weight bytes",
                                     examples: ["info"])
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdInfo() }
}

enum TokensCommand: TLCommand {
    static let about = CommandAbout("tokens", .model, "Split text into tokens: position, token id and token string",
                                     examples: ["tokens \"The capital of France is\"", "tokens \" Paris\" bos=false"])
    static let text = Argument<String>("TEXT", "the text to tokenize")
    static let options: [any OptionDeclaration] = [Shared.bos]
    static let arguments: [any ArgumentDeclaration] = [text]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdTokens(a) }
}

enum BackendCommand: TLCommand {
    static let about = CommandAbout("backend", .model, "Choose the engine that runs the model: tlsh's own (local), nnsight on this machine, or nnsight on NDIF's remote GPUs",
                                     examples: ["backend nnsight", "backend ndif", "backend ndif host=\"https://api.ndif.us\"", "backend local"],
                                     details: "With nnsight or ndif, run (with names=), top and patch compile to a plan (runs, hook reads, hook writes) that the worker executes as one nnsight session, so a whole patch sweep is one job; the worker sends back only the tensors the plan reads. Those engines run the Hugging Face weights unprocessed, so their results are those of `model NAME process=false`. ndif needs an API key in NDIF_API_KEY and a model NDIF hosts, loaded by its Hugging Face name. Set up the worker's Python once with `tlsh backend setup nnsight` (docs/REMOTE.md).")
    static let engine = Argument<Expr>("ENGINE", .choice(["local", "nnsight", "ndif"]), "local: the Swift engine; nnsight: a Python worker running nnsight and transformers here; ndif: the same worker sending each job to NDIF")
    static let host = Option<String?>("host", "with ndif: the NDIF server", default: .described("NDIF_HOST, else nnsight's default https://api.ndif.us"))
    static let options: [any OptionDeclaration] = [host]
    static let arguments: [any ArgumentDeclaration] = [engine]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdBackend(a) }
}

enum HooksCommand: TLCommand {
    static let about = CommandAbout("hooks", .model, "List the model's hook points with short names and shapes",
                                     examples: ["hooks", "hooks attn layer=0"])
    static let filter = Argument<Expr?>("FILTER", .word, "show only hooks whose name contains this text")
    static let layer = Option<Expr?>("layer", .layers, "show only these layers", default: .described("all layers"))
    static let options: [any OptionDeclaration] = [layer]
    static let arguments: [any ArgumentDeclaration] = [filter]
    static func run(_ a: Invocation, in session: Session) throws -> Value { try session.cmdHooks(a) }
}

// MARK: Handlers: each reads its command's typed arguments and returns a value or a result model.

extension Session {
    func cmdBackend(_ a: Invocation) throws -> Value {
        let name = a.expression(of: BackendCommand.engine).flatMap { $0.dottedName ?? (try? stringValue($0)) } ?? ""
        guard let kind = EngineBackend.Kind(rawValue: name) else {
            throw TLLangError.at(a.range(of: BackendCommand.engine), "'\(name)' is not an engine; use backend local, backend nnsight or backend ndif")
        }
        let host = try a[BackendCommand.host]
        if kind == .local {
            backend.dropWorker()
            backend.kind = .local
            return .result(Display(text: "backend local: the Swift engine runs every statement"), data: nil)
        }
        if host != nil && kind != .ndif {
            throw TLLangError.at(a.expression(of: BackendCommand.host)!.range, "host= is for backend ndif")
        }
        if let host, !(host.hasPrefix("http://") || host.hasPrefix("https://")) {
            throw TLLangError.at(a.expression(of: BackendCommand.host)!.range, "host=\"\(host)\" must start with http:// or https://", hint: "e.g. host=\"https://api.ndif.us\"")
        }
        if kind == .ndif && (backend.environment["NDIF_API_KEY"] ?? "").isEmpty {
            throw TLLangError.at(a.range, "backend ndif needs an NDIF API key in the environment variable NDIF_API_KEY; the backend is still \(backend.kind.rawValue)",
                                 hint: "get a key at https://login.ndif.us, then start tlsh with NDIF_API_KEY=... set")
        }
        // Start (or keep) the worker, and load the current model into it, before changing anything:
        // a worker that cannot start or a model it cannot run leaves the session as it was.
        let previous = (backend.kind, backend.host)
        let fresh = backend.worker == nil || backend.worker?.isRunning != true
        if fresh {
            backend.dropWorker()
            do { backend.worker = try NNsightEnvironment(environment: backend.environment).startWorker() } catch {
                throw TLLangError.at(a.range, "\(error)")
            }
        }
        backend.kind = kind
        backend.host = host
        if let m = current {
            do { _ = try workerForModel(m, range: a.range) } catch {
                backend.kind = previous.0; backend.host = previous.1
                if fresh { backend.dropWorker() }
                throw error
            }
        }
        let h = backend.worker?.hello
        let versions = ["nnsight", "torch", "transformers"].map { "\($0) \(h?[$0]?.string ?? "?")" }.joined(separator: ", ")
        let where_ = kind == .ndif ? "on NDIF (\(host ?? backend.environment["NDIF_HOST"] ?? "nnsight's default host"))" : "on this machine"
        return .result(Display(text: "backend \(kind.rawValue): \(Session.planVerbsText) run as nnsight plans \(where_) (\(versions)); "
                                   + "Hugging Face weights, unprocessed: results are those of process=false"), data: nil)
    }

    func cmdModel(_ a: Invocation) throws -> Value {
        let name = a.expression(of: ModelCommand.name).map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
        let process = try a[ModelCommand.process]
        let dtype = try a[ModelCommand.dtype]
        // NDIF holds the weights of the models it hosts: fetch just config.json and the tokenizer.
        let weights = try a[ModelCommand.weights] ?? (backend.kind != .ndif)
        let loaded: LoadedModel
        do { loaded = try LoadedModel.load(name: name, process: process, dtype: dtype, weights: weights, hub: hub) } catch let e as TLLangError { throw e } catch TLHubError.cancelled {
            throw TLHubError.cancelled  // reported as an interrupt; a later `model` resumes the download
        } catch {
            throw TLLangError.at(a.range, "\(error)")
        }
        current = loaded
        lastCache = nil
        let precision = MatmulPrecision.current
        if !loaded.model.reducedPrecisionPermitted(precision) {
            note("note: the bf16 copy of this model's weights for matmul=\(precision.rawValue) "
                 + "(\(bf16CopySize(loaded.model, precision))) would take more than half "
                 + "of the memory available, so its products stay Float32")
        }
        ProcessMemory.releaseFreedMemory()  // the previous model's weights, if nothing else holds them
        let without = loaded.model.hasWeights ? ""
            : backend.isLocal ? " (config and tokenizer only: verbs that run the model need `model NAME weights=true`, or backend ndif)"
            : " (config and tokenizer only: the weights stay with \(backend.kind.rawValue), where \(Session.planVerbsText) run)"
        return .result(Display(text: "loaded \(loaded.name)\(without): " + summary(loaded)), data: nil)
    }

    func cmdInfo() throws -> Value {
        let m = try requireModel()
        let c = m.model.config
        let p = m.model.processing
        // The steps actually applied (TransformerLens skips some per family, e.g. centring for RMSNorm).
        let steps = [("fold_ln", p.foldLN), ("center_writing_weights", p.centerWritingWeights),
                     ("center_unembed", p.centerUnembed), ("fold_value_biases", p.foldValueBiases)].filter(\.1).map(\.0)
        let processing = steps.isEmpty ? "none (raw weights)" : steps.joined(separator: ", ")
        let rows: [[Table.Cell]] = [
            [.text("model"), .text(m.name)], [.text("architecture"), .text(c.originalArchitecture)], [.text("n_layers"), .text("\(c.nLayers)")], [.text("n_heads"), .text("\(c.nHeads)")],
            [.text("d_model"), .text("\(c.dModel)")], [.text("d_head"), .text("\(c.dHead)")], [.text("d_mlp"), .text("\(c.dMLP)")],
            [.text("d_vocab"), .text("\(c.dVocab)")], [.text("n_ctx"), .text("\(c.nCtx)")], [.text("act_fn"), .text(c.actFn)],
            [.text("parameters"), .text(m.model.hasWeights ? "\(m.model.totalParameters) (\(c.nParams) in attention and MLP weights, TransformerLens n_params)"
                                                           : "\(c.nParams) in attention and MLP weights (TransformerLens n_params; the weights are not loaded)")], [.text("processing"), .text(processing)],
            [.text("dtype"), .text(m.model.dtype == .f32 ? "f32" : "\(m.model.dtype.rawValue) block matrices (embeddings, W_U, norms and biases f32)")],
            [.text("weight bytes"), .text(!m.model.hasWeights ? "not loaded (config and tokenizer only, for a remote engine; model NAME weights=true loads them)" : MemoryBudget.describe(bytes: Double(m.model.weightBytes))
                + (m.model.panelBytes > 0 ? " (+ \(MemoryBudget.describe(bytes: Double(m.model.panelBytes))) of Float32 panels for speed)" : ""))],
            [.text("tokenizer"), .text(m.tokenizer.map { "BPE, \($0.vocabSize) tokens" } ?? "none (pass token ids: run [1, 2, 3])")],
        ]
        return .result(Display(tables: [Table(title: "model", columns: ["property", "value"], rows: rows)]), data: nil)
    }

    func cmdTokens(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let ids = try m.tokens(try a[TokensCommand.text], bos: try a[Shared.bos])
        let strs = m.strTokens(ids)
        let rows = ids.indices.map { [Table.Cell.int($0), .int(ids[$0]), .token(strs[$0])] }
        return .result(Display(tables: [Table(title: "\(ids.count) tokens", columns: ["pos", "id", "token"], rows: rows)]),
                       data: NamedTensor(Tensor(shape: [ids.count], data: ids.map(Float.init)), axes: ["pos"], tokenLabels: strs))
    }

    func cmdHooks(_ a: Invocation) throws -> Value {
        let m = try requireModel()
        let filter = a.expression(of: HooksCommand.filter).map { $0.dottedName ?? ((try? stringValue($0)) ?? "") }
        let layers = try a.expression(of: HooksCommand.layer).map { try indexList($0, limit: m.model.config.nLayers) }
        let c = m.model.config
        var entries: [HookList.Entry] = []
        for name in m.model.hookNames {
            if let filter, !filter.isEmpty, !name.contains(filter) { continue }
            let layer = HookNames.layer(of: name)
            if let layers, let layer, !layers.contains(layer) { continue }
            if layers != nil && layer == nil { continue }
            // Sizes from the hook registry (key/value hooks have kv_heads heads under grouped-query attention).
            let axes = HookRegistry.spec(for: name)?.axes.filter { $0 != .batch } ?? [.pos, .dModel]
            let shape = "[" + axes.map { [.pos, .queryPos, .keyPos].contains($0) ? "pos" : String($0.size(c, batch: 1, positions: 1)) }
                .joined(separator: ", ") + "]"
            let short = name.split(separator: ".").last.map { String($0.dropFirst(5)) } ?? name
            entries.append(.init(name: name, short: short, shape: shape))
        }
        return value(of: HookList(entries: entries))
    }
}
