import XCTest
@testable import TLLang

/// Rendered error messages, compared as whole strings (snapshots written from the renderer's
/// output and checked by eye: line/column, caret under the culprit, what was expected, a fix).
final class DiagnosticTests: XCTestCase {
    private func rendered(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        parseError(source, file: file, line: line)?.render(source: source) ?? ""
    }

    func testUnknownVerbSuggestsNearest() {
        XCTAssertEqual(rendered("x = 1\npach resid_post layer=*"), """
            error: line 2, column 1: unknown verb 'pach'
              2 | pach resid_post layer=*
                | ^^^^
            hint: did you mean 'patch'?
            """)
        XCTAssertEqual(parseError("m = logitdiff \" Paris\"")?.suggestion, "did you mean 'logit_diff'?")
        XCTAssertEqual(parseError("genrate \"x\"")?.suggestion, "did you mean 'generate'?")
        XCTAssertEqual(parseError("frobnicate x")?.suggestion, "type help to list the verbs")
    }

    func testUnknownOptionSuggestsNearest() {
        XCTAssertEqual(rendered("patch resid_post layr=*"), """
            error: line 1, column 18: unknown option 'layr=' for 'patch'
              1 | patch resid_post layr=*
                |                  ^^^^
            expected: one of layer=, pos=, head=, clean=, corrupt=, metric=, normalize=, feature=, k=, value=, saes=, error=, ablate=
            hint: did you mean 'layer='?
            """)
        XCTAssertEqual(parseError("set colour=false")?.suggestion, "did you mean 'color='?")
    }

    func testMissingValueSaysWhatWasExpected() {
        XCTAssertEqual(rendered("patch resid_post layer="), """
            error: line 1, column 24: expected a value after 'layer='
              1 | patch resid_post layer=
                |                        ^
            expected: a layer such as 6 or -1, a range 0..6, a list [0, 3, 7], or * for all
            """)
        XCTAssertEqual(rendered("run"), """
            error: line 1, column 4: 'run' needs PROMPT: the prompt
              1 | run
                |    ^
            expected: a quoted string, e.g. "The capital of France is"
            hint: usage: run PROMPT [bos=true|false] [saes=VALUE] [error=true|false] [ablate=VALUE] [names=VALUE] [store=f32|f16|bf16|disk]
            """)
    }

    func testChoiceValuesAreChecked() {
        XCTAssertEqual(rendered("detect previous \"x\""), """
            error: line 1, column 8: 'previous' is not a valid value for detect KIND
              1 | detect previous "x"
                |        ^^^^^^^^
            expected: one of previous_token, duplicate_token, induction
            hint: did you mean 'previous_token'?
            """)
        XCTAssertEqual(parseError("detect induction \"x\" measure=mull")?.suggestion, "did you mean 'mul'?")
        XCTAssertEqual(parseError("mean(x, over=poss)")?.suggestion, "did you mean 'pos'?")
        XCTAssertEqual(parseError("tokens \"x\" bos=yes")?.expected, "true or false")
    }

    func testTooManyArgumentsExplainsSubtractionSpacing() {
        XCTAssertEqual(rendered("dla \" Paris\" -\" Rome\""), """
            error: line 1, column 14: too many arguments: 'dla' takes 1 argument
              1 | dla " Paris" -" Rome"
                |              ^^^^^^^^
            expected: options (name=value) or the end of the line
            hint: to subtract, put spaces on both sides of '-': a - b
            """)
    }

    func testColumnsCountScalarsAndCaretsAlignUnderNonASCII() {
        // "日本" is 2 scalars; the stray ')' is at scalar column 10.
        XCTAssertEqual(rendered("x = \"日本\" )"), """
            error: line 1, column 10: ')' has no matching '('
              1 | x = "日本" )
                |          ^
            hint: remove it or add the opening bracket
            """)
        // e + combining acute: 2 scalars, 1 character; the caret moves by one space, not two.
        XCTAssertEqual(rendered("s = \"e\u{301}\" 5"), """
            error: line 1, column 10: unexpected '5' after the statement
              1 | s = "e\u{301}" 5
                |         ^
            expected: an operator (+ - * /), ';' or the end of the line
            hint: put one statement per line, or separate them with ';'
            """)
    }

    func testLexicalErrors() {
        XCTAssertEqual(rendered("s = \"a\\qb\""), """
            error: line 1, column 7: unknown escape '\\q' in string
              1 | s = "a\\qb"
                |       ^^
            expected: one of \\n \\t \\r \\0 \\\\ \\" \\' \\u{...}
            hint: write \\\\ for a literal backslash
            """)
        XCTAssertEqual(parseError("s = \"abc")?.message, "unterminated string")
        XCTAssertEqual(parseError("x = 99999999999999999999")?.message, "number 99999999999999999999 is too large")
        XCTAssertEqual(parseError("x = a ~ b")?.message, "unexpected '~' after the statement")
    }

    func testOtherStatementErrors() {
        XCTAssertEqual(parseError("run = 3")?.message, "'run' is a command and cannot be a variable name")
        XCTAssertEqual(parseError("cache.x = 3")?.message, "only a plain name can be assigned to")
        XCTAssertEqual(parseError("patch resid_post layer=* layer=2")?.message, "option 'layer=' is given twice")
        XCTAssertEqual(parseError("v = mean(x over=pos)")?.suggestion, "separate items with ','")
        XCTAssertEqual(parseError("mean(over=pos, x)")?.message, "positional argument after keyword argument 'over='")
        XCTAssertEqual(parseError("x[]")?.message, "empty index")
        XCTAssertEqual(parseError("x = (1 + 2")?.atEndOfInput, true)
        XCTAssertEqual(parseError("cache.")?.message, "expected a name after '.', found end of input")
        XCTAssertEqual(parseError("(a + b)(c)")?.message, "only functions can be called")
        XCTAssertEqual(parseError("mean x")?.suggestion, "call it with parentheses: mean(x, over=AXIS)")
    }

    func testOneLineDescription() {
        let error = parseError("x = 1\npach resid_post")
        XCTAssertEqual(error?.description, "line 2, column 1: unknown verb 'pach'; did you mean 'patch'?")
    }

    func testEditDistance() {
        XCTAssertEqual(Suggest.editDistance("pach", "patch"), 1)
        XCTAssertEqual(Suggest.editDistance("pacth", "patch"), 1)  // transposition
        XCTAssertEqual(Suggest.editDistance("", "abc"), 3)
        XCTAssertEqual(Suggest.editDistance("kitten", "sitting"), 3)
        XCTAssertNil(Suggest.nearest(to: "zzzz", in: ["patch", "run"]))
        XCTAssertEqual(Suggest.nearest(to: "gen", in: ["generate", "run"]), "generate")  // unique prefix
    }
}
