// The functions of tlsh, and the table of verbs derived from the command types (Commands/). Every
// example must parse (CommandTableTests checks), and docs/LANGUAGE.md embeds this table
// (DocsSyncTests checks).

extension CommandTable {
    /// The table the parser, help, completion and docs use: each command type's declarations.
    public static let standard = CommandTable(commands: CommandRegistry.commands.map { $0.spec }, functions: standardFunctions)
}

private let over = OptionSpec("over", .choice(axisNames), "the axis to reduce", default: "all axes")

private let standardFunctions: [FunctionSpec] = [
    FunctionSpec("mean", "Average over an axis", usage: "mean(x, over=AXIS)", options: [over],
                 examples: ["v = mean(pos.resid_post[6], over=pos) - mean(neg.resid_post[6], over=pos)"]),
    FunctionSpec("sum", "Sum over an axis", usage: "sum(x, over=AXIS)", options: [over],
                 examples: ["sum(cache.pattern[0], over=key)"]),
    FunctionSpec("norm", "Euclidean (L2) norm over an axis", usage: "norm(x, over=AXIS)",
                 options: [OptionSpec("over", .choice(axisNames), "the axis to reduce", default: "the last axis")],
                 examples: ["norm(cache.resid_post[6], over=d_model)"]),
    FunctionSpec("max", "Largest value over an axis", usage: "max(x, over=AXIS)", options: [over],
                 examples: ["max(cache.pattern[1], over=key)"]),
    FunctionSpec("min", "Smallest value over an axis", usage: "min(x, over=AXIS)", options: [over],
                 examples: ["min(cache.resid_post[0], over=pos)"]),
    FunctionSpec("argmax", "Index of the largest value along an axis", usage: "argmax(x, over=AXIS)",
                 options: [OptionSpec("over", .choice(axisNames), "the axis to search", default: "the last axis")],
                 examples: ["argmax(cache.pattern[1], over=key)"]),
]
