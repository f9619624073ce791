// A model the session can run: the engine, its tokenizer and where it came from.
import Foundation
import TLHub
import TLModel
import TLTensor
import TLTokenizer

public final class LoadedModel: @unchecked Sendable {
    public let model: HookedTransformer
    public let tokenizer: Tokenizer?
    public let name: String
    public let directory: URL

    init(model: HookedTransformer, tokenizer: Tokenizer?, name: String, directory: URL) {
        self.model = model; self.tokenizer = tokenizer; self.name = name; self.directory = directory
    }

    /// Resolves `name` (alias, repo id, directory; nil = the embedded default) and loads it.
    /// Without `weights`, only config.json and the tokenizer are fetched and read (for a remote
    /// engine that holds the weights).
    static func load(name: String?, process: Bool, dtype: WeightDType = .f32, weights: Bool = true, hub: Hub) throws -> LoadedModel {
        let source = try ModelSource.parse(name)
        let files = try hub.resolve(source, weights: weights)
        let model = weights ? try HookedTransformer.load(directory: files.directory, processing: process ? .default : .none, dtype: dtype)
            : try HookedTransformer.configOnly(directory: files.directory)
        let sentencePiece = FileManager.default.fileExists(atPath: files.directory.appendingPathComponent("tokenizer.model").path)
        let tokenizer: Tokenizer? = files.tokenizerFiles.isEmpty && !sentencePiece ? nil : try Tokenizer.load(directory: files.directory)
        let display: String
        switch source {
        case .embeddedDefault: display = "default (embedded tiny GPT-2)"
        case .local(let url): display = url.path
        case .hub(let repo, let revision): display = revision == ModelSource.defaultRevision ? repo : "\(repo)@\(revision)"
        }
        return LoadedModel(model: model, tokenizer: tokenizer, name: display, directory: files.directory)
    }

    var bos: Int { tokenizer?.bosTokenID ?? model.config.dVocab - 1 }

    func requireTokenizer() throws -> Tokenizer {
        guard let tokenizer else {
            throw TLLangError.runtime("this model has no tokenizer files (tokenizer.json or vocab.json + merges.txt); pass token ids instead, e.g. run [\(bos), 464, 3139]")
        }
        return tokenizer
    }

    /// Token ids of a prompt; BOS prepended when `prependBOS` says so, by default as TransformerLens
    /// does for the family (default_prepend_bos: GPT-2 and Llama yes, Pythia and Qwen2 no).
    func tokens(_ text: String, bos prependBOS: Bool? = nil) throws -> [Int] {
        let t = try requireTokenizer()
        let (ids, truncated) = t.toTokens(text, prependBOS: prependBOS ?? model.config.defaultPrependBOS)
        if let truncated {
            throw TLLangError.runtime("the prompt has \(truncated) tokens but the model's context is \(model.config.nCtx) (n_ctx); shorten it")
        }
        guard ids.count <= model.config.nCtx else {
            throw TLLangError.runtime("the prompt has \(ids.count) tokens but the model's context is \(model.config.nCtx) (n_ctx); shorten it")
        }
        return ids
    }

    func strTokens(_ ids: [Int]) -> [String] {
        guard let tokenizer else { return ids.map { "#\($0)" } }
        return ids.map { tokenizer.tokenString($0) }
    }

    /// One token from a string, with TransformerLens's to_single_token error when it is not one.
    func singleToken(_ text: String) throws -> Int {
        do { return try requireTokenizer().toSingleToken(text) } catch let e as TLTokenizerError {
            throw TLLangError.runtime(e.description)
        }
    }
}
