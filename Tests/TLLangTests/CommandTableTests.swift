import Foundation
import XCTest
@testable import TLLang
import TLModel

final class CommandTableTests: XCTestCase {
    let table = CommandTable.standard

    func testVerbsAreUniqueAndWellFormed() {
        XCTAssertEqual(Set(table.verbNames).count, table.verbNames.count)
        XCTAssertTrue(Set(table.verbNames).isDisjoint(with: table.functionNames))
        for spec in table.commands {
            XCTAssertFalse(spec.summary.hasSuffix("."), spec.name)
            XCTAssertFalse(spec.examples.isEmpty, spec.name)
            XCTAssertEqual(Set(spec.options.map(\.name)).count, spec.options.count, spec.name)
            // Only the last positional may repeat; optional ones come after required ones.
            for (i, arg) in spec.positionals.enumerated() {
                if arg.repeats { XCTAssertEqual(i, spec.positionals.count - 1, spec.name) }
                if i > 0, arg.required { XCTAssertTrue(spec.positionals[i - 1].required, spec.name) }
            }
        }
        for verb in ["model", "info", "tokens", "run", "norms", "show", "top", "logit_diff", "patch", "dla",
                     "induction", "detect", "lens", "generate", "test", "loss", "hooks", "vars", "help", "save", "print"] {
            XCTAssertNotNil(table[verb], verb)
        }
    }

    /// Every example in the table is a statement that parses into a command of that verb.
    func testEveryExampleParses() throws {
        for spec in table.commands {
            for example in spec.examples {
                do {
                    let statements = try Parser.parse(example)
                    XCTAssertEqual(statements.count, 1, example)
                    switch statements.first?.kind {
                    case .command(let c), .assignment(_, _, .command(let c))?: XCTAssertEqual(c.verb, spec.name, example)
                    default: XCTFail("not a \(spec.name) command: \(example)")
                    }
                } catch {
                    XCTFail(error.render(source: example))
                }
            }
        }
        for function in table.functions {
            for example in function.examples { XCTAssertNoThrow(try Parser.parse(example), example) }
        }
    }

    func testUsageLinesComeFromSpecs() {
        XCTAssertEqual(table["patch"]?.usage,
                       "patch HOOK [layer=LAYERS] [pos=POSITIONS] [head=HEADS] [clean=VALUE] [corrupt=VALUE] [metric=VALUE] [normalize=true|false] [feature=POSITIONS] [k=N] [value=X] [saes=VALUE] [error=true|false] [ablate=VALUE]")
        XCTAssertEqual(table["clear"]?.usage, "clear [NAME...]")
        XCTAssertEqual(table["info"]?.usage, "info")
    }

    func testHelpOverviewListsEveryVerbAndFunction() {
        let overview = table.helpOverview()
        for spec in table.commands {
            XCTAssertTrue(overview.contains("  \(spec.name) ") && overview.contains(spec.summary), spec.name)
        }
        for function in table.functions { XCTAssertTrue(overview.contains(function.usage), function.name) }
        for category in CommandCategory.allCases { XCTAssertTrue(overview.contains(category.rawValue)) }
    }

    func testHelpForOneVerb() throws {
        let help = try XCTUnwrap(table.help(for: "patch"))
        XCTAssertTrue(help.hasPrefix("patch — Patch one activation"))
        XCTAssertTrue(help.contains("usage: patch HOOK [layer=LAYERS]"))
        XCTAssertTrue(help.contains("  layer=LAYERS"))
        XCTAssertTrue(help.contains("layers to sweep (default: *)"))
        XCTAssertTrue(help.contains("examples:\n  patch resid_post layer=*"))
        for spec in table.commands {
            let text = try XCTUnwrap(table.help(for: spec.name))
            for option in spec.options { XCTAssertTrue(text.contains("\(option.name)="), "\(spec.name) \(option.name)") }
            for example in spec.examples { XCTAssertTrue(text.contains(example), example) }
        }
        XCTAssertTrue(try XCTUnwrap(table.help(for: "mean")).contains("usage: mean(x, over=AXIS)"))
        XCTAssertNil(table.help(for: "pach"))
        XCTAssertEqual(table.suggestTopic(for: "pach"), "patch")
    }
}

/// The engine's hook names (HookNames, which the session's completion and `cache.` use) against
/// the cache keys and get_act_name expansions TransformerLens itself produces
/// (Tests/Fixtures/lang, written by tools/golden/lang_hook_names.py).
final class HookNameTests: XCTestCase {
    private func keys(_ name: String) throws -> [String] {
        try fixture(name).split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    func testFullNamesMatchTransformerLensCacheOrder() throws {
        XCTAssertEqual(HookNames.all(nLayers: 2), try keys("hook_names_gpt2_2l.txt"))
        XCTAssertEqual(HookNames.all(nLayers: 12).count, 2 + 12 * 17 + 4)
    }

    /// Every layer hook's leaf name (`cache.pattern[1]`) expands as get_act_name(leaf, layer) does.
    func testShortNamesExpandAsGetActNameDoes() throws {
        let rows = try keys("hook_short_names_gpt2_2l.txt").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, 2 * 17)
        for row in rows {
            let (full, leaf, expanded) = (row[0], row[1], row[2])
            XCTAssertEqual(HookNames.actName(leaf, layer: HookNames.layer(of: full)), expanded, full)
        }
        let short = Session.cacheShortNames(fullNames: HookNames.all(nLayers: 2))
        XCTAssertEqual(short.count, Set(short).count, "no duplicates")
        for leaf in Set(rows.map { $0[1] }) { XCTAssertTrue(short.contains(leaf), "cache.\(leaf) offered") }
    }
}

/// docs/LANGUAGE.md embeds `markdownReference()`; this fails when the table changes and the doc
/// does not. Regenerate with: TLSH_UPDATE_DOCS=1 swift test --filter DocsSyncTests
final class DocsSyncTests: XCTestCase {
    static let begin = "<!-- BEGIN GENERATED: CommandTable.markdownReference() -->"
    static let end = "<!-- END GENERATED -->"

    func testLanguageDocEmbedsTheCommandTable() throws {
        let url = repositoryRoot.appendingPathComponent("docs/LANGUAGE.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        let generated = CommandTable.standard.markdownReference()
        guard let start = doc.range(of: Self.begin), let stop = doc.range(of: Self.end, range: start.upperBound..<doc.endIndex) else {
            return XCTFail("docs/LANGUAGE.md lacks the \(Self.begin) ... \(Self.end) markers")
        }
        let embedded = String(doc[start.upperBound..<stop.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        if embedded != generated, ProcessInfo.processInfo.environment["TLSH_UPDATE_DOCS"] == "1" {
            let updated = doc.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: "\n" + generated + "\n")
            try updated.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(embedded, generated, "docs/LANGUAGE.md is stale; run TLSH_UPDATE_DOCS=1 swift test --filter DocsSyncTests")
        for verb in CommandTable.standard.verbNames { XCTAssertTrue(doc.contains("`\(verb)`"), verb) }
    }
}
