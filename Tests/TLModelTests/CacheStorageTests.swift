// `run ... store=f16|bf16|disk` (issue 22's memory target): a 16-bit cache holds exactly the
// Float32 activations rounded to nearest even (checked against naive conversions written here, not
// the kernels'), a disk-stored cache reads back bit for bit and deletes its file with the cache, a
// damaged file is an error, and the up-front refusal counts the storage and names the ways out.
import Foundation
import XCTest
@testable import TLModel
import TLTensor
import TLTestSupport

/// Naive references: Swift's own Float16 conversion (IEEE round to nearest even) and bfloat16 by
/// choosing the nearer of the two neighbouring bf16 values in Double arithmetic (ties to an even
/// last bit).
enum NaiveHalf {
    static func f16(_ x: Float) -> Float { Float(Float16(x)) }

    static func bf16(_ x: Float) -> Float {
        guard x.isFinite else { return x.isNaN ? .nan : x }
        let bits = x.bitPattern, magnitude = bits & 0x7fff_ffff
        let down = Double(Float(bitPattern: magnitude & 0x7fff_0000))  // toward zero
        // The next bf16 magnitude up, one unit in its last place (8 significant bits) higher: 2^128
        // past the largest finite value, where rounding up means infinity.
        let exponent = Int(magnitude >> 23)
        let up = down + pow(2.0, Double(max(exponent, 1) - 127 - 7))
        let a = Double(Float(bitPattern: magnitude))
        let roundUp = a - down > up - a || (a - down == up - a && (bits >> 16) & 1 == 1)
        let result = Float(bitPattern: (magnitude & 0x7fff_0000) &+ (roundUp ? 0x1_0000 : 0))  // 0x7f80_0000: infinity
        return x.sign == .minus ? -result : result
    }

    static func rounded(_ x: Float, _ storage: CacheStorage) -> Float { storage == .f16 ? f16(x) : bf16(x) }
}

final class CacheStorageTests: XCTestCase {
    func tiny() throws -> (HookedTransformer, [Int]) {
        let g = try Golden("tiny-a")
        return (try HookedTransformer.load(directory: g.hfDirectory), g.seqA)
    }

