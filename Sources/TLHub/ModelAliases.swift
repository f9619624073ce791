// TransformerLens names for the GPT-2 family (the other families' are in FamilyAliases.swift), as in TransformerLens's OFFICIAL_MODEL_NAMES and
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
        gpt2Family.flatMap { [$0.officialName] + $0.aliases }
    }

    /// The names of the other supported families (FamilyAliases.swift, generated from TransformerLens).
    static var familyNames: [String] {
        otherFamilies.flatMap(\.aliases)
    }
}
