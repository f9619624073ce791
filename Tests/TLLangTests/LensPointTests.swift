// `lens at=`: which residual-stream points the logit lens decodes. resid_post (the default) is
// TransformerLens's accumulated_resid (embeddings, each block's output); resid_pre is each block's
// input, which is the same stream one row earlier; resid_mid is the middle of each block.
import Foundation
import XCTest
@testable import TLLang
import TLInterp
import TLModel
import TLTensor

final class LensPointTests: XCTestCase {
    func testEachPointDecodesItsOwnRows() throws {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        try s.execute("c = run \"The capital of France is\"")
        let L = s.current!.model.config.nLayers
        func lens(_ statement: String) throws -> (rows: [String], values: Tensor) {
            try s.execute("lensResult = " + statement)
            guard case .result(let d, let data?)? = s.variables["lensResult"] else { throw XCTSkip("no result") }
            let rows = d.tables[0].rows.map { row -> String in
                if case .text(let label) = row[0] { return label }
                return "?"
            }
            return (rows, data.tensor)
        }
        let post = try lens("lens c k=2"), pre = try lens("lens c at=resid_pre k=2"), mid = try lens("lens c at=resid_mid k=2")
        XCTAssertEqual(post.rows, (0..<L).map { "L\($0)" } + ["out"])
        XCTAssertEqual(pre.rows, (0..<L).map { "L\($0) pre" })
        XCTAssertEqual(mid.rows, (0..<L).map { "L\($0) mid" })
        // Block inputs are the default's rows without the final output, number for number.
        let V = post.values.shape[2]
        XCTAssertEqual(pre.values.shape, [L, 1, V])
        XCTAssertEqual(Array(pre.values.data), Array(post.values.data[0..<(L * V)]))
        // The middle of a block is its own point, not a copy of either neighbour.
        XCTAssertEqual(mid.values.shape, [L, 1, V])
        XCTAssertNotEqual(Array(mid.values.data[0..<V]), Array(post.values.data[0..<V]))
        XCTAssertNotEqual(Array(mid.values.data[0..<V]), Array(post.values.data[V..<(2 * V)]))
        // Against the cache itself: resid_mid of layer 0 through ln_final and W_U.
        guard case .cache(let c)? = s.variables["c"] else { return XCTFail("no cache") }
        let direct = try LogitLens.compute(cache: c.cache, positions: [-1], at: .resid_mid)
        XCTAssertEqual(direct.logProbs.data, mid.values.data)
    }
}
