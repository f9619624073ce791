// The C kernels (Sources/TLKernels) against direct Double-precision loops: the unpacked GEMM over
// every tile shape and edge, the vectorised exp inside softmax and gelu over their whole range, and
// causal attention (fused and score-only) with a KV-cache offset and padding masks.
import XCTest
@testable import TLTensor

/// Deterministic pseudo-random floats in [−scale, scale).
func pseudoRandom(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return scale * (Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1)
    }
}

final class KernelTests: XCTestCase {
    func data(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] { pseudoRandom(n, seed: seed, scale: scale) }

    func testSmallRowGEMMCoversEveryTileShapeAndLeavesOtherColumnsAlone() {
        // m crosses the 6-row tile, n the 64- and 16-column panels and the scalar tail.
        for m in [1, 2, 5, 6, 7, 12, 13] {
            for n in [1, 15, 16, 17, 64, 65, 130, 300] {
                for k in [1, 7, 64] {
                    let lda = k + 3, ldb = n + 5, ldc = n + 2
                    let a = data(m * lda, seed: UInt64(m * 1000 + k)), b = data(k * ldb, seed: UInt64(n * 7 + k))
                    var c = [Float](repeating: 42, count: m * ldc)
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                        SmallBatchGEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                                c: cp.baseAddress!, ldc: ldc)
                    } } }
                    for i in 0..<m {
                        for j in 0..<n {
                            var s: Double = 0
                            for t in 0..<k { s += Double(a[i * lda + t]) * Double(b[t * ldb + j]) }
                            XCTAssertEqual(Double(c[i * ldc + j]), s, accuracy: 1e-5, "m=\(m) n=\(n) k=\(k) at \(i),\(j)")
                        }
                        for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 42, "m=\(m) n=\(n) k=\(k): column \(j) beyond n written") }
                    }
                }
            }
        }
    }

    func testSmallRowGEMMSplitsColumnsOverWorkersLikeOneWorker() throws {
        // Big enough to be split over the cores; must equal the naive product everywhere.
        let (m, k, n) = (9, 768, 2304 + 17)
        let a = Tensor(shape: [m, k], data: data(m * k, seed: 11)), b = Tensor(shape: [k, n], data: data(k * n, seed: 12))
        let c = try a.matmul(b)
        for i in [0, 4, 8] {
            for j in stride(from: 0, to: n, by: 97) + [n - 1] {
                var s: Double = 0
                for t in 0..<k { s += Double(a.data[i * k + t]) * Double(b.data[t * n + j]) }
                XCTAssertEqual(Double(c.data[i * n + j]), s, accuracy: 1e-4)
            }
        }
    }

    func testSoftmaxMatchesDoublePrecisionOverAWideRange() {
        for count in [1, 5, 16, 33, 1000] {
            var row = data(count, seed: UInt64(count), scale: 60)
            if count > 3 { row[1] = -.infinity }
            let reference = row.map(Double.init)
            let maxV = reference.max()!
            let e = reference.map { $0 == -.infinity ? 0 : exp($0 - maxV) }, z = e.reduce(0, +)
            row.withUnsafeMutableBufferPointer { NeuralOps.softmaxRow($0.baseAddress!, count: count) }
            for i in 0..<count {
                XCTAssertEqual(Double(row[i]), e[i] / z, accuracy: 1e-6 + 1e-5 * e[i] / z, "count \(count) at \(i)")
            }
            if count > 3 { XCTAssertEqual(row[1], 0, "a −inf score gives exactly 0") }
        }
    }

    func testGeluNewOverItsWholeRange() {
        var x = data(999, seed: 3, scale: 12) + [0, -0.0, 1e-8, -1e-8, 40, -40, 1e4, -1e4, 88, -88]
        let reference = x.map { v -> Double in
            let v = Double(v)
            return 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
        }
        x.withUnsafeMutableBufferPointer { NeuralOps.geluNew($0.baseAddress!, count: $0.count) }
        for (i, r) in reference.enumerated() {
            XCTAssertEqual(Double(x[i]), r, accuracy: 1e-6 + 2e-7 * abs(r), "at input \(i)")
        }
    }

    /// Naive causal attention for one head: keys j ≤ past + i with mask[j] != 0.
    func naiveAttention(q: [Float], k: [Float], v: [Float], P: Int, T: Int, past: Int, dh: Int, scale: Float,
                        mask: [Int32]?) -> (scores: [Double], z: [Double]) {
        var scores = [Double](repeating: -.infinity, count: P * T), z = [Double](repeating: 0, count: P * dh)
        for i in 0..<P {
            for j in 0..<T where j <= past + i && (mask?[j] ?? 1) != 0 {
                var s: Double = 0
                for d in 0..<dh { s += Double(q[i * dh + d]) * Double(k[j * dh + d]) }
                scores[i * T + j] = s / Double(scale)
            }
            let row = scores[(i * T)..<((i + 1) * T)], m = row.max()!
            guard m > -.infinity else { continue }
            let e = row.map { exp($0 - m) }, sum = e.reduce(0, +)
            for j in 0..<T { for d in 0..<dh { z[i * dh + d] += e[j] / sum * Double(v[j * dh + d]) } }
        }
        return (scores, z)
    }

    func testCausalAttentionFusedAndScoresMatchNaive() {
        let dh = 64
        for (P, past, masked) in [(1, 0, false), (5, 0, false), (100, 0, false), (100, 0, true), (3, 40, false), (1, 7, true)] {
            let T = past + P, scale: Float = 8
            let q = data(P * dh, seed: 1, scale: 2), k = data(T * dh, seed: 2, scale: 2), v = data(T * dh, seed: 3)
            // With `masked`, key 0 and every third key are padding; query 0 (past 0) then sees nothing.
            let mask: [Int32]? = masked ? (0..<T).map { $0 == 0 || $0 % 3 == 1 ? 0 : 1 } : nil
            let expected = naiveAttention(q: q, k: k, v: v, P: P, T: T, past: past, dh: dh, scale: scale, mask: mask)
            var z = [Float](repeating: .nan, count: P * dh), s = [Float](repeating: .nan, count: P * T)
            var scratch = [Float](repeating: 0, count: AttentionKernels.scratchCount(t: T, dHead: dh))
            let run = { (m: UnsafePointer<Int32>?) in
                q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                    z.withUnsafeMutableBufferPointer { zp in s.withUnsafeMutableBufferPointer { sp in
                        scratch.withUnsafeMutableBufferPointer { sc in
                            AttentionKernels.causal(rows: 0..<P, t: T, past: past, dHead: dh, scale: scale, q: qp.baseAddress!, qStride: dh,
                                                    k: kp.baseAddress!, kStride: dh, v: vp.baseAddress!, vStride: dh, keyMask: m,
                                                    z: zp.baseAddress!, zStride: dh, scratch: sc.baseAddress!)
                            AttentionKernels.scores(rows: 0..<P, t: T, past: past, dHead: dh, scale: scale, q: qp.baseAddress!, qStride: dh,
                                                    k: kp.baseAddress!, kStride: dh, keyMask: m, s: sp.baseAddress!, scratch: sc.baseAddress!)
                        }
                    } }
                } } }
            }
            if let mask { mask.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            for i in 0..<(P * dh) { XCTAssertEqual(Double(z[i]), expected.z[i], accuracy: 1e-5, "P=\(P) past=\(past) masked=\(masked) z[\(i)]") }
            for i in 0..<(P * T) {
                if expected.scores[i] == -.infinity { XCTAssertEqual(s[i], -.infinity, "score \(i) must be masked") }
                else { XCTAssertEqual(Double(s[i]), expected.scores[i], accuracy: 1e-5, "score \(i)") }
            }
        }
    }
}

