// Tensor operations against direct, independent computations (naive loops over the same data).
import XCTest
@testable import TLTensor

final class TensorOpsTests: XCTestCase {
    /// Deterministic pseudo-random data in [-1, 1).
    func data(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s: Double = 0; for t in 0..<k { s += Double(a[i * k + t]) * Double(b[t * n + j]) }; c[i * n + j] = Float(s) } }
        return c
    }

    func testMatmulMatchesNaiveForSmallAndLargeRowCounts() throws {
        // Up to 48 rows take the in-place kernel, more go to OpenBLAS; both must agree with a naive product.
        for (m, k, n) in [(1, 64, 2048), (3, 100, 4099), (4, 768, 2304), (11, 96, 300), (1, 5, 7)] {
            let a = Tensor(shape: [m, k], data: data(m * k, seed: 1)), b = Tensor(shape: [k, n], data: data(k * n, seed: 2))
            let c = try a.matmul(b)
            let expected = Tensor(shape: [m, n], data: naiveMatmul(a.data, b.data, m: m, k: k, n: n))
            XCTAssertLessThan(c.maxAbsDifference(expected), 1e-4 * Float(k).squareRoot(), "m=\(m) k=\(k) n=\(n)")
        }
    }

    func testStreamingKernelHonoursLeadingDimensions() {
        let m = 2, k = 70, n = 2100, lda = 80, ldb = 2200, ldc = 2150
        let a = data(m * lda, seed: 3), b = data(k * ldb, seed: 4)
        var c = [Float](repeating: 9, count: m * ldc)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            SmallBatchGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc)
        } } }
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for t in 0..<k { s += a[i * lda + t] * b[t * ldb + j] }
                XCTAssertEqual(c[i * ldc + j], s, accuracy: 1e-4)
            }
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 9, "padding between rows untouched") }
        }
    }

    func testSlicingGatherSelectScatter() throws {
        let t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        XCTAssertEqual(try t.select(axis: 1, index: -1).data, [8, 9, 10, 11, 20, 21, 22, 23])
        XCTAssertEqual(try t.gather(axis: 2, indices: [3, 0]).data, [3, 0, 7, 4, 11, 8, 15, 12, 19, 16, 23, 20])
        XCTAssertEqual(try t.slice(axis: 0, start: 1, end: 5).shape, [1, 3, 4])
        XCTAssertThrowsError(try t.select(axis: 1, index: 3))
        XCTAssertThrowsError(try t.select(axis: 3, index: 0))
        var u = t
        try u.scatter(axis: 1, indices: [0], values: Tensor(zeros: [2, 1, 4]))
        XCTAssertEqual(Array(u.data[0..<4]), [0, 0, 0, 0])
        XCTAssertEqual(u.data[4], 4)
        XCTAssertEqual(t.permuted([2, 0, 1])[1, 1, 2], t[1, 2, 1])
    }

    func testBroadcastingAndReductions() throws {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), row = Tensor(shape: [3], data: [10, 20, 30])
        XCTAssertEqual(try (a + row).data, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual(try (a * Tensor(shape: [2, 1], data: [2, 3])).data, [2, 4, 6, 12, 15, 18])
        XCTAssertThrowsError(try a + Tensor(shape: [2], data: [1, 2]))
        XCTAssertEqual(try a.reduce(.mean, axis: 0).data, [2.5, 3.5, 4.5])
        XCTAssertEqual(try a.reduce(.sum, axis: -1).data, [6, 15])
        XCTAssertEqual(try a.reduce(.argmax, axis: 1).data, [2, 2])
        XCTAssertEqual(try a.reduce(.norm, axis: 1).data[0], (1 + 4 + 9 as Float).squareRoot(), accuracy: 1e-6)
        let top = Tensor(shape: [6], data: [0.1, 5, -1, 5, 3, 2]).topK(3)
        XCTAssertEqual(top.map(\.index), [1, 3, 4])
    }

    func testSoftmaxLayerNormAndGelu() {
        let x = data(64, seed: 5)
        let s = Tensor(shape: [64], data: x).softmax()
        let e = x.map { expf($0) }, z = e.reduce(0, +)
        for i in 0..<64 { XCTAssertEqual(s.data[i], e[i] / z, accuracy: 1e-6) }
        var row = x, scale: Float = 0
        row.withUnsafeMutableBufferPointer { p in withUnsafeMutablePointer(to: &scale) { NeuralOps.layerNormPre(p.baseAddress!, rows: 1, d: 64, eps: 1e-5, scales: $0) } }
        let mean = x.reduce(0, +) / 64, variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 64
        XCTAssertEqual(scale, (variance + 1e-5).squareRoot(), accuracy: 1e-6)
        for i in 0..<64 { XCTAssertEqual(row[i], (x[i] - mean) / scale, accuracy: 1e-5) }
        var g = x
        g.withUnsafeMutableBufferPointer { NeuralOps.geluNew($0.baseAddress!, count: 64) }
        for i in 0..<64 {
            let v = Double(x[i])
            XCTAssertEqual(Double(g[i]), 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))), accuracy: 1e-6)
        }
        // A row of only −inf becomes zeros (TransformerLens turns that NaN into 0).
        var masked: [Float] = [-.infinity, -.infinity]
        masked.withUnsafeMutableBufferPointer { NeuralOps.softmaxRow($0.baseAddress!, count: 2) }
        XCTAssertEqual(masked, [0, 0])
    }
}
