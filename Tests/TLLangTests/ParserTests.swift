import XCTest
@testable import TLLang

final class ParserTests: XCTestCase {
    /// The six tutorials of docs/LANGUAGE.md, statement by statement.
    func testTutorialStatements() {
        let cases: [(String, String)] = [
            ("model gpt2-small", "(model (word gpt2-small))"),
            ("info", "(info)"),
            ("tokens \"The capital of France is\"", "(tokens (str \"The capital of France is\"))"),
            ("cache = run \"The capital of France is\"", "(= cache (run (str \"The capital of France is\")))"),
            ("cache", "cache"),
            ("norms cache resid_post", "(norms cache resid_post)"),
            ("show cache.pattern[0]", "(show (index (. cache pattern) 0))"),
            ("top cache k=5", "(top cache k=5)"),
            ("clean   = run \"The Eiffel Tower is in the city of\"", "(= clean (run (str \"The Eiffel Tower is in the city of\")))"),
            ("corrupt = run \"The Colosseum is in the city of\"", "(= corrupt (run (str \"The Colosseum is in the city of\")))"),
            ("metric  = logit_diff \" Paris\" \" Rome\"", "(= metric (logit_diff (str \" Paris\") (str \" Rome\")))"),
            ("patch resid_post layer=*", "(patch resid_post layer=*)"),
            ("patch resid_post layer=* pos=*", "(patch resid_post layer=* pos=*)"),
            ("patch z layer=* head=*", "(patch z layer=* head=*)"),
            ("dla \" Paris\"", "(dla (str \" Paris\"))"),
            ("dla \" Paris\" - \" Rome\"", "(dla (- (str \" Paris\") (str \" Rome\")))"),
            ("induction", "(induction)"),
            ("detect previous_token \"some text\"", "(detect previous_token (str \"some text\"))"),
            ("lens \"The quick brown fox jumps over the lazy\"", "(lens (str \"The quick brown fox jumps over the lazy\"))"),
            ("pos = run \"I love this! It's absolutely wonderful and\"", "(= pos (run (str \"I love this! It's absolutely wonderful and\")))"),
            ("v = mean(pos.resid_post[6], over=pos) - mean(neg.resid_post[6], over=pos)",
             "(= v (- (mean (index (. pos resid_post) 6) over=pos) (mean (index (. neg resid_post) 6) over=pos)))"),
            ("generate \"The movie was\" n=20", "(generate (str \"The movie was\") n=20)"),
            ("generate \"The movie was\" n=20 add=v*2.0 at=resid_post layer=6",
             "(generate (str \"The movie was\") n=20 add=(* v 2.0) at=resid_post layer=6)"),
        ]
        for (source, expected) in cases {
            XCTAssertEqual(sexpr(source), expected, source)
        }
    }

