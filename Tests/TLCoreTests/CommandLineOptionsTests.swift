// The subcommands' one option parser: flags, values (separate or after "="), aliases, positionals, and a
// usage error that names the problem for every malformed command line.
import XCTest
import TLCore

final class CommandLineOptionsTests: XCTestCase {
    let options = CommandLineOptions(command: "tlsh demo", options: [
        .flag("--bos", help: "prepend BOS"),
        .valued("--model", "NAME", aliases: ["-m"], help: "the model"),
    ], positionals: "[FILE...]")

    func testFlagsValuesAliasesAndPositionals() throws {
        let p = try options.parse(["--bos", "-m", "gpt2", "a.txt", "--model=pythia-70m", "b.txt"])
        XCTAssertTrue(p.has("--bos"))
        XCTAssertEqual(p.value("--model"), "pythia-70m", "the last value wins")
        XCTAssertEqual(p.values["--model"], ["gpt2", "pythia-70m"])
        XCTAssertEqual(p.positionals, ["a.txt", "b.txt"])
        XCTAssertFalse(p.helpRequested)
        XCTAssertTrue(try options.parse(["-h"]).helpRequested)
    }

    func testMalformedCommandLinesNameTheProblem() {
        let cases: [([String], String)] = [
            (["--modle", "x"], "unknown option --modle"),
            (["--model"], "--model needs a value (NAME)"),
            (["--bos=yes"], "--bos takes no value"),
        ]
        for (arguments, problem) in cases {
            XCTAssertThrowsError(try options.parse(arguments)) { error in
                guard let e = error as? CommandLineOptions.UsageError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.problem, problem)
                XCTAssertTrue(e.description.contains("usage: tlsh demo [--bos] [--model NAME] [FILE...]"), e.description)
            }
        }
        let strict = CommandLineOptions(command: "tlsh strict", options: [])
        XCTAssertThrowsError(try strict.parse(["extra"])) { error in
            XCTAssertEqual((error as? CommandLineOptions.UsageError)?.problem, "unexpected argument extra")
        }
    }

    func testHelpListsEveryOptionOnce() {
        let help = options.help
        XCTAssertTrue(help.hasPrefix("usage: tlsh demo"))
        for line in ["--bos", "--model, -m NAME", "-h, --help"] { XCTAssertTrue(help.contains(line), help) }
    }
}
