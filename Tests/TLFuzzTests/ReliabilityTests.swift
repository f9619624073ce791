// The size checks and the transactional session, one explicit test per promised behaviour, plus
// regression tests for the crashes the fuzzers found (docs/RELIABILITY.md lists them).
import Foundation
import TLLang
import TLModel
import TLTensor
import XCTest

final class SafeTensorsLimitTests: XCTestCase {
    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-reliability-\(getpid())-\(name).safetensors")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    private func openError(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = try write(bytes, name)
        do {
            _ = try SafeTensorsFile(path: path)
        } catch let error as TLModelError {
            return error.description
        }
        XCTFail("\(name): a corrupt file was accepted")
        return ""
    }

    func testAbsurdShapeIsRefusedBeforeAllocation() throws {
        let header = Array(#"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}"#.utf8)
        let message = try openError(safetensorsBytes(header: header, data: Array(repeating: 0, count: 16)), "absurd-shape")
        XCTAssert(message.contains("shape"), message)
        let overflow = Array(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,16]}}"#.utf8)
        let second = try openError(safetensorsBytes(header: overflow, data: Array(repeating: 0, count: 16)), "overflow-shape")
        XCTAssert(second.contains("shape"), second)
    }

    func testOffsetsPastTheEndOfTheFileAreRefused() throws {
        let header = Array(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.utf8)
        let message = try openError(safetensorsBytes(header: header, data: Array(repeating: 0, count: 8)), "past-eof")
        XCTAssert(message.contains("past the end of the data (8 bytes)"), message)
        let huge = Array(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775800,9223372036854775807]}}"#.utf8)
        let second = try openError(safetensorsBytes(header: huge, data: Array(repeating: 0, count: 16)), "offset-overflow")
        XCTAssert(second.contains("past the end"), second)
    }

    func testShapeAndByteCountMustAgree() throws {
        let header = Array(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#.utf8)
        let message = try openError(safetensorsBytes(header: header, data: Array(repeating: 0, count: 16)), "size-mismatch")
        XCTAssert(message.contains("needs 12"), message)
    }

    func testHeaderLengthLargerThanTheFileIsRefused() throws {
        let header = Array(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        for declared in [UInt64(header.count + 5), UInt64(Int.max), UInt64.max] {
            let message = try openError(safetensorsBytes(header: header, data: [0, 0, 0, 0], declaredLength: declared), "header-\(declared)")
            XCTAssert(message.contains("exceeds the file size"), message)
        }
        XCTAssert(try openError([1, 2, 3], "short").contains("shorter than the 8-byte header length"))
    }
}

final class SessionLimitTests: XCTestCase {
    func testPromptLongerThanTheContextIsAClearError() throws {
        let session = try LanguageFixtures.session()
        let before = fingerprint(session)
        let ids = (0..<70).map { String($0 % 900) }.joined(separator: ", ")  // tiny-a: n_ctx 64
        XCTAssertThrowsError(try session.execute("long = run [\(ids)]")) { error in
            let message = (error as? ExecutionError)?.message ?? "\(error)"
            XCTAssert(message.contains("n_ctx") && message.contains("64") && message.contains("70"), message)
        }
        XCTAssertEqual(fingerprint(session), before)
        XCTAssertNil(session.variables["long"])
        // Text prompts too (tokens of the fixture tokenizer), one token per byte of "ab ab …".
        XCTAssertThrowsError(try session.execute("long = run \"\(String(repeating: "x ", count: 80))\"")) { error in
            XCTAssert("\(error)".contains("n_ctx"), "\(error)")
        }
    }

    func testCacheThatCannotFitInMemoryIsRefusedWithTheSizes() throws {
        let session = try LanguageFixtures.session()  // before the limit: its setup runs prompts
        let model = try HookedTransformer.load(directory: URL(fileURLWithPath: LanguageFixtures.tinyModel))
        // Attention scores and patterns grow with pos²: doubling the prompt more than doubles the cache.
        let everything: (String) -> Bool = { _ in true }
        let short = model.estimatedCacheBytes(batch: 1, positions: 32, names: everything)
        let long = model.estimatedCacheBytes(batch: 1, positions: 64, names: everything)
        XCTAssertGreaterThan(long, 2 * short)
        // Exactly: 2 · n_layers · n_heads · pos² floats of scores and patterns are part of the estimate.
        let patterns = 4.0 * 2 * 2 * 4 * 64 * 64
        let onlyResidual = model.estimatedCacheBytes(batch: 1, positions: 64, names: { $0.hasSuffix("hook_resid_post") })
        XCTAssertEqual(long - model.estimatedCacheBytes(batch: 1, positions: 64, names: { !$0.hasSuffix("hook_attn_scores") && !$0.hasSuffix("hook_pattern") }),
                       patterns, accuracy: 0.5)

        let capped = EngineContext(memoryLimitBytes: Int(onlyResidual) + 1)
        try capped.run {
            XCTAssertEqual(MemoryBudget.availableBytes(), Int(onlyResidual) + 1)
            let tokens = [Array(0..<64)]
            XCTAssertThrowsError(try model.runWithCache(tokens: tokens)) { error in
                let message = "\(error)"
                XCTAssert(message.contains("needs about") && message.contains("available") && message.contains("names filter"), message)
            }
            // The same run caching only the residual stream fits.
            XCTAssertNoThrow(try model.runWithCache(tokens: tokens, names: { $0.hasSuffix("hook_resid_post") }))
            // A plain forward (no cache) is never refused.
            XCTAssertNoThrow(try model.run(tokens: tokens))
        }
        session.settings.engine = capped

        // Through the language: a clear error, and the bindings stay as they were.
        let before = fingerprint(session)
        // (store=f32: without it a run that fits on disk would spill there instead.)
        XCTAssertThrowsError(try session.execute("big = run [\((0..<64).map(String.init).joined(separator: ", "))] store=f32")) { error in
            XCTAssert("\(error)".contains("of memory"), "\(error)")
        }
        XCTAssertEqual(fingerprint(session), before)
    }

    func testMemInfoIsReadWhenNoLimitIsSet() {
        if FileManager.default.fileExists(atPath: "/proc/meminfo") {
            XCTAssertGreaterThan(MemoryBudget.availableBytes(limit: nil) ?? 0, 1 << 20)
        }
        XCTAssertEqual(EngineContext(environment: ["TLSH_MEMORY_LIMIT_BYTES": "12345"]).run { MemoryBudget.availableBytes() }, 12345)
    }
}

final class TransactionTests: XCTestCase {
    func testFailingStatementKeepsEarlierBindingsAndChangesNone() throws {
        let session = try LanguageFixtures.session()
        XCTAssertThrowsError(try session.execute("a = 1\nb = run [999, 1, 2]\nc = x[99]\nd = 4"))
        XCTAssertNotNil(session.variables["a"])
        XCTAssertNotNil(session.variables["b"])
        XCTAssertNil(session.variables["c"])
        XCTAssertNil(session.variables["d"], "statements after the failing one must not run")
        let before = fingerprint(session)
        for failing in ["a = [1][5]", "a = run [999, 5000]", "b = mean(a, over=pos)", "clear a\nnonsense here", "x = x[1e300]"] {
            XCTAssertThrowsError(try session.execute(failing), failing)
            XCTAssertEqual(fingerprint(session), before, failing)
        }
    }

    /// Ctrl-C / interrupt_request during a long statement: it stops with "Interrupted" and every binding,
    /// including the one the statement was assigning, is as it was before.
    func testInterruptDuringALongStatementKeepsBindings() throws {
        let session = try LanguageFixtures.session()
        try session.execute("keep = 42\nclean = run [999, \((1..<60).map(String.init).joined(separator: ", "))]\ncorrupt = run [999, \((1..<60).map { String($0 + 100) }.joined(separator: ", "))]")
        let before = fingerprint(session)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Display?, ExecutionError>?
        let worker = Thread {
            do throws(ExecutionError) { outcome = .success(try session.execute("clean = patch z layer=* head=* pos=*")) } catch { outcome = .failure(error) }
            done.signal()
        }
        worker.stackSize = 8 << 20
        worker.start()
        // Interrupt repeatedly: execute() clears the flag when it starts, so the first may come too early.
        while done.wait(timeout: .now() + .milliseconds(20)) == .timedOut { session.interrupt() }
        guard case .failure(let error)? = outcome else { return XCTFail("the patch sweep was not interrupted: \(String(describing: outcome))") }
        XCTAssertEqual(error.name, "Interrupted", error.message)
        XCTAssertEqual(fingerprint(session), before)
        // The session still works afterwards.
        XCTAssertNoThrow(try session.execute("after = keep + 1"))
    }
}

/// Regression tests for crashes the fuzzers found; each input used to trap the process.
final class FuzzRegressionTests: XCTestCase {
    /// Found by `model` (seed 23): `"vocab_size": 1e19` trapped converting the Double to Int.
    func testHugeOrFractionalConfigNumbersAreErrors() throws {
        let config = try Data(contentsOf: FuzzPaths.fixture("golden/tiny-c/hf/config.json"))
        let text = String(decoding: config, as: UTF8.self)
        for replacement in ["1e19", "-1e19", "64.5", "1e15", "9223372036854775807"] {
            let mutated = text.replacingOccurrences(of: "\"vocab_size\": 700", with: "\"vocab_size\": \(replacement)")
            XCTAssertNotEqual(mutated, text)
            XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: Data(mutated.utf8)), replacement) { error in
                XCTAssert("\(error)".contains("vocab_size"), "\(error)")
            }
        }
        let hugeWidth = text.replacingOccurrences(of: "\"n_embd\": 32", with: "\"n_embd\": 4611686018427387904")
        XCTAssertThrowsError(try ModelConfig.fromHuggingFace(json: Data(hugeWidth.utf8))) { error in
            XCTAssert("\(error)".contains("n_embd"), "\(error)")
        }
    }

    func testOutOfRangeNumbersAreErrorsNotTraps() throws {
        let session = try LanguageFixtures.session()
        for source in ["x[1e300]", "x[0/0]", "x[-1e309]", "clean.resid_post[1e19]", "clean[\"pattern\", 1e300]",
                       "v[9223372036854775807]", "run [999, 1e300]", "run [999, -1]", "dla -4 cache=clean", "dla 1e300",
                       "dla 3 - 100000 cache=clean", "logit_diff -1 2", "patch resid_post layer=0..1000000000000",
                       "hooks layer=0..99999999999999",
                       "induction len=0", "induction len=-3", "induction len=1000000000000",
                       "generate \"a\" n=-1", "generate \"a\" n=9007199254740991"] {
            XCTAssertThrowsError(try session.execute(source), source) { error in
                XCTAssertFalse((error as? ExecutionError)?.message.isEmpty ?? true, source)
            }
        }
        // Negative seeds are seeds like any other (UInt64(-1) used to trap).
        XCTAssertNoThrow(try session.execute("induction len=5 seed=-1"))
        XCTAssertNoThrow(try session.execute("generate \"ab\" n=2 temperature=1 seed=-7"))
    }

    /// Found by `language-parse`: inspecting a hook name with a huge layer, with no model loaded, built
    /// the hook names of every layer up to it (4 billion) and hung.
    func testInspectingAHookWithAHugeLayerDoesNotHang() {
        let session = Session(environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent"])
        let source = "clean[\"blocks.4294967296.attn.hook_pattern\"]"
        let started = Date()
        for cursor in 0...source.unicodeScalars.count { _ = session.inspect(source: source, cursor: cursor) }
        XCTAssertNotNil(session.inspect(source: "blocks.4294967296.attn.hook_pattern", cursor: 3))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testDeeplyNestedExpressionsAreRefusedNotAStackOverflow() throws {
        for source in [String(repeating: "(", count: 20_000) + "1" + String(repeating: ")", count: 20_000),
                       "x = " + String(repeating: "-", count: 20_000) + "1",
                       "x = 1" + String(repeating: " + 1", count: 20_000),
                       "x = [" + String(repeating: "[", count: 20_000),
                       "y = x" + String(repeating: "[0]", count: 20_000)] {
            XCTAssertThrowsError(try Parser.parse(source)) { error in
                XCTAssert("\(error)".contains("nest") || "\(error)".contains("expected"), "\(error)")
            }
            _ = completeness(of: source)
        }
        // Reasonable nesting still parses and runs.
        let session = try LanguageFixtures.session()
        try session.execute("deep = " + String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50) + String(repeating: " + 1", count: 50))
        guard case .number(let n)? = session.variables["deep"] else { return XCTFail("deep was not bound") }
        XCTAssertEqual(n, 51)
    }
}
