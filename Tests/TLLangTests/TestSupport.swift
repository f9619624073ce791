import Foundation
import XCTest
@testable import TLLang

/// Parses `source` and returns each statement as an s-expression (ranges left out).
func sexprs(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
    do {
        return try Parser.parse(source).map(\.sExpression)
    } catch {
        XCTFail("parse failed: \(error.render(source: source))", file: file, line: line)
        return []
    }
}

/// The one statement of `source` as an s-expression.
func sexpr(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let all = sexprs(source, file: file, line: line)
    XCTAssertEqual(all.count, 1, "expected one statement in \(source)", file: file, line: line)
    return all.first ?? ""
}

/// The rendered diagnostic for source that must fail to parse.
func parseError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Diagnostic? {
    do {
        let statements = try Parser.parse(source)
        XCTFail("expected an error, parsed \(statements.map(\.sExpression))", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// Repository root, found from this file's path (Tests/TLLangTests/TestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixture(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/lang/\(name)"), encoding: .utf8)
}