final class PackedMatrixTests: XCTestCase {
    func testPackedProductsEqualNaiveForFullAndPaddedPanels() {
        // 128 columns fill two panels; 130 leave a zero-padded third; row counts cross the 6-row
        // tile and the 96-row block, and 1 row is generation's case. Long products (over
        // streamingRows) are handed out in row-block × panel-group units: 400 rows leave a short
        // last unit, and 1000 × 1024 makes sixteen one-panel groups. Two workers even on one core.
        EngineContext(threads: 2).run {
            for (m, k, n) in [(1, 64, 128), (7, 100, 130), (11, 768, 192), (97, 33, 70), (3, 5, 1), (400, 70, 300), (1000, 48, 1024)] {
                let a = pseudoRandom(m * (k + 2), seed: 21), w = pseudoRandom(k * n, seed: 22)
                guard let packed = PackedMatrix(w, rows: k, columns: n) else { return XCTFail("packing turned off") }
                let ldc = n + 3
                var c = [Float](repeating: 7, count: m * ldc)
                a.withUnsafeBufferPointer { ap in c.withUnsafeMutableBufferPointer { cp in
                    packed.multiply(m: m, a: ap.baseAddress!, lda: k + 2, c: cp.baseAddress!, ldc: ldc)
                } }
                for i in 0..<m {
                    for j in 0..<n {
                        var s: Double = 0
                        for t in 0..<k { s += Double(a[i * (k + 2) + t]) * Double(w[t * n + j]) }
                        XCTAssertEqual(Double(c[i * ldc + j]), s, accuracy: 1e-4, "m=\(m) k=\(k) n=\(n) at \(i),\(j)")
                    }
                    for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], 7, "m=\(m) n=\(n): column \(j) beyond n written") }
                }
            }
        }
    }
}

