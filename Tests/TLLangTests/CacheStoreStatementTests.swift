// `run ... store=f16|bf16|disk` through the language: the cache keeps its storage, indexing and
// analyses read Float32, `save` of a disk-stored cache writes the same file as the Float32 cache's,
// and a run too large for memory is refused with store= among the ways out.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTestSupport
import TLTensor

final class CacheStoreStatementTests: XCTestCase {
    private let output = CapturingOutput()

    private let golden = { try! Golden("llama-a", root: Golden.familiesRoot) }()

    private func session() throws -> (Session, String) {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = output
        try s.execute("model \"\(golden.hfDirectory.path)\"")
        return (s, (golden.meta["tokens"] as! [Int]).map(String.init).joined(separator: ", "))
    }

    private func cache(_ s: Session, _ name: String) throws -> CacheValue {
        guard case .cache(let c)? = s.variables[name] else { throw XCTSkip("\(name) is not a cache") }
        return c
    }

    func testStoreOptionKeepsTheCacheIn16BitsAndReadsFloat32() throws {
        let (s, ids) = try session()
        try s.execute("c = run [\(ids)] bos=false\nh = run [\(ids)] bos=false store=f16\nb = run [\(ids)] bos=false store=bf16")
        let exact = try cache(s, "c"), half = try cache(s, "h"), brain = try cache(s, "b")
        XCTAssertEqual(exact.cache.storage, .f32)
        XCTAssertEqual(half.cache.storage, .f16)
        XCTAssertEqual(brain.cache.storage, .bf16)
        XCTAssertEqual(2 * half.cache.memoryBytes, exact.cache.memoryBytes)
        let key = "blocks.1.hook_resid_post"
        let x = try XCTUnwrap(exact.cache[key]), y = try XCTUnwrap(half.cache[key])
        XCTAssertEqual(y.data, x.data.map { Float(Float16($0)) })
        // Indexing and analyses run on it as on any cache.
        try s.execute("r = h.resid_post[1]\nn = norms h resid_post\nl = lens h")
        guard case .tensor(let r)? = s.variables["r"] else { return XCTFail("h.resid_post[1] is not a tensor") }
        XCTAssertEqual(r.tensor.data, Array(y.data))
        XCTAssertThrowsError(try s.execute("z = run [\(ids)] bos=false store=f8")) { error in
            XCTAssert("\(error)".contains("store=f8") && "\(error)".contains("f16"), "\(error)")
        }
        XCTAssertNil(s.variables["z"])
    }

    func testSaveOfADiskStoredCacheWritesTheSameFile() throws {
        let (s, ids) = try session()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-store-save-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        s.settings.engine.spillDirectory = dir.path
        try s.execute("""
            c = run [\(ids)] bos=false
            d = run [\(ids)] bos=false store=disk
            save c "\(dir.path)/c.safetensors"
            save d "\(dir.path)/d.safetensors"
            """)
        let spill = try XCTUnwrap(try cache(s, "d").cache.spillPath)
        XCTAssertTrue(spill.hasPrefix(dir.path), spill)
        let saved = try Data(contentsOf: dir.appendingPathComponent("d.safetensors"))
        XCTAssertEqual(saved, try Data(contentsOf: dir.appendingPathComponent("c.safetensors")), "bit for bit the Float32 cache's file")
        // Saving streams entry by entry: under a cap smaller than the file it still works, and
        // writes the same bytes.
        s.settings.engine.memoryLimitBytes = saved.count / 2
        try s.execute("save d \"\(dir.path)/e.safetensors\"")
        s.settings.engine.memoryLimitBytes = nil
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("e.safetensors")), saved)
        // Replacing the variable (and the last cache, which top, lens and dla default to) releases
        // the cache and its file.
        try s.execute("d = 1\nc = run [\(ids)] bos=false")
        XCTAssertFalse(FileManager.default.fileExists(atPath: spill))
    }

    func testARunTooLargeForMemoryNamesStore() throws {
        let (s, _) = try session()
        // A cap between what the cache takes on disk (the logits and one activation in memory) and in 16 bits.
        let model = try HookedTransformer.load(directory: golden.hfDirectory)
        let f16 = model.estimatedCacheBytes(batch: 1, positions: 64, names: { _ in true }, storage: .f16)
        let disk = model.estimatedCacheBytes(batch: 1, positions: 64, names: { _ in true }, storage: .disk)
        s.settings.engine.memoryLimitBytes = Int((f16 + disk) / 2)
        let long = (0..<64).map(String.init).joined(separator: ", ")
        XCTAssertThrowsError(try s.execute("big = run [\(long)] bos=false store=f32")) { error in
            let m = "\(error)"
            XCTAssert(m.contains("of memory") && m.contains("store=f16") && m.contains("store=disk"), m)
        }
        XCTAssertNil(s.variables["big"])
        XCTAssertNoThrow(try s.execute("big = run [\(long)] bos=false store=disk"))
    }

    func testARunTooLargeForMemorySpillsToDiskWhenStoreIsNotGiven() throws {
        let (s, _) = try session()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-auto-spill-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        s.settings.engine.spillDirectory = dir.path
        let model = try HookedTransformer.load(directory: golden.hfDirectory)
        let all: (String) -> Bool = { _ in true }
        let f32 = model.estimatedCacheBytes(batch: 1, positions: 64, names: all)
        let disk = model.estimatedCacheBytes(batch: 1, positions: 64, names: all, storage: .disk)
        let long = (0..<64).map(String.init).joined(separator: ", ")
        try s.execute("exact = run [\(long)] bos=false")
        let exact = try cache(s, "exact")
        XCTAssertEqual(exact.cache.storage, .f32, "a cache that fits stays in memory")

        // Between the disk-stored cache's memory and the Float32 cache's: it spills, says so, and
        // reads back the same numbers.
        s.settings.engine.memoryLimitBytes = Int((f32 + disk) / 2)
        output.text = ""
        try s.execute("big = run [\(long)] bos=false")
        let big = try cache(s, "big")
        XCTAssertEqual(big.cache.storage, .disk)
        XCTAssertTrue(try XCTUnwrap(big.cache.spillPath).hasPrefix(dir.path))
        XCTAssert(output.text.contains("store=disk") && output.text.contains("available"), output.text)
        for key in ["blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern"] {
            XCTAssertEqual(try XCTUnwrap(big.cache[key]).data, try XCTUnwrap(exact.cache[key]).data, key)
        }
        XCTAssertEqual(big.logits.data, exact.logits.data)

        // Below even the disk-stored cache's memory: refused as before, nothing bound.
        s.settings.engine.memoryLimitBytes = Int(disk / 2)
        XCTAssertThrowsError(try s.execute("none = run [\(long)] bos=false")) { error in
            XCTAssert("\(error)".contains("of memory"), "\(error)")
        }
        XCTAssertNil(s.variables["none"])
    }
}
