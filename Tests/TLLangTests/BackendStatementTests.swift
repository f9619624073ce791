// `backend local|nnsight|ndif` as statements: the errors that leave a session as it was (no key,
// no worker, a worker that dies), `run names=`, and — with a Python that has nnsight — run, top
// and patch through nnsight equal to the Swift engine with process=false.
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTensor
import TLTestSupport

final class BackendStatementTests: XCTestCase {
    private let output = CapturingOutput()

    private func session(_ env: [String: String] = [:]) -> Session {
        backendTestSession(output: output, environment: env)
    }

    private func failure(_ s: Session, _ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try s.execute(source); XCTFail("expected \(source) to fail", file: file, line: line); return "" } catch {
            return error.message
        }
    }

    private var tiny: String { Golden.familiesRoot.appendingPathComponent("llama-a/hf").path }

    func testNDIFNeedsAKeyAndLeavesTheSessionLocal() {
        let s = session()
        let m = failure(s, "backend ndif")
        XCTAssertTrue(m.contains("NDIF_API_KEY"), m)
        XCTAssertEqual(s.backend.kind, .local)
        XCTAssertTrue(failure(s, "backend nnsight host=\"https://x\"").contains("host= is for backend ndif"))
        XCTAssertTrue(failure(session(["NDIF_API_KEY": "k"]), "backend ndif host=\"ndif.example\"").contains("http"))
    }

    func testAWorkerThatCannotStartLeavesTheBackendAsItWas() {
        let s = session(["TLSH_NNSIGHT_PYTHON": "/nonexistent/python"])
        let m = failure(s, "backend nnsight")
        XCTAssertTrue(m.contains("tlsh backend setup nnsight"), m)
        XCTAssertEqual(s.backend.kind, .local)
        XCTAssertNil(s.backend.worker)
    }

    /// A worker (played by /bin/sh) that loads the model, then dies on the first plan: the statement
    /// fails with the worker's last words, its variable keeps the value it had, and the next statement
    /// would start a new worker.
    func testALostWorkerIsAClearErrorAndKeepsVariables() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-fake-worker-\(getpid()).sh")
        try """
        read l; echo '{"id":1,"ok":true,"result":{"nnsight":"fake"}}'
        read l; echo '{"id":2,"ok":true,"result":{"hooks":["blocks.0.hook_resid_post","logits"]}}'
        read l; echo 'RuntimeError: CUDA out of memory' >&2; exit 9
        """.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let s = session(["TLSH_NNSIGHT_PYTHON": "/bin/sh", "TLSH_NNSIGHT_WORKER": script.path])
        try s.execute("model \"\(tiny)\" process=false\nc = run [1, 2, 3]")
        guard case .cache(let before)? = s.variables["c"] else { return XCTFail("no cache") }
        try s.execute("backend nnsight")
        XCTAssertEqual(s.backend.kind, .nnsight)
        let m = failure(s, "c = run [4, 5, 6]")
        XCTAssertTrue(m.contains("stopped") && m.contains("CUDA out of memory") && m.contains("status 9"), m)
        guard case .cache(let after)? = s.variables["c"] else { return XCTFail("c lost") }
        XCTAssertTrue(before === after, "the failed statement left c as it was")
        XCTAssertNil(s.backend.worker, "the dead worker is dropped")
        try s.execute("backend local\nc = run [4, 5, 6]")
        XCTAssertEqual(s.backend.kind, .local)
    }

    func testRunNamesFilter() throws {
        let s = session()
        try s.execute("model \"\(tiny)\" process=false\nr = run [1, 2, 3] names=[\"resid_post\", \"hook_z\"]\nt = run [1, 2, 3] names=\"mlp_out\"")
        guard case .cache(let r)? = s.variables["r"], case .cache(let t)? = s.variables["t"] else { return XCTFail("no caches") }
        let L = r.cache.model.config.nLayers
        XCTAssertEqual(r.cache.keys, (0..<L).flatMap { ["blocks.\($0).attn.hook_z", "blocks.\($0).hook_resid_post"] })
        XCTAssertEqual(t.cache.keys, (0..<L).map { "blocks.\($0).hook_mlp_out" })
        XCTAssertTrue(failure(s, "r = run [1, 2] names=3").contains("names="))
    }

    // MARK: With nnsight

    func tensor(_ s: Session, _ name: String) -> Tensor? {
        if case .result(_, let data)? = s.variables[name] { return data?.tensor }
        return nil
    }

    func testStatementsThroughNnsightEqualTheSwiftEngine() throws {
        let python = try NNsightPython.require()
        for name in ["llama-a", "gemma2-a", "qwen3-a", "pythia-a"] {
            let g = try Golden(name, root: Golden.familiesRoot)
            let info = g.meta["interp"] as! [String: Any]
            let ids = { (k: String) in (info[k] as! [Int]).map(String.init).joined(separator: ", ") }
            let s = session(["TLSH_NNSIGHT_PYTHON": python])
            let sweeps = """
            metric = logit_diff \(info["t1"] as! Int) \(info["t2"] as! Int)
            P1 = patch resid_pre layer=* pos=*
            P2 = patch z layer=* head=*
            P3 = patch mlp_out layer=* normalize=true
            """
            try s.execute("model \"\(g.hfDirectory.path)\" process=false\nclean = run [\(ids("clean"))]\ncorrupt = run [\(ids("corrupted"))]\n"
                          + sweeps.replacingOccurrences(of: "P", with: "local"))
            guard case .cache(let localClean)? = s.variables["clean"] else { return XCTFail("no cache") }
            try s.execute("backend nnsight\nclean = run [\(ids("clean"))]\ncorrupt = run [\(ids("corrupted"))]\n"
                          + sweeps.replacingOccurrences(of: "P", with: "remote") + "\ntop clean k=3\ntop [\(ids("clean"))] k=3")
            guard case .cache(let viaNnsight)? = s.variables["clean"] else { return XCTFail("no cache") }
            XCTAssertFalse(viaNnsight.cache.keys.isEmpty)
            for key in viaNnsight.cache.keys {
                let a = viaNnsight.cache[key]!, b = localClean.cache[key]!
                XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-4 * max(1, b.data.map(abs).max()!), "\(name) \(key)")
            }
            XCTAssertLessThanOrEqual(viaNnsight.logits.maxAbsDifference(localClean.logits), 1e-4 * max(1, localClean.logits.data.map(abs).max()!), "\(name) logits")
            for k in 1...3 {
                let a = tensor(s, "remote\(k)")!, b = tensor(s, "local\(k)")!
                XCTAssertEqual(a.shape, b.shape)
                XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-4 * max(1, b.data.map(abs).max()!), "\(name) sweep \(k)")
            }
            try s.execute("backend local")
        }
    }

    /// A model loaded without its weights (`weights=false`, the default under ndif) runs through
    /// nnsight exactly as the full one does: run, top and patch need only its config and tokens.
    func testAConfigOnlyModelRunsThroughNnsight() throws {
        let python = try NNsightPython.require()
        let g = try Golden("llama-a", root: Golden.familiesRoot)
        let info = g.meta["interp"] as! [String: Any]
        let ids = { (k: String) in (info[k] as! [Int]).map(String.init).joined(separator: ", ") }
        let statements = """
        clean = run [\(ids("clean"))]
        corrupt = run [\(ids("corrupted"))]
        metric = logit_diff \(info["t1"] as! Int) \(info["t2"] as! Int)
        grid = patch resid_pre layer=* pos=*
        """
        let full = session()
        try full.execute("model \"\(g.hfDirectory.path)\" process=false\n" + statements)
        let s = session(["TLSH_NNSIGHT_PYTHON": python])
        try s.execute("backend nnsight\nmodel \"\(g.hfDirectory.path)\" weights=false\n" + statements + "\ntop clean k=3")
        XCTAssertFalse(try XCTUnwrap(s.current).model.hasWeights)
        guard case .cache(let a)? = s.variables["clean"], case .cache(let b)? = full.variables["clean"] else { return XCTFail("no caches") }
        XCTAssertLessThanOrEqual(a.logits.maxAbsDifference(b.logits), 1e-4 * max(1, b.logits.data.map(abs).max()!))
        let remote = tensor(s, "grid")!, local = tensor(full, "grid")!
        XCTAssertEqual(remote.shape, local.shape)
        XCTAssertLessThanOrEqual(remote.maxAbsDifference(local), 1e-4 * max(1, local.data.map(abs).max()!))
        try s.execute("backend local")
    }
}
