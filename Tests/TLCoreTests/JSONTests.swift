// The one JSON reader: file order kept, booleans apart from numbers, whole doubles readable as whole
// numbers, and every malformed document reported with its line and byte.
import Foundation
import XCTest
import TLCore

final class JSONTests: XCTestCase {
    func testValuesKeepTheirKindsAndOrder() throws {
        let doc = try JSON.parse(Array(#"{"z": 1, "a": true, "m": 2.5, "s": "é\u00e9", "n": null, "l": [0, 4.0]}"#.utf8))
        XCTAssertEqual(doc.members?.map(\.key), ["z", "a", "m", "s", "n", "l"])
        XCTAssertEqual(doc["z"], .integer(1))
        XCTAssertEqual(doc["a"]?.bool, true)
        XCTAssertNil(doc["a"]?.number, "a boolean is not a number")
        XCTAssertNil(doc["z"]?.bool, "a number is not a boolean")
        XCTAssertEqual(doc["m"]?.number, 2.5)
        XCTAssertNil(doc["m"]?.wholeNumber)
        XCTAssertEqual(doc["l"]?.array?[1].wholeNumber, 4)
        XCTAssertEqual(doc["s"]?.string, "éé")
        XCTAssertEqual(doc["n"]?.isNull, true)
        XCTAssertNil(doc["missing"])
        XCTAssertEqual(doc["z"]?.typeName, "a number")
    }

    func testMalformedDocumentsNameLineAndByte() {
        let cases: [(String, String, Int, Int)] = [
            ("{\"a\": 1,\n \"b\" 2}", "expected ':'", 2, 14),
            ("[1, 2", "unexpected end of file in an array", 1, 5),
            ("{\"a\": tru}", "expected a value", 1, 6),
            ("{} x", "unexpected text after the JSON value", 1, 3),
            ("\"\\q\"", "invalid escape", 1, 1),
        ]
        for (text, problem, line, byte) in cases {
            XCTAssertThrowsError(try JSON.parse(Array(text.utf8)), text) { error in
                guard let e = error as? JSONSyntaxError else { return XCTFail("\(error)") }
                XCTAssertTrue(e.problem.contains(problem), "\(text): \(e.problem)")
                XCTAssertEqual(e.line, line, text)
                XCTAssertEqual(e.byteOffset, byte, text)
                XCTAssertTrue("\(e)".contains("line \(line), byte \(byte)"), "\(e)")
            }
        }
    }

    func testDeepNestingIsRefusedNotACrash() {
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        XCTAssertThrowsError(try JSON.parse(deep)) { error in
            XCTAssertTrue("\(error)".contains("nesting deeper than 512"), "\(error)")
        }
    }
}