    func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }

    /// The kernels' vector narrowing against the naive conversions over a sweep of bit patterns
    /// (every sign, exponent and rounding case: subnormal halves, the overflow edge at 65520,
    /// ties, NaN, infinities), with a length that leaves a scalar tail.
    func testNarrowingMatchesNaiveRoundingOverTheWholeFloatRange() {
        var values: [Float] = [0, -0, 65504, 65519.996, 65520, -65520, 1e-8, 2.980232e-8, 5.96046448e-8, 6.1e-5, 6.103515625e-05,
                               .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1 + 1.0 / 2048, 1 + 3.0 / 2048,
                               1 + 1.0 / 256, 1 + 3.0 / 256, Float(bitPattern: 0x7f7f_8000), Float(bitPattern: 0x3380_0000)]
        var bits: UInt32 = 0
        while true {
            values.append(Float(bitPattern: bits))
            let (next, overflow) = bits.addingReportingOverflow(4093)
            if overflow { break }
            bits = next
        }
        values.append(1.5)  // length ≠ 0 (mod 16)
        for storage in [CacheStorage.f16, .bf16] {
            let h = HalfTensor(narrowing: Tensor(shape: [values.count], data: values), to: storage.halfFormat!)
            let back = h.widened().data
            var mismatches = 0
            for (x, y) in zip(values, back) where !same(y, NaiveHalf.rounded(x, storage)) {
                if mismatches < 5 { XCTFail("\(storage): \(x) (0x\(String(x.bitPattern, radix: 16))) → \(y), expected \(NaiveHalf.rounded(x, storage))") }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(storage): \(mismatches) of \(values.count) values rounded differently")
            // The scalar kernel (the vector loop's tail) rounds the same way.
            XCTAssertTrue(zip(values, back).allSatisfy { same(storage.halfFormat!.rounded($0), $1) })
        }
    }

    func testSixteenBitCacheIsTheFloat32CacheRounded() throws {
        let (model, tokens) = try tiny()
        let (logits, exact) = try model.runWithCache(tokens: [tokens])
        for storage in [CacheStorage.f16, .bf16] {
            let (logits16, cache) = try model.runWithCache(tokens: [tokens], storage: storage)
            XCTAssertEqual(cache.storage, storage)
            XCTAssertEqual(cache.keys, exact.keys)
            XCTAssertEqual(logits16, logits, "logits are Float32 whatever the cache's storage")
            // Each entry exactly the Float32 value rounded, and within the format's relative error.
            let bound: Float = storage == .f16 ? 1.0 / 2048 : 1.0 / 256
            var worst: Float = 0
            for key in exact.keys {
                let x = try XCTUnwrap(exact[key]), y = try XCTUnwrap(cache[key])
                XCTAssertEqual(y.shape, x.shape, key)
                let wrong = zip(x.data, y.data).filter { !same($1, NaiveHalf.rounded($0, storage)) }.count
                XCTAssertEqual(wrong, 0, "\(storage) \(key): \(wrong) values are not the Float32 value rounded to nearest even")
                for (a, b) in zip(x.data, y.data) where a.isFinite && abs(a) >= 6.103515625e-05 {
                    worst = max(worst, abs(b - a) / abs(a))
                }
            }
            XCTAssertLessThanOrEqual(worst, bound, "\(storage): relative error")
            print("store=\(storage): worst relative error \(worst) (bound \(bound)); \(cache.memoryBytes) bytes vs \(exact.memoryBytes) in Float32")
            XCTAssertEqual(2 * cache.memoryBytes, exact.memoryBytes)
            // Analyses read it as Float32 like any other cache.
            XCTAssertEqual(try cache.get("resid_post", layer: 1).shape, try exact.get("resid_post", layer: 1).shape)
        }
    }

    func testDiskCacheReadsBackBitForBitAndDeletesItsFile() throws {
        let (model, tokens) = try tiny()
        let (logits, exact) = try model.runWithCache(tokens: [tokens])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-spill-test-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var path = ""
        try EngineContext(spillDirectory: directory.path).run {
            let (diskLogits, cache) = try model.runWithCache(tokens: [tokens], storage: .disk)
            XCTAssertEqual(diskLogits, logits)
            path = try XCTUnwrap(cache.spillPath)
            XCTAssertTrue(path.hasPrefix(directory.path), path)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path))
            XCTAssertEqual(cache.memoryBytes, 0, "every entry is on disk")
            XCTAssertEqual(cache.keys, exact.keys)
            for key in exact.keys {
                let x = try XCTUnwrap(exact[key]), y = try XCTUnwrap(try cache.tensor(key))
                XCTAssertEqual(y.shape, x.shape, key)
                XCTAssertTrue(zip(x.data, y.data).allSatisfy { same($0, $1) }, "\(key) differs from the in-memory cache")
            }
            // The file is an ordinary safetensors file holding the activations.
            let file = try SafeTensorsFile(path: path)
            XCTAssertEqual(Set(file.tensors.keys), Set(exact.keys))
            XCTAssertEqual(cache.spillBytes, Int((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1))
            // Entries added after the run (analyses, spliced SAEs) stay in memory and keep their place.
            cache.insert("extra", Tensor(shape: [2], data: [1, 2]), before: "blocks.0.hook_resid_pre")
            XCTAssertEqual(cache.keys.firstIndex(of: "extra"), exact.keys.firstIndex(of: "blocks.0.hook_resid_pre"))
            XCTAssertEqual(cache["extra"]?.data, [1, 2])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "the file goes with the cache")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testAFailedDiskRunLeavesNoFile() throws {
        let (model, tokens) = try tiny()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-spill-fail-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var calls = 0
        try EngineContext(spillDirectory: directory.path).run {
            var o = RunOptions()
            o.cacheFilter = { _ in true }
            o.cacheStorage = .disk
            o.isCancelled = { calls += 1; return calls > 1 }  // stop after the first block
            XCTAssertThrowsError(try model.run(tokens: [tokens], options: o))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testATruncatedSpillFileIsAClearErrorNotACrash() throws {
        let (model, tokens) = try tiny()
        let (_, cache) = try model.runWithCache(tokens: [tokens], storage: .disk)
        let path = try XCTUnwrap(cache.spillPath)
        XCTAssertNotNil(try cache.tensor("blocks.1.hook_resid_post"))
        XCTAssertEqual(truncate(path, off_t(cache.spillBytes / 2)), 0)
        for key in ["hook_embed", "blocks.1.hook_resid_post"] {
            XCTAssertThrowsError(try cache.tensor(key)) { error in
                XCTAssert("\(error)".contains("truncated") && "\(error)".contains("run the prompt again"), "\(error)")
            }
        }
        XCTAssertThrowsError(try cache.get("resid_post", layer: 0)) { XCTAssert("\($0)".contains("truncated"), "\($0)") }
        XCTAssertNil(cache["hook_embed"])
    }

    func testAnUnwritableSpillDirectoryIsAClearError() throws {
        let (model, tokens) = try tiny()
        try EngineContext(spillDirectory: "/nonexistent/tlsh-spill").run {
            XCTAssertThrowsError(try model.runWithCache(tokens: [tokens], storage: .disk)) { error in
                XCTAssert("\(error)".contains("/nonexistent/tlsh-spill") && "\(error)".contains("TLSH_SPILL_DIR"), "\(error)")
            }
        }
        XCTAssertEqual(EngineContext(environment: ["TLSH_SPILL_DIR": "/data/spill"]).spillDirectory, "/data/spill")
        XCTAssertEqual(EngineContext().effectiveSpillDirectory, FileManager.default.temporaryDirectory.path)
    }

    func testTheRefusalCountsTheStorageAndNamesTheWaysOut() throws {
        let (model, _) = try tiny()
        let tokens = [Array(0..<64)]
        let all: (String) -> Bool = { _ in true }
        let f32 = model.estimatedCacheBytes(batch: 1, positions: 64, names: all)
        let f16 = model.estimatedCacheBytes(batch: 1, positions: 64, names: all, storage: .f16)
        let disk = model.estimatedCacheBytes(batch: 1, positions: 64, names: all, storage: .disk)
        let logits = 4.0 * 64 * Double(model.config.dVocab)
        XCTAssertEqual(f32 - logits, 2 * (f16 - logits), accuracy: 0.5, "16 bits halve the activations' bytes")
        XCTAssertEqual(model.estimatedSpillBytes(batch: 1, positions: 64, names: all), f32 - logits, accuracy: 0.5)
        XCTAssertLessThan(disk, f16)
        // A cap between the 16-bit and the Float32 estimate: f32 is refused with both ways out, f16 runs.
        try EngineContext(memoryLimitBytes: Int((f16 + f32) / 2)).run {
            XCTAssertThrowsError(try model.runWithCache(tokens: tokens)) { error in
                let m = "\(error)"
                XCTAssert(m.contains("needs about") && m.contains("names filter") && m.contains("store=f16") && m.contains("store=disk")
                          && m.contains("fits") && m.contains("shorter prompt"), m)
            }
            XCTAssertNoThrow(try model.runWithCache(tokens: tokens, storage: .f16))
            XCTAssertNoThrow(try model.runWithCache(tokens: tokens, storage: .disk))
        }
        // Below the 16-bit estimate: f16 is refused too, and its message says so.
        try EngineContext(memoryLimitBytes: Int((disk + f16) / 2)).run {
            XCTAssertThrowsError(try model.runWithCache(tokens: tokens, storage: .f16)) { error in
                let m = "\(error)"
                XCTAssert(m.contains("with store=f16") && m.contains("store=disk") && !m.contains("store=bf16"), m)
            }
            XCTAssertNoThrow(try model.runWithCache(tokens: tokens, storage: .disk))
        }
    }
}
