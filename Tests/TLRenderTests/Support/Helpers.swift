import Foundation
import XCTest
import TLRender

/// DejaVu Sans from fonts-dejavu-core, or skip the test that needs real glyphs.
func dejaVuFonts() throws -> FontSet {
    let path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("fonts-dejavu-core is not installed") }
    return FontSet(paths: [path])
}

/// |a - b| ≤ tolerance per channel, with a message naming both colours.
func assertColor(_ got: (r: Int, g: Int, b: Int), _ want: (r: Int, g: Int, b: Int), tolerance: Int,
                 _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    let ok = abs(got.r - want.r) <= tolerance && abs(got.g - want.g) <= tolerance && abs(got.b - want.b) <= tolerance
    XCTAssertTrue(ok, "\(what): got \(got), want \(want) ± \(tolerance)", file: file, line: line)
}

func reference(_ table: [(t: Double, r: Int, g: Int, b: Int)], _ t: Double) -> (r: Int, g: Int, b: Int) {
    guard let row = table.first(where: { $0.t == t }) else { fatalError("no reference sample at t=\(t)") }
    return (row.r, row.g, row.b)
}

extension RGB {
    var tuple: (r: Int, g: Int, b: Int) { (Int(r), Int(g), Int(b)) }
}
