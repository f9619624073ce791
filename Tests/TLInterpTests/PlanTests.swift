// InterventionPlan without Python: its wire form, its execution on the Swift engine (equal to the
// engine's own hooks and to Patcher's sweeps), and the worker client's error paths against small
// shell scripts that play a worker (one that dies, one that answers garbage, one that hangs).
import Foundation
import XCTest
import TLCore
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class PlanTests: XCTestCase {
    // MARK: Wire form

    func testTensorsTravelAsLittleEndianFloat32Base64() throws {
        let one = PlanWire.encode(Tensor(shape: [1], data: [1]))
        XCTAssertEqual(one["data"]?.string, "AACAPw==")  // 1.0f = 00 00 80 3f
        let t = Tensor(shape: [2, 3], data: [0, -0.0, 1e-30, -3.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude])
        let back = try PlanWire.decodeTensor(PlanWire.encode(t))
        XCTAssertEqual(back.shape, [2, 3])
        XCTAssertEqual(back.data.map(\.bitPattern), t.data.map(\.bitPattern))
    }

    func testBadTensorsAreProtocolErrors() {
        let cases: [JSON] = [.object(["shape": .numbers([2]), "data": .string("AACAPw==")]),  // 4 bytes for 2 values
                             .object(["shape": .numbers([1]), "data": .string("not base64!")]),
                             .object(["shape": .numbers([-1]), "data": .string("")]),
                             .object(["shape": .array([.string("2")]), "data": .string("AACAPw==")]),
                             .object(["data": .string("AACAPw==")])]
        for c in cases {
            XCTAssertThrowsError(try PlanWire.decodeTensor(c)) { e in
                guard case PlanWorkerError.protocolError = e else { return XCTFail("\(c): \(e)") }
            }
        }
        XCTAssertThrowsError(try PlanWire.decodeResult(.object(["runs": .array([])]), expectedRuns: 2))
        XCTAssertThrowsError(try PlanWire.decodeResult(.object(["runs": .array([.integer(1)])]), expectedRuns: 1))
    }

    func testPlanJSONForm() throws {
        let plan = InterventionPlan(runs: [
            .init(tokens: [1, 2], reads: [.init("blocks.0.hook_resid_post", keep: false), .init("logits", positions: [-1], columns: [5, 7])]),
            .init(tokens: [3, 4], reads: [.init("logits")],
                  writes: [.init("blocks.0.hook_resid_post", positions: [1], value: .read(run: 0, hook: "blocks.0.hook_resid_post")),
                           .init("blocks.0.attn.hook_z", .add, positions: nil, head: 2, value: .tensor(Tensor(shape: [1], data: [1])))]),
        ])
        let line = try PlanWire.line(.object(["op": .string("execute"), "plan": PlanWire.encode(plan)]))
        XCTAssertEqual(line.last, 0x0A)
        XCTAssertEqual(line.filter { $0 == 0x0A }.count, 1, "one line")
        let obj = try JSON.parse(line.dropLast())
        let runs = try XCTUnwrap(obj["plan"]?["runs"]?.array)
        let reads = try XCTUnwrap(runs[0]["reads"]?.array)
        XCTAssertEqual(reads[0]["keep"]?.bool, false)
        XCTAssertEqual(reads[1]["positions"], .numbers([-1]))
        XCTAssertEqual(reads[1]["columns"], .numbers([5, 7]))
        let writes = try XCTUnwrap(runs[1]["writes"]?.array)
        XCTAssertEqual(writes[0]["op"]?.string, "set")
        XCTAssertEqual(writes[0]["value"]?["run"]?.wholeNumber, 0)
        XCTAssertEqual(writes[1]["head"]?.wholeNumber, 2)
        XCTAssertNil(writes[1]["positions"])
        XCTAssertEqual(writes[1]["value"]?["data"]?.string, "AACAPw==")
    }

    func testPlansThatCannotRunAreRefused() {
        let forward = InterventionPlan(runs: [.init(tokens: [1], writes: [.init("blocks.0.hook_resid_post", value: .read(run: 0, hook: "blocks.0.hook_resid_post"))])])
        XCTAssertThrowsError(try forward.validate())
        let partial = InterventionPlan(runs: [.init(tokens: [1], reads: [.init("blocks.0.hook_resid_post", positions: [0])]),
                                              .init(tokens: [1], writes: [.init("blocks.0.hook_resid_post", value: .read(run: 0, hook: "blocks.0.hook_resid_post"))])])
        XCTAssertThrowsError(try partial.validate(), "a reference needs the whole read")
        XCTAssertThrowsError(try InterventionPlan(runs: [.init(tokens: [1], writes: [.init("logits", value: .tensor(Tensor(shape: [1], data: [0])))])]).validate())
        XCTAssertThrowsError(try InterventionPlan().validate())
    }

    func testTheShippedWorkerIsTheOneRun() throws {
        let shipped = try XCTUnwrap(NNsightEnvironment.shippedWorker, "the worker script is a resource of TLInterp")
        XCTAssertTrue(try String(contentsOf: shipped, encoding: .utf8).contains("def main("), "the resource is the worker")
        XCTAssertEqual(try NNsightEnvironment(environment: [:]).workerScript(), shipped)
        XCTAssertEqual(try NNsightEnvironment(environment: ["TLSH_NNSIGHT_WORKER": "/tmp/w.py"]).workerScript().path, "/tmp/w.py")
    }

    // MARK: On the Swift engine

    func testLocalPlanReadsAndWritesEqualTheEngine() throws {
        let g = try Golden("tiny-a")
        let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
        let tokens = Array(g.seqA.prefix(8))
        let (logits, cache) = try model.runWithCache(tokens: [tokens])
        let plan = InterventionPlan(runs: [.init(tokens: tokens, reads: [.init("blocks.1.hook_resid_post"), .init("blocks.0.attn.hook_z", positions: [2, -1]),
                                                                         .init("logits", positions: [-1], columns: [3, 9])])])
        let r = try plan.execute(on: model).runs[0]
        assertClose(r["blocks.1.hook_resid_post"]!, cache["blocks.1.hook_resid_post"]!, tol: 0, "read")
        let z = cache["blocks.0.attn.hook_z"]!
        XCTAssertEqual(r["blocks.0.attn.hook_z"]!.shape, [1, 2, z.shape[2], z.shape[3]])
        let row = z.shape[2] * z.shape[3]
        XCTAssertEqual(Array(r["blocks.0.attn.hook_z"]!.data[row...]), Array(z.data[(7 * row)..<(8 * row)]))
        let V = logits.shape[2]
        XCTAssertEqual(r["logits"]!.data, [logits.data[7 * V + 3], logits.data[7 * V + 9]])

        // A write: add one to head 1 of z at position 3, by hand with a hook and through the plan.
        var o = RunOptions()
        let dHead = z.shape[3]
        o.hooks = [ForwardHook(name: "blocks.0.attn.hook_z") { t, _ in for i in 0..<dHead { t.data[3 * row + dHead + i] += 1 } }]
        let manual = try model.run(tokens: [tokens], options: o).logits!
        let written = try InterventionPlan(runs: [.init(tokens: tokens, reads: [.init("logits")],
                                                        writes: [.init("blocks.0.attn.hook_z", .add, positions: [3], head: 1,
                                                                       value: .tensor(Tensor(shape: [dHead], data: .init(repeating: 1, count: dHead))))])]).execute(on: model)
        assertClose(written.runs[0]["logits"]!, manual, tol: 0, "add at head 1")
        XCTAssertGreaterThan(manual.maxAbsDifference(logits), 1e-3, "the write changed something")
    }

    /// A patch sweep built as a plan and run on the Swift engine equals Patcher's own fast sweep.
    func testPatchPlanOnTheSwiftEngineEqualsPatcher() throws {
        for name in ["llama-a", "gemma2-a", "pythia-a"] {
            let g = try Golden(name, root: Golden.familiesRoot)
            let info = g.meta["interp"] as! [String: Any]
            let model = try HookedTransformer.load(directory: g.hfDirectory, processing: .none)
            let clean = info["clean"] as! [Int], corrupt = info["corrupted"] as! [Int]
            let metric = PatchMetric.logitDiff(answer: info["t1"] as! Int, wrong: info["t2"] as! Int)
            let patcher = try Patcher(model: model, clean: clean, corrupt: corrupt, metric: metric)
            for (act, axes) in [("resid_pre", [PatchAxis.layer, .pos]), ("z", [.layer, .head]), ("attn_out", [.layer, .pos]), ("mlp_out", [.layer])] {
                let pp = try PatchPlan(config: model.config, activation: act, axes: axes, ranges: [:], clean: clean, corrupt: corrupt, metric: metric)
                let viaPlan = try pp.result(try pp.plan.execute(on: model), normalize: false)
                let direct = try patcher.sweep(activation: act, axes: axes)
                assertClose(viaPlan.values, direct.values, tol: 1e-4, "\(name) \(act)")
                XCTAssertEqual(viaPlan.cleanValue, patcher.cleanValue, accuracy: 1e-4)
                XCTAssertEqual(viaPlan.corruptValue, patcher.corruptValue, accuracy: 1e-4)
            }
        }
    }

    // MARK: The worker client

    /// A worker played by /bin/sh: `body` runs after it has answered hello (request 1).
    private func fakeWorker(_ body: String) throws -> PlanWorker {
        let hello = #"read l; echo '{"id":1,"ok":true,"result":{"worker":"fake"}}'; "#
        return try PlanWorker(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", hello + body], startupTimeout: 10)
    }

    func testAWorkerThatCannotStartSaysWhy() {
        XCTAssertThrowsError(try PlanWorker(executable: URL(fileURLWithPath: "/nonexistent/python"), arguments: [])) { e in
            guard case PlanWorkerError.failedToStart = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try PlanWorker(executable: URL(fileURLWithPath: "/bin/sh"),
                                            arguments: ["-c", "echo \"ModuleNotFoundError: No module named 'nnsight'\" >&2; exit 3"])) { e in
            guard case PlanWorkerError.failedToStart(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("No module named 'nnsight'"), m)
            XCTAssertTrue(m.contains("status 3"), m)
        }
        let env = NNsightEnvironment(environment: ["TLSH_NNSIGHT_PYTHON": "/nonexistent/python", "HOME": "/tmp"])
        XCTAssertThrowsError(try env.startWorker()) { e in
            XCTAssertTrue("\(e)".contains("tlsh backend setup nnsight"), "\(e)")
        }
    }

    func testAWorkerThatDiesMidRequestIsLost() throws {
        let w = try fakeWorker("read l; echo 'Traceback: killed' >&2; exit 7")
        XCTAssertEqual(w.hello["worker"]?.string, "fake")
        XCTAssertThrowsError(try w.call("execute")) { e in
            guard case PlanWorkerError.lost(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("status 7") && m.contains("Traceback: killed"), m)
        }
        XCTAssertFalse(w.isRunning)
        XCTAssertThrowsError(try w.call("execute")) { e in
            guard case PlanWorkerError.lost = e else { return XCTFail("\(e)") }
        }
    }

    func testGarbageAndWrongIDsAreProtocolErrors() throws {
        let w = try fakeWorker("read l; echo 'this is not json'; exec sleep 5")
        XCTAssertThrowsError(try w.call("execute")) { e in
            guard case PlanWorkerError.protocolError(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("this is not json"))
        }
        XCTAssertFalse(w.isRunning, "a worker that breaks the protocol is stopped")
        let w2 = try fakeWorker(#"read l; echo '{"id":9,"ok":true,"result":null}'; exec sleep 5"#)
        XCTAssertThrowsError(try w2.call("execute")) { e in
            guard case PlanWorkerError.protocolError = e else { return XCTFail("\(e)") }
        }
    }

    func testErrorRepliesAndStatusLines() throws {
        let w = try fakeWorker(#"read l; echo '{"id":2,"ok":false,"kind":"missing_key","error":"NDIF needs an API key"}'; "#
            + #"read l; echo '{"id":3,"status":"QUEUED","message":"2 jobs ahead"}'; echo '{"id":3,"status":"RUNNING","message":""}'; echo '{"id":3,"ok":true,"result":42}'; exec sleep 5"#)
        XCTAssertThrowsError(try w.call("execute")) { e in
            XCTAssertEqual(e as? PlanWorkerError, .worker(kind: "missing_key", message: "NDIF needs an API key"))
        }
        XCTAssertTrue(w.isRunning, "an error reply keeps the worker")
        var seen: [String] = []
        let r = try w.call("execute", status: { s, m in seen.append("\(s) \(m)") })
        XCTAssertEqual(r?.wholeNumber, 42)
        XCTAssertEqual(seen, ["QUEUED 2 jobs ahead", "RUNNING "])
        w.terminate()
    }

    func testInterruptAndTimeoutStopTheWorker() throws {
        let w = try fakeWorker("read l; exec sleep 30")
        let start = Date()
        XCTAssertThrowsError(try w.call("execute", isCancelled: { Date().timeIntervalSince(start) > 0.3 })) { e in
            XCTAssertEqual(e as? PlanWorkerError, .cancelled)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertFalse(w.isRunning)
        let w2 = try fakeWorker("read l; exec sleep 30")
        XCTAssertThrowsError(try w2.call("execute", timeout: 0.3)) { e in
            guard case PlanWorkerError.lost = e else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(w2.isRunning)
    }
}
