// The writing half of the JSON facility: what it writes reads back to the same value, a compact
// document is one line, keys sort when asked, and NaN is an error that names where it sits.
import Foundation
import XCTest
import TLCore

final class JSONWriterTests: XCTestCase {
    func testRoundTripThroughTheReader() throws {
        let doc = JSON.object([
            "z": .integer(-3), "a": .bool(true), "m": .double(0.1), "w": .double(4),
            "s": .string("quote \" back \\ tab \t nl \n ctl \u{01} é 日本"), "n": .null,
            "l": .array([.integer(0), .double(1e-30), .double(Double(Float.greatestFiniteMagnitude))]),
            "e": .object([]), "ea": .array([]),
        ])
        for layout in [JSON.Layout.compact, .init(pretty: true), .init(pretty: true, sortedKeys: true)] {
            let back = try JSON.parse(try doc.bytes(layout))
            if layout.sortedKeys {
                XCTAssertEqual(back.members?.map(\.key), ["a", "e", "ea", "l", "m", "n", "s", "w", "z"])
            } else {
                XCTAssertEqual(back, doc)
            }
            XCTAssertEqual(back["w"], .double(4), "a whole Double stays a Double")
            XCTAssertEqual(back["m"]?.number, 0.1)
            XCTAssertEqual(back["s"], doc["s"])
        }
    }

    func testCompactIsOneLineAndPrettyIndents() throws {
        let doc = JSON.object(["a": .array([.integer(1), .string("x\ny")]), "b": .object(["c": .null])])
        XCTAssertEqual(try doc.text(), #"{"a":[1,"x\ny"],"b":{"c":null}}"#)
        XCTAssertEqual(try doc.text(.init(pretty: true)), "{\n  \"a\": [\n    1,\n    \"x\\ny\"\n  ],\n  \"b\": {\n    \"c\": null\n  }\n}")
    }

    func testNonFiniteNumbersAreErrorsWithTheirPath() {
        let doc = JSON.object(["runs": .array([.object(["v": .double(.nan)])])])
        XCTAssertThrowsError(try doc.bytes()) { error in
            XCTAssertEqual("\(error)", "$.runs[0].v is nan, which JSON cannot represent")
        }
    }
}
