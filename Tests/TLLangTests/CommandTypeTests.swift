import Foundation
import XCTest
@testable import TLLang

/// Commands are types whose typed declarations drive the table, help, docs and the values a
/// handler reads (Commands/TLCommand.swift, Interpreter/Invocation.swift).
final class CommandTypeTests: XCTestCase {
    /// The table is exactly the registry's command types, in order.
    func testTableIsDerivedFromTheCommandTypes() {
        XCTAssertEqual(CommandTable.standard.verbNames, CommandRegistry.commands.map { $0.about.verb })
        for type in CommandRegistry.commands {
            XCTAssertEqual(CommandTable.standard[type.about.verb], type.spec, type.about.verb)
            XCTAssertEqual(CommandRegistry.command(for: type.about.verb).map { ObjectIdentifier($0) }, ObjectIdentifier(type), type.about.verb)
        }
    }

    /// A typed default reads in help and docs as users have always seen it, and every declared
    /// default of every command appears in both.
    func testDeclaredDefaultsAppearInHelpAndDocs() throws {
        XCTAssertEqual(TopCommand.k.spec.defaultValue, "10")
        XCTAssertEqual(InductionCommand.threshold.spec.defaultValue, "0.3")
        XCTAssertEqual(GenerateCommand.temperature.spec.defaultValue, "0")
        XCTAssertEqual(ModelCommand.dtype.spec.defaultValue, "f32")
        XCTAssertEqual(LossCommand.perToken.spec.defaultValue, "false")
        XCTAssertEqual(Shared.bos.spec.defaultValue, "the model's default")
        XCTAssertEqual(GenerateCommand.seed.spec.defaultValue, "the session's seed (set seed=…; 0 at start)")
        XCTAssertNil(GenerateCommand.topK.spec.defaultValue)

        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/LANGUAGE.md"), encoding: .utf8)
        for type in CommandRegistry.commands {
            let help = try XCTUnwrap(CommandTable.standard.help(for: type.about.verb))
            for option in type.options {
                guard let shown = option.spec.defaultValue else { continue }
                XCTAssertTrue(help.contains("default: \(shown)"), "\(type.about.verb) \(option.name): help lacks default \(shown)")
                XCTAssertTrue(docs.contains("- `\(option.name)=`: \(option.spec.doc);") && docs.contains("Default: \(shown)."),
                              "\(type.about.verb) \(option.name): docs lack default \(shown)")
            }
        }
    }

    /// Parses `source` (one command) into an invocation of its command type in `session`.
    private func invocation(_ source: String, in session: Session) throws -> Invocation {
        guard case .command(let c)? = try Parser.parse(source).first?.kind,
              let type = CommandRegistry.command(for: c.verb) else { throw XCTSkip("not a command: \(source)") }
        return Invocation(command: c, session: session, spec: type.spec, assigning: false)
    }

    /// Left out, an option gives the handler its declared typed default; given, the typed value.
    func testHandlerReadsTypedDefaults() throws {
        let s = Session(environment: [:])
        let top = try invocation("top", in: s)
        let k: Int = try top[TopCommand.k]
        XCTAssertEqual(k, 10)
        XCTAssertEqual(try top[TopCommand.pos], -1)
        XCTAssertNil(try top[TopCommand.input])
        XCTAssertEqual(try invocation("top k=3", in: s)[TopCommand.k], 3)

        let lens = try invocation("lens", in: s)
        XCTAssertEqual(try lens[LensCommand.at], .resid_post)
        XCTAssertEqual(try invocation("lens at=resid_mid", in: s)[LensCommand.at], .resid_mid)

        let generate = try invocation("generate \"a\"", in: s)
        XCTAssertEqual(try generate[GenerateCommand.temperature], 0)
        XCTAssertNil(try generate[GenerateCommand.topK])
        XCTAssertEqual(try generate[GenerateCommand.prompt], "a")
        // A session-dependent default is the session's value when the command runs.
        XCTAssertEqual(try generate[GenerateCommand.seed], 0)
        s.settings.seed = 7
        XCTAssertEqual(try generate[GenerateCommand.seed], 7)
        XCTAssertEqual(try invocation("generate \"a\" seed=3", in: s)[GenerateCommand.seed], 3)
        XCTAssertNil(try invocation("tokens \"a\"", in: s)[Shared.bos])
        XCTAssertEqual(try invocation("tokens \"a\" bos=false", in: s)[Shared.bos], false)
    }

    /// A given value is checked against the declaration's bounds before the handler sees it.
    func testDeclaredBoundsAreEnforced() throws {
        let s = Session(environment: [:])
        XCTAssertThrowsError(try invocation("dla \" Paris\" k=0", in: s)[DLACommand.k]) { error in
            XCTAssertTrue("\(error)".contains("k=0 is out of range: k must be ≥ 1"), "\(error)")
        }
        XCTAssertThrowsError(try invocation("generate \"a\" top_p=1.5", in: s)[GenerateCommand.topP])
        XCTAssertEqual(try invocation("generate \"a\" top_p=0.5", in: s)[GenerateCommand.topP], 0.5)
    }

    /// Exports come from the result model, not from what the display shows: with k=1 the shown
    /// tables hold one row, the CSV every component, head or cell.
    func testExportsAreCompleteWhateverTheDisplayShows() throws {
        let dir = NSTemporaryDirectory() + "tlsh-command-types-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = Session(environment: [:])
        try s.execute("""
            clean = run "The Eiffel Tower is in the city of"
            d = dla " Paris" k=1
            save d "\(dir)/d.csv"
            i = induction len=8
            save i "\(dir)/i.csv"
            """)
        let cfg = try XCTUnwrap(s.current).model.config
        guard case .result(let shown, let data)? = s.variables["d"] else { return XCTFail("dla gave no result") }
        XCTAssertEqual(shown.tables.first?.rows.count, 1, "k=1 shows one component")
        XCTAssertEqual(data?.tensor.shape, [cfg.nLayers, cfg.nHeads])
        let dla = try String(contentsOfFile: dir + "/d.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dla.filter { $0.hasPrefix("head,") }.count, cfg.nLayers * cfg.nHeads)
        XCTAssertEqual(dla.filter { $0.hasPrefix("block,") }.count, shown.tables[1].rows.count, "every block component")
        let induction = try String(contentsOfFile: dir + "/i.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(induction.first, "layer,head,score")
        XCTAssertEqual(induction.count - 1, cfg.nLayers * cfg.nHeads)
    }
}
