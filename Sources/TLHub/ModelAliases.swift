// TransformerLens names for the GPT-2 family, as in TransformerLens's OFFICIAL_MODEL_NAMES and
// MODEL_ALIASES (transformer_lens/supported_models.py). TransformerLens keeps the legacy,
// un-namespaced hub ids ("gpt2", "distilgpt2"); the hub redirects them to the repos' current
// homes (openai-community/gpt2, distilbert/distilgpt2). We resolve to the same ids TransformerLens
// passes to transformers, so the cache folder (models--gpt2) is the one Python TransformerLens
// users already have, and we also look in the current home's folder before downloading.

enum ModelAliases {
    struct Entry {
        /// The id TransformerLens passes to the hub (its official model name).
        let officialName: String
        /// Where the hub keeps the repo today; the hub redirects `officialName` there.
        let currentRepo: String
        /// Extra names TransformerLens accepts.
        let aliases: [String]
    }

    static let gpt2Family: [Entry] = [
        Entry(officialName: "gpt2", currentRepo: "openai-community/gpt2", aliases: ["gpt2-small"]),
        Entry(officialName: "gpt2-medium", currentRepo: "openai-community/gpt2-medium", aliases: []),
        Entry(officialName: "gpt2-large", currentRepo: "openai-community/gpt2-large", aliases: []),
        Entry(officialName: "gpt2-xl", currentRepo: "openai-community/gpt2-xl", aliases: []),
        Entry(officialName: "distilgpt2", currentRepo: "distilbert/distilgpt2",
              aliases: ["distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"]),
    ]

    /// TransformerLens's short names for the other supported families (GPT-NeoX/Pythia, Llama,
    /// Mistral, Qwen2), each mapping to its hub repo.
    static let otherFamilies: [Entry] = {
        func entry(_ repo: String, _ aliases: String...) -> Entry { Entry(officialName: repo, currentRepo: repo, aliases: aliases) }
        var list: [Entry] = []
        for size in ["14m", "31m", "70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b"] {
            list.append(entry("EleutherAI/pythia-\(size)", "pythia-\(size)"))
            list.append(entry("EleutherAI/pythia-\(size)-deduped", "pythia-\(size)-deduped"))
        }
        list += [
            entry("meta-llama/Llama-2-7b-hf", "llama-2-7b"),
            entry("meta-llama/Llama-2-7b-chat-hf", "llama-2-7b-chat"),
            entry("meta-llama/Llama-3.2-1B", "llama-3.2-1b"),
            entry("meta-llama/Llama-3.2-1B-Instruct", "llama-3.2-1b-instruct"),
            entry("meta-llama/Llama-3.2-3B", "llama-3.2-3b"),
            entry("meta-llama/Llama-3.2-3B-Instruct", "llama-3.2-3b-instruct"),
            entry("meta-llama/Llama-3.1-8B", "llama-3.1-8b"),
            entry("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"),
            entry("meta-llama/Meta-Llama-3-8B", "llama-3-8b"),
            entry("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "tinyllama-1.1b-chat"),
            entry("mistralai/Mistral-7B-v0.1", "mistral-7b"),
            entry("mistralai/Mistral-7B-Instruct-v0.1", "mistral-7b-instruct"),
            entry("Qwen/Qwen2-0.5B", "qwen2-0.5b"),
            entry("Qwen/Qwen2-1.5B", "qwen2-1.5b"),
            entry("Qwen/Qwen2-7B", "qwen2-7b"),
        ]
        for size in ["0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B"] {
            list.append(entry("Qwen/Qwen2.5-\(size)", "qwen2.5-\(size.lowercased())"))
            list.append(entry("Qwen/Qwen2.5-\(size)-Instruct", "qwen2.5-\(size.lowercased())-instruct"))
        }
        return list
    }()

    /// The hub repo id for a TransformerLens name or alias (case-insensitive, like TransformerLens).
    static func repo(forAlias name: String) -> String? {
        let key = name.lowercased()
        for entry in otherFamilies where entry.officialName.lowercased() == key || entry.aliases.contains(key) {
            return entry.officialName
        }
        for entry in gpt2Family {
            if entry.officialName == key || entry.aliases.contains(key) { return entry.officialName }
        }
        return nil
    }

    /// Every repo id whose cache folder may hold `repo`'s files: itself first, then its other name.
    static func cacheCandidates(for repo: String) -> [String] {
        for entry in gpt2Family {
            if repo == entry.officialName { return [repo, entry.currentRepo] }
            if repo == entry.currentRepo { return [repo, entry.officialName] }
        }
        return [repo]
    }

    /// All names accepted as aliases, for completion and help text.
    static var allNames: [String] {
        gpt2Family.flatMap { [$0.officialName] + $0.aliases } + otherFamilies.flatMap(\.aliases)
    }
}
