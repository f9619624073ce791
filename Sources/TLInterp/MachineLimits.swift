// What this machine could do at best, measured the same way every run: the rate at which memory
// streams into the cores (the floor for a short prompt, which must read every weight once) and
// the large-matrix sgemm rate (the ceiling for a long prompt, which is all matrix products).
import Foundation
import TLModel
import TLTensor

enum MachineLimits {
    /// Read bandwidth in GB/s: `threads` threads summing disjoint halves of a 512 MiB buffer,
    /// best of 5 passes (the buffer is far larger than any cache).
    static func streamingReadGBps(threads: Int) -> Double {
        let count = 128 << 20  // floats
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        let chunk = count / threads
        var best = Double.infinity
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sink.deallocate() }
        // Addresses cross into the worker closure as integers (raw pointers are not Sendable).
        let bufferAddress = Int(bitPattern: buffer), sinkAddress = Int(bitPattern: sink)
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let base = UnsafeRawPointer(bitPattern: bufferAddress)! + t * chunk * 4
                var acc = SIMD16<Float>(repeating: 0), acc2 = acc
                var i = 0
                while i < chunk {
                    acc += base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                    acc2 += base.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
                    i += 32
                }
                UnsafeMutablePointer<Float>(bitPattern: sinkAddress)![t] = (acc + acc2).sum()
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return Double(count * 4) / best / 1e9
    }

    /// Large square sgemm rate in GFLOP/s through the same BLAS the engine uses (median of 3).
    static func sgemmGFLOPps(n: Int) -> Double {
        var a = [Float](repeating: 0, count: n * n), c = a
        for i in 0..<(n * n) { a[i] = Float(i % 17) * 0.01 }
        let b = a
        let seconds = EngineBenchmark.median(repeats: 3) {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                           c: cp.baseAddress!, ldc: n)
            } } }
        }
        return 2 * pow(Double(n), 3) / seconds / 1e9
    }

    /// Bytes of weights a forward pass reads: every block's matrices and biases plus the unembedding
    /// (embedding rows for a few tokens are negligible).
    static func streamedWeightBytes(_ model: HookedTransformer) -> Int {
        let w = model.weights
        var floats = w.bU.count
        for l in w.layers { floats += l.bQKV.count + l.bO.count + l.bIn.count + l.bOut.count }
        return floats * 4 + model.matrixStreamBytes
    }

    /// Multiply-adds ×2 of a forward pass on `tokens` positions, counting only the causal half of
    /// attention (the work that has to be done).
    static func forwardFLOP(_ c: ModelConfig, tokens p: Int) -> Double {
        let P = Double(p), d = Double(c.dModel), hd = Double(c.nHeads * c.dHead), m = Double(c.dMLP)
        let perLayer = 2 * P * d * 3 * hd + 2 * P * hd * d + 2 * 2 * P * d * m
            + 2 * 2 * (P * (P + 1) / 2) * hd
        return Double(c.nLayers) * perLayer + 2 * P * d * Double(c.dVocab)
    }
}