extension PackedMatrixTests {
    func testEveryRowCountGivesEachRowTheSameBitsAsARowAlone() {
        // Each output is one k-ascending fused multiply-add chain whichever tile computes it (the
        // one-row tile, the 2-row wide tile, the k-chunked few-row path for 3–12 rows, the 6-row
        // strips beyond), so a row's product never depends on how many rows came with it: what
        // makes a KV-cached token equal the same position of a full forward, bit for bit.
        // The same for 16-bit panels (each chunk widened, then the Float32 strips). k = 203 leaves
        // a partial chunk; 130 columns a zero-padded last panel.
        let k = 203, n = 130
        let w = pseudoRandom(k * n, seed: 41)
        for dtype in [WeightDType.f32, .bf16, .f16] {
            guard let packed = PackedMatrix(w, rows: k, columns: n, dtype: dtype) else { return XCTFail("packing turned off") }
            func product(_ rows: [Float], m: Int) -> [Float] {
                var c = [Float](repeating: 0, count: m * n)
                rows.withUnsafeBufferPointer { ap in c.withUnsafeMutableBufferPointer { cp in
                    packed.multiply(m: m, a: ap.baseAddress!, lda: k, c: cp.baseAddress!, ldc: n)
                } }
                return c
            }
            for m in 1...14 {
                let a = pseudoRandom(m * k, seed: UInt64(40 + m))
                let together = product(a, m: m)
                for r in 0..<m {
                    let alone = product(Array(a[(r * k)..<((r + 1) * k)]), m: 1)
                    XCTAssertEqual(Array(together[(r * n)..<((r + 1) * n)]), alone, "\(dtype): row \(r) of \(m)")
                }
            }
        }
    }
}

final class SplitProductTests: XCTestCase {
    func testLargeProductsSplitByRowsOrColumnsEqualNaive() throws {
        // Big enough to be split over the workers: by rows (m ≥ 128 per worker) and by columns.
        for (m, k, n) in [(300, 200, 300), (100, 100, 700)] {
            let a = Tensor(shape: [m, k], data: pseudoRandom(m * k, seed: 31)), b = Tensor(shape: [k, n], data: pseudoRandom(k * n, seed: 32))
            let c = try a.matmul(b)
            for i in stride(from: 0, to: m, by: 37) + [m - 1] {
                for j in stride(from: 0, to: n, by: 29) + [n - 1] {
                    var s: Double = 0
                    for t in 0..<k { s += Double(a.data[i * k + t]) * Double(b.data[t * n + j]) }
                    XCTAssertEqual(Double(c.data[i * n + j]), s, accuracy: 1e-4, "m=\(m) n=\(n) at \(i),\(j)")
                }
            }
        }
    }
}

final class ParallelTests: XCTestCase {
    func testForEachRunsEveryIndexOnceWithMoreIndicesThanWorkers() {
        for workers in [1, 2, 3] { EngineContext(threads: workers).run {
            for count in [0, 1, 2, 3, 50] {
                let lock = NSLock()
                var seen: [Int] = []
                Parallel.forEach(count) { i in lock.lock(); seen.append(i); lock.unlock() }
                XCTAssertEqual(seen.sorted(), Array(0..<count), "width \(workers), count \(count)")
            }
        } }
    }

    func testGuidedPiecesCoverEveryIndexOnceShrinkingToTheMinimum() {
        // Every index in exactly one piece; pieces start long (a quarter of the rest with two
        // workers) and none is shorter than the minimum except where fewer indices were left.
        EngineContext(threads: 2).run {
            for (count, minimum) in [(1, 2), (2, 2), (13, 2), (36, 2), (785, 2), (100, 1), (7, 10)] {
                let lock = NSLock()
                var pieces: [Range<Int>] = []
                Parallel.forEachGuided(of: count, workers: 2, minimum: minimum) { range in
                    lock.lock(); pieces.append(range); lock.unlock()
                }
                pieces.sort { $0.lowerBound < $1.lowerBound }
                XCTAssertEqual(pieces.first?.lowerBound, 0, "count \(count)")
                XCTAssertEqual(pieces.last?.upperBound, count, "count \(count)")
                for (a, b) in zip(pieces, pieces.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "count \(count): gap or overlap") }
                for p in pieces { XCTAssertTrue(p.count >= minimum || p.upperBound == count, "count \(count): piece \(p) below \(minimum)") }
                XCTAssertEqual(pieces.first?.count, max(minimum, count / 4) < count ? max(minimum, count / 4) : count,
                               "count \(count): the first piece is a quarter of the work")
                if count >= 100 { XCTAssertGreaterThan(pieces.count, 4, "count \(count): the tail is split finer") }
            }
        }
    }
}
