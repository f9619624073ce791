// A Float32 model whose weight panels do not fit beside its row-major matrices keeps the panels
// alone (HookedTransformer's blocksAsPanels): every product then reads the panels, and the
// analyses unpack them. Same numbers as the model with both copies, for few rows (the same
// panel kernels, bit for bit) and for many (panels against OpenBLAS: Float32 rounding).
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

final class PanelsOnlyModelTests: XCTestCase {
    func testPanelsOnlyModelEqualsTheTwoCopyModel() throws {
        for name in ["llama-a", "gemma2-a", "pythia-b"] {
            let directory = try Golden(name, root: Golden.familiesRoot).hfDirectory
            let both = try HookedTransformer.load(directory: directory)
            // Too little memory for a second copy: the panels are kept instead of the arrays.
            let only = try EngineContext(memoryLimitBytes: 1 << 20).run { try HookedTransformer.load(directory: directory) }
            XCTAssertFalse(both.blocksArePanelsOnly, name)
            XCTAssertTrue(only.blocksArePanelsOnly, name)
            XCTAssertTrue(only.weights.layers.allSatisfy { $0.wQKV.isEmpty && $0.wOut.isEmpty }, "\(name): no row-major block matrices")
            // W_U too is panels only (no second copy of it either), and everything that reads it
            // reads the same numbers: the parameter, a token's direction, the parameter count.
            XCTAssertTrue(only.unembedMatrix.panelsOnly && only.weights.wU.isEmpty, "\(name): W_U as panels only")
            XCTAssertEqual(only.panelBytes, 0, name)
            XCTAssertEqual(try only.parameter("unembed.W_U"), try both.parameter("unembed.W_U"), name)
            for token in [0, 63, 64, both.config.dVocab - 1] {
                XCTAssertEqual(only.unembedDirection(token), both.unembedDirection(token), "\(name) token \(token)")
            }
            XCTAssertEqual(only.totalParameters, both.totalParameters, name)
            XCTAssertEqual(only.matrixStreamBytes, both.matrixStreamBytes, name)
            for l in 0..<both.config.nLayers {
                XCTAssertEqual(only.floatLayer(l).wQKV, both.floatLayer(l).wQKV, "\(name) layer \(l)")
                XCTAssertEqual(only.floatLayer(l).wOut, both.floatLayer(l).wOut, "\(name) layer \(l)")
            }
            let V = both.config.dVocab
            for length in [5, 60] {
                let tokens = [(0..<length).map { ($0 * 31 + 7) % V }]
                let (a, cacheA) = try only.runWithCache(tokens: tokens)
                let (b, cacheB) = try both.runWithCache(tokens: tokens)
                // Few rows: both take the panels. Past packedMaxRows the two-copy model uses OpenBLAS.
                let tolerance: Float = length <= PackedMatrix.maxRows ? 0 : 1e-4
                XCTAssertLessThanOrEqual(a.maxAbsDifference(b), tolerance * max(1, b.data.map(abs).max()!), "\(name) logits, \(length) tokens")
                XCTAssertEqual(cacheA.keys, cacheB.keys)
                // A metric's few logits (a logit difference) read W_U's columns from the panels.
                let picked = [3, V - 2]
                var options = RunOptions()
                options.logitTokens = picked
                let logitsA = try only.run(tokens: tokens, options: options).logits!
                let logitsB = try both.run(tokens: tokens, options: options).logits!
                XCTAssertLessThanOrEqual(logitsA.maxAbsDifference(logitsB), tolerance * max(1, logitsB.data.map(abs).max()!),
                                         "\(name) picked logits, \(length) tokens")
            }
        }
    }

    /// The layout is decided before loading (so the load can stream blocks into panels) and again
    /// after: both must agree, so the decision before subtracts the weights about to be loaded.
    func testTheLayoutDecisionIsTheSameBeforeAndAfterLoading() {
        let config = ModelConfig(nLayers: 16, dModel: 2048, nHeads: 32, dMLP: 8192, nCtx: 128, dVocab: 128_256)
        let d = config.dModel, hd = config.nHeads * config.dHead
        let weightBytes = (config.nLayers * (d * config.qkvWidth + hd * d + 2 * d * config.dMLP) + 2 * d * config.dVocab) * 4
        for left in stride(from: 1 << 30, through: 40 << 30, by: 1 << 30) {
            XCTAssertEqual(HookedTransformer.panelsFit(config: config, availableBytes: left + weightBytes, weightsLoaded: false),
                           HookedTransformer.panelsFit(config: config, availableBytes: left), "\(left >> 30) GB left after loading")
        }
    }
}
