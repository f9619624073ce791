// The colour maps against matplotlib's (see Reference/generate_reference.py).
import XCTest
import TLRender

final class ColorMapTests: XCTestCase {
    /// matplotlib quantises to 256 entries; our anchors interpolate, so a few levels may differ.
    let tolerance = 4

    func testViridisMatchesMatplotlib() {
        for sample in ReferenceData.viridis {
            assertColor(ColorMap.viridis.color(at: sample.t).tuple, (sample.r, sample.g, sample.b), tolerance: tolerance, "viridis(\(sample.t))")
        }
    }

    func testRedBlueMatchesMatplotlibRdBuReversed() {
        for sample in ReferenceData.redBlue {
            assertColor(ColorMap.redBlue.color(at: sample.t).tuple, (sample.r, sample.g, sample.b), tolerance: tolerance, "RdBu_r(\(sample.t))")
        }
    }

    func testOutOfRangeIsClamped() {
        XCTAssertEqual(ColorMap.viridis.color(at: -3), ColorMap.viridis.color(at: 0))
        XCTAssertEqual(ColorMap.redBlue.color(at: 7), ColorMap.redBlue.color(at: 1))
    }
}