    /// Every ```tlsh block of docs/LANGUAGE.md must parse (the tutorials and examples there).
    func testEveryCodeBlockInLanguageDocParses() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/LANGUAGE.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```tlsh") {
                current = []
            } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(String(line))
            }
        }
        XCTAssertGreaterThanOrEqual(blocks.count, 2, "docs/LANGUAGE.md should have ```tlsh blocks")
        var statements = 0
        for block in blocks {
            do {
                statements += try Parser.parse(block).count
            } catch {
                XCTFail(error.render(source: block))
            }
        }
        XCTAssertGreaterThan(statements, 25)
    }

    func testCacheAccessForms() {
        XCTAssertEqual(sexpr("cache[\"blocks.6.hook_resid_post\"]"), "(index cache (str \"blocks.6.hook_resid_post\"))")
        XCTAssertEqual(sexpr("cache[\"pattern\", 0]"), "(index cache (str \"pattern\") 0)")
        XCTAssertEqual(sexpr("cache[\"pattern\", -1]"), "(index cache (str \"pattern\") -1)")
        XCTAssertEqual(sexpr("cache.resid_post[6]"), "(index (. cache resid_post) 6)")
        XCTAssertEqual(sexpr("cache.blocks.6.hook_resid_post"), "(. (. (. cache blocks) 6) hook_resid_post)")
        XCTAssertEqual(sexpr("x[0, -1]"), "(index x 0 -1)")
        XCTAssertEqual(sexpr("x[:, 2]"), "(index x : 2)")
        XCTAssertEqual(sexpr("x[1:3, :2, 4:]"), "(index x (range 1 3) (range _ 2) (range 4 _))")
        XCTAssertEqual(sexpr("x[0..5][*]"), "(index (index x (range 0 5)) *)")
        XCTAssertEqual(sexpr("cache.pattern[0][3]"), "(index (index (. cache pattern) 0) 3)")
    }

    func testDottedNameOfHookArguments() throws {
        let statements = try Parser.parse("patch blocks.6.hook_resid_post layer=*")
        guard case .command(let command) = statements[0].kind else { return XCTFail("not a command") }
        XCTAssertEqual(command.positionals[0].dottedName, "blocks.6.hook_resid_post")
        XCTAssertEqual(command.option("layer")?.kind, .wildcard)
    }

    func testOptionValues() {
        XCTAssertEqual(sexpr("patch attn_out layer=0..6 pos=-1"), "(patch attn_out layer=(range 0 6) pos=-1)")
        XCTAssertEqual(sexpr("patch attn_out layer=[0, 3, 7] head=[1,2,]"), "(patch attn_out layer=(list 0 3 7) head=(list 1 2))")
        XCTAssertEqual(sexpr("patch resid_post layer = 3"), "(patch resid_post layer=3)")
        XCTAssertEqual(sexpr("detect induction \"a b a b\" measure=abs exclude_bos=true"),
                       "(detect induction (str \"a b a b\") measure=abs exclude_bos=true)")
        XCTAssertEqual(sexpr("generate \"x\" temperature=0.7 add=(a - b) / 2 layer=-2"),
                       "(generate (str \"x\") temperature=0.7 add=(/ (- a b) 2) layer=-2)")
    }

    func testArithmeticPrecedence() {
        XCTAssertEqual(sexpr("a + b * c - d / 2"), "(- (+ a (* b c)) (/ d 2))")
        XCTAssertEqual(sexpr("(a + b) * c"), "(* (+ a b) c)")
        XCTAssertEqual(sexpr("-a * b"), "(* (- a) b)")
        XCTAssertEqual(sexpr("a - -1"), "(- a -1)")
        XCTAssertEqual(sexpr("2 * -x"), "(* 2 (- x))")
        XCTAssertEqual(sexpr("x = a -1"), "(= x (- a 1))")  // outside commands spaces do not matter
        XCTAssertEqual(sexpr("[1, 2.5, \"a\"]"), "(list 1 2.5 (str \"a\"))")
        XCTAssertEqual(sexpr("sum(x)"), "(sum x)")
        XCTAssertEqual(sexpr("norm(cache.resid_post[6], over=d_model) / 2"), "(/ (norm (index (. cache resid_post) 6) over=d_model) 2)")
    }

    func testJuxtapositionRules() {
        XCTAssertEqual(sexpr("print a -1"), "(print a -1)")
        XCTAssertEqual(sexpr("print a - 1"), "(print (- a 1))")
        XCTAssertEqual(sexpr("print a-1"), "(print (- a 1))")
        XCTAssertEqual(sexpr("print a *"), "(print a *)")
        XCTAssertEqual(sexpr("print a * b"), "(print (* a b))")
        XCTAssertEqual(sexpr("print x [1, 2]"), "(print x (list 1 2))")
        XCTAssertEqual(sexpr("print x[1, 2] (y)"), "(print (index x 1 2) y)")
        XCTAssertEqual(sexpr("print mean(x) \"s\""), "(print (mean x) (str \"s\"))")
        XCTAssertEqual(sexpr("print (a -1)"), "(print (- a 1))")  // inside brackets: free context
    }

    func testBareWords() {
        XCTAssertEqual(sexpr("model openai-community/gpt2"), "(model (word openai-community/gpt2))")
        XCTAssertEqual(sexpr("model ~/models/gpt2 process=false"), "(model (word ~/models/gpt2) process=false)")
        XCTAssertEqual(sexpr("model \"my model\""), "(model (str \"my model\"))")
        XCTAssertEqual(sexpr("save cache.pattern[0] heads.png # a comment"), "(save (index (. cache pattern) 0) (word heads.png))")
        XCTAssertEqual(sexpr("help patch"), "(help (word patch))")
        XCTAssertEqual(sexpr("clear pos neg"), "(clear (word pos) (word neg))")
    }

    func testStatementSeparatorsAndContinuations() {
        XCTAssertEqual(sexprs("a = 1; b = 2\n\n# comment only\nc"), ["(= a 1)", "(= b 2)", "c"])
        XCTAssertEqual(sexprs("v = mean(\n  pos.resid_post[6],\n  over=pos\n)"), ["(= v (mean (index (. pos resid_post) 6) over=pos))"])
        XCTAssertEqual(sexprs("generate \"The movie was\" \\\n  n=20"), ["(generate (str \"The movie was\") n=20)"])
        XCTAssertEqual(sexprs(""), [])
        XCTAssertEqual(sexprs("  # nothing\n"), [])
    }

    func testSourceRanges() throws {
        let source = "x = 1\npatch resid_post layer=0..6"
        let statements = try Parser.parse(source)
        guard case .command(let command) = statements[1].kind else { return XCTFail("not a command") }
        XCTAssertEqual(command.verbRange.start, SourceLocation(offset: 6, line: 2, column: 1))
        XCTAssertEqual(command.range.end.column, 28)  // exclusive end
        XCTAssertEqual(command.options[0].nameRange.start.column, 18)
        XCTAssertEqual(command.options[0].value.range.start.column, 24)
        XCTAssertEqual(command.options[0].value.range.length, 4)
        guard case .assignment(let target, let targetRange, _) = statements[0].kind else { return XCTFail("not an assignment") }
        XCTAssertEqual(target, "x")
        XCTAssertEqual(targetRange.length, 1)
        XCTAssertEqual(statements[1].range.text(in: source), "patch resid_post layer=0..6")
        let unicode = "s = \"日本\"; dla \" Paris\""
        XCTAssertEqual(try Parser.parse(unicode)[1].range.text(in: unicode), "dla \" Paris\"")
    }

    func testVerbCalledAsFunctionIsAnExpression() {
        XCTAssertEqual(sexpr("x = top(cache)"), "(= x (top cache))")
    }
}
