// Every verb of the language, as its command type. The command table (parser, help, completion,
// docs/LANGUAGE.md) is derived from this list, and the session dispatches through it.

enum CommandRegistry {
    /// In help's order within each category.
    static let commands: [any TLCommand.Type] = [
        ModelCommand.self, InfoCommand.self, TokensCommand.self, BackendCommand.self, HooksCommand.self,
        RunCommand.self, TopCommand.self, LossCommand.self, TestCommand.self, NormsCommand.self, LensCommand.self,
        LogitDiffCommand.self, PatchCommand.self, GradCommand.self, AttribCommand.self, EAPCommand.self, DLACommand.self,
        InductionCommand.self, DetectCommand.self,
        GenerateCommand.self,
        SAECommand.self, FeaturesCommand.self, FeatureCommand.self, SAEStatsCommand.self,
        ShowCommand.self, PrintCommand.self, WarnCommand.self, SaveCommand.self, VarsCommand.self, ClearCommand.self,
        SetCommand.self, HelpCommand.self, ExitCommand.self,
    ]

    private static let byVerb: [String: any TLCommand.Type] =
        Dictionary(uniqueKeysWithValues: commands.map { ($0.about.verb, $0) })

    static func command(for verb: String) -> (any TLCommand.Type)? { byVerb[verb] }
}
