// The SAE statements as users (and the issue's checks) write them, against SAELens's goldens
// (Tests/Fixtures/sae, made by tools/goldens/saes.py).
import Foundation
import XCTest
@testable import TLLang
import TLModel
import TLTensor
import TLTestSupport

final class SAECommandTests: XCTestCase {
    private let output = CapturingOutput()
    let saeRoot = repositoryRoot.appendingPathComponent("Tests/Fixtures/sae")

    func session() -> Session {
        let s = Session(environment: ProcessInfo.processInfo.environment)
        s.output = output
        return s
    }

    func meta(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: saeRoot.appendingPathComponent("\(name)/meta.json"))) as! [String: Any]
    }

    func golden(_ name: String, _ key: String) throws -> Tensor {
        let f = try SafeTensorsFile(path: saeRoot.appendingPathComponent("\(name)/golden.safetensors").path)
        let (shape, data) = try f.tensor(key)
        return Tensor(shape: shape, data: data)
    }

    /// A golden model's checkpoint with GPT-2's tokenizer files beside it (the session wants a
    /// tokenizer; the tests pass token ids, all below the tiny models' vocabularies).
    func modelDirectory(_ name: String) throws -> String {
        let dir = try temporaryDirectory()
        let hf = try Golden(name).hfDirectory
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(file), withDestinationURL: hf.appendingPathComponent(file))
        }
        let tokenizer = repositoryRoot.appendingPathComponent("Sources/TLHub/Resources/DefaultModel")
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(file), withDestinationURL: tokenizer.appendingPathComponent(file))
        }
        return dir.path
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tlsh-sae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testTheIssueStatementsMatchSAELens() throws {
        for name in ["standard", "gated", "topk", "transcoder", "hook_z"] {
            let m = try meta(name)
            let model = try modelDirectory(m["model"] as! String)
            let ids = (m["tokens"] as! [Int]).map(String.init).joined(separator: ", ")
            let out = try temporaryDirectory()
            let s = session()
            try s.execute("""
                model "\(model)"
                s = sae "\(saeRoot.path)/\(name)/sae"
                c = run [\(ids)]
                f = features s c
                save f "\(out.path)/f.npy"
                cs = run [\(ids)] saes=[s]
                save cs "\(out.path)/cs.safetensors"
                ce = run [\(ids)] saes=[s] error=true
                save ce "\(out.path)/ce.safetensors"
                """)
            // f: [pos, d_sae] = SAELens's encode without the batch axis.
            guard case .tensor(let f)? = s.variables["f"] else { return XCTFail("\(name): f is not a tensor") }
            let encode = try golden(name, "encode")
            assertClose(f.tensor, encode.reshaped(Array(encode.shape.dropFirst())), tol: 1e-4, "\(name) features")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("f.npy").path))
            // From a prompt, features runs the model only until the SAE's hook: the same values,
            // and the same table as from the full cache.
            try s.execute("fp = features s [\(ids)]")
            guard case .tensor(let fp)? = s.variables["fp"] else { return XCTFail("\(name): fp is not a tensor") }
            XCTAssertEqual(fp.tensor, f.tensor, "\(name): features of a prompt and of its cache differ")
            XCTAssertEqual(try s.execute("features s [\(ids)] k=3")!.plainText, try s.execute("features s c k=3")!.plainText, name)
            for (file, kind) in [("cs", "spliced"), ("ce", "spliced_error")] {
                let saved = try SafeTensorsFile(path: out.appendingPathComponent("\(file).safetensors").path)
                let keys = (m["keys"] as! [String: Any])[kind] as! [String]
                for key in keys + ["logits"] {
                    guard saved.tensors[key] != nil else { XCTFail("\(name) \(file): no \(key) in the saved cache"); continue }
                    let (shape, data) = try saved.tensor(key)
                    assertClose(Tensor(shape: shape, data: data), try golden(name, "\(kind)/\(key)"), tol: 1e-4, "\(name) \(file) \(key)")
                }
            }
        }
    }

    func testFeaturesShowTablesAndOneFeatureAndStats() throws {
        let m = try meta("standard")
        let model = try modelDirectory("tiny-a")
        let ids = (m["tokens"] as! [Int]).map(String.init).joined(separator: ", ")
        let s = session()
        try s.execute("model \"\(model)\"\ns = sae \"\(saeRoot.path)/standard/sae\"\nc = run [\(ids)]")
        let all = try s.execute("features s c")!
        XCTAssertEqual(all.tables.first?.rows.count, 12)
        XCTAssertEqual(all.pictures.count, 1)
        let top = try s.execute("features s c pos=-1 k=3")!
        XCTAssertTrue(top.plainText.contains("https://www.neuronpedia.org/tlsh-test/standard/"), top.plainText)
        try s.execute("one = features s c feature=7")
        guard case .tensor(let one)? = s.variables["one"] else { return XCTFail("one is not a tensor") }
        let encode = try golden("standard", "encode")
        let expected = (0..<12).map { encode.data[$0 * 128 + 7] }
        XCTAssertEqual(one.tensor.shape, [12])
        for (a, b) in zip(one.tensor.data, expected) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        let stats = try s.execute("sae_stats s c")!.plainText
        XCTAssertTrue(stats.contains("L0") && stats.contains("explained variance") && stats.contains("loss, SAE spliced with error term"), stats)
        let feature = try s.execute("feature s 7 k=3")!.plainText
        XCTAssertTrue(feature.contains("promotes") && feature.contains("neuronpedia"), feature)
        // A cache given to run saes= is rerun on its tokens with the SAE spliced in.
        try s.execute("cr = run c saes=[s]")
        guard case .cache(let cr)? = s.variables["cr"] else { return XCTFail("cr is not a cache") }
        XCTAssertNotNil(cr.cache["blocks.0.hook_resid_pre.hook_sae_acts_post"])
        // The decoder direction steers like any vector.
        try s.execute("v = s.dec[7]")
        guard case .tensor(let v)? = s.variables["v"] else { return XCTFail("v is not a tensor") }
        XCTAssertEqual(v.tensor.shape, [64])
    }

    func testMismatchedSAEIsAClearError() throws {
        let s = session()
        try s.execute("model \"\(try modelDirectory("tiny-b"))\"")
        XCTAssertThrowsError(try s.execute("s = sae \"\(saeRoot.path)/standard/sae\"")) { e in
            XCTAssertTrue("\(e)".contains("d_in is 64"), "\(e)")
        }
        XCTAssertThrowsError(try s.execute("s = sae \"\(saeRoot.path)/nonexistent\"")) { e in
            XCTAssertTrue("\(e)".contains("no such directory"), "\(e)")
        }
        try s.execute("s = sae \"\(saeRoot.path)/hook_z/sae\"")
        XCTAssertThrowsError(try s.execute("c = run [1, 2, 3] saes=[s] ablate=[500]")) { e in
            XCTAssertTrue("\(e)".contains("out of range"), "\(e)")
        }
    }

    func testLoadingByReleaseNameGoesThroughTheHubCache() throws {
        let server = try FakeHubServer()
        defer { server.stop() }
        let home = try temporaryDirectory()
        let s = Session(environment: ["HF_ENDPOINT": server.endpoint, "HF_HOME": home.path])
        s.output = output
        try s.execute("s = sae gpt2-small-res-jb blocks.0.hook_resid_pre")
        guard case .sae(let v)? = s.variables["s"] else { return XCTFail("s is not an SAE") }
        XCTAssertEqual(v.sae.config.hookName, "blocks.0.hook_resid_pre")
        XCTAssertEqual(v.neuronpediaID, "gpt2-small/0-res-jb", "the release table's Neuronpedia id wins")
        // The same SAE as the fixture it was served from.
        let local = try SparseAutoencoder.load(directory: saeRoot.appendingPathComponent("standard/sae"))
        XCTAssertEqual(v.sae.wEnc, local.wEnc)
        // Offline, the cached copy is enough.
        let offline = Session(environment: ["HF_ENDPOINT": server.endpoint, "HF_HOME": home.path, "HF_HUB_OFFLINE": "1"])
        offline.output = output
        try offline.execute("s = sae gpt2-small-res-jb blocks.0.hook_resid_pre")
        XCTAssertThrowsError(try s.execute("s = sae gpt2-small-res-jb blocks.99.hook_resid_pre")) { e in
            XCTAssertTrue("\(e)".contains("has no SAE"), "\(e)")
        }
        XCTAssertThrowsError(try s.execute("s = sae gpt2-small-res-jbb blocks.0.hook_resid_pre")) { e in
            XCTAssertTrue("\(e)".contains("gpt2-small-res-jb"), "\(e)")
        }
    }

    /// Gemma Scope (params.npz) and Llama Scope releases by name through the hub server: the
    /// release table names repo, folder and layout; the result equals the local fixture's load.
    func testGemmaAndLlamaScopeReleasesLoadThroughTheHub() throws {
        let server = try FakeHubServer()
        defer { server.stop() }
        let home = try temporaryDirectory()
        let s = Session(environment: ["HF_ENDPOINT": server.endpoint, "HF_HOME": home.path])
        s.output = output
        let scopes = repositoryRoot.appendingPathComponent("Tests/Fixtures/sae_scopes")
        for (release, id, fixture, neuronpedia) in [
            ("gemma-scope-2b-pt-mlp-canonical", "layer_0/width_16k/canonical", "gemma_scope_mlp", "gemma-2-2b/0-gemmascope-mlp-16k"),
            ("llama_scope_lxr_8x", "l1r_8x", "llama_scope_res", "llama3.1-8b/1-llamascope-res-32k"),
            ("gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small", "gemma_scope_2_res", nil),
        ] {
            try s.execute("s = sae \(release) \(id)")
            guard case .sae(let v)? = s.variables["s"] else { return XCTFail("s is not an SAE") }
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: scopes.appendingPathComponent("\(fixture)/meta.json"))) as! [String: Any]
            XCTAssertEqual(v.sae.config.hookName, m["hook"] as? String, release)
            XCTAssertEqual(v.neuronpediaID, neuronpedia, release)
            let golden = try SafeTensorsFile(path: scopes.appendingPathComponent("\(fixture)/golden.safetensors").path)
            let (xs, xd) = try golden.tensor("x"), (es, ed) = try golden.tensor("encode")
            let got = try v.sae.features(of: Tensor(shape: xs, data: xd))
            XCTAssertLessThanOrEqual(got.maxAbsDifference(Tensor(shape: es, data: ed)), 1e-5, release)
        }
    }

    /// The embedded default model's SAE (tools/train_default_sae): the features its achieved.json
    /// names by rule fire where the tutorial says, ablating the " Paris" feature takes " Paris"
    /// from near-certain to a coin flip, and steering with its direction writes " Paris".
    func testDefaultSAEShowsInterpretableFeatures() throws {
        let achieved = try JSONSerialization.jsonObject(with: Data(contentsOf: repositoryRoot.appendingPathComponent("tools/train_default_sae/achieved.json"))) as! [String: Any]
        let paris = achieved["paris_feature"] as! Int, capital = achieved["capital_feature"] as! Int
        let s = session()
        try s.execute("""
            s = sae default
            c = run "The capital of France is"
            f = features s c
            ca = run "The capital of France is" saes=[s] error=true ablate=[\(paris)]
            """)
        guard case .tensor(let f)? = s.variables["f"], case .cache(let c)? = s.variables["c"], case .cache(let ca)? = s.variables["ca"] else {
            return XCTFail("missing values")
        }
        let last = f.tensor.shape[0] - 1, width = f.tensor.shape[1]
        XCTAssertEqual(Double(f.tensor.data[last * width + paris]), achieved["paris_feature_activation"] as! Double, accuracy: 1e-3)
        XCTAssertEqual(Double(f.tensor.data[last * width + capital]), achieved["capital_feature_activation"] as! Double, accuracy: 1e-3)
        func parisProbability(_ cache: CacheValue) throws -> Float {
            let logits = try cache.logits.select(axis: 0, index: 0)
            let row = try logits.select(axis: 0, index: logits.shape[0] - 1)
            return row.softmax().data[6342]  // " Paris"
        }
        XCTAssertGreaterThan(try parisProbability(c), 0.99)
        XCTAssertLessThan(try parisProbability(ca), 0.75)
        let steered = try s.execute("generate \"I went to\" n=10 add=s.dec[\(paris)]*20 at=resid_post layer=2")!.plainText
        let line = steered.split(separator: "\n").first { $0.hasPrefix("steered") } ?? ""  // the table's steered row
        XCTAssertTrue(line.contains("Paris"), steered)
        let feature = try s.execute("feature s \(capital) k=10")!.plainText
        for city in (achieved["capital_feature_top_logits"] as! [String]).prefix(3) {
            XCTAssertTrue(feature.contains("␣" + city.dropFirst()), "\(city) missing from \(feature)")
        }
    }

    /// top and lens with saes= read the spliced run: the same tables as on `run ... saes=`'s cache,
    /// and different from the unspliced ones when a feature that matters is ablated.
    func testTopAndLensSpliceSAEs() throws {
        let achieved = try JSONSerialization.jsonObject(with: Data(contentsOf: repositoryRoot.appendingPathComponent("tools/train_default_sae/achieved.json"))) as! [String: Any]
        let paris = achieved["paris_feature"] as! Int
        let s = session()
        try s.execute("""
            s = sae default
            ca = run "The capital of France is" saes=[s] error=true ablate=[\(paris)]
            """)
        let viaCache = try s.execute("top ca k=5")!.plainText
        let spliced = try s.execute("top \"The capital of France is\" k=5 saes=[s] error=true ablate=[\(paris)]")!.plainText
        let plain = try s.execute("top \"The capital of France is\" k=5")!.plainText
        XCTAssertEqual(spliced, viaCache)
        XCTAssertNotEqual(spliced, plain)
        let lensSpliced = try s.execute("lens \"The capital of France is\" saes=[s] error=true ablate=[\(paris)]")!.plainText
        XCTAssertEqual(lensSpliced, try s.execute("lens ca")!.plainText)
        XCTAssertNotEqual(lensSpliced, try s.execute("lens \"The capital of France is\"")!.plainText)
        XCTAssertThrowsError(try s.execute("top \"x\" error=true")) { XCTAssertTrue("\($0)".contains("go with saes="), "\($0)") }
    }

    /// Feature DLA sums to the DLA of the SAE's reconstruction minus b_dec's share: checked here
    /// against the same sum computed from the decoder, the unembedding and the cached scale.
    func testFeatureDLAMatchesItsDefinition() throws {
        let s = session()
        try s.execute("""
            s = sae default
            c = run "The capital of France is"
            f = features s c
            a = features s c dla=" Paris" - " Rome"
            """)
        guard case .tensor(let f)? = s.variables["f"], case .tensor(let attr)? = s.variables["a"], case .cache(let c)? = s.variables["c"],
              case .sae(let v)? = s.variables["s"], let m = s.current else { return XCTFail("missing values") }
        let P = f.tensor.shape[0], F = f.tensor.shape[1], d = m.model.config.dModel, V = m.model.config.dVocab
        let scale = c.cache["ln_final.hook_scale"]!.data[P - 1]
        let wU = m.model.weights.wU
        var checked = 0
        for feature in 0..<F where f.tensor.data[(P - 1) * F + feature] > 0 {
            let dir = v.sae.decoderDirection(feature)
            let mean = dir.reduce(0, +) / Float(d)
            var expected: Float = 0
            for i in 0..<d { expected += (dir[i] - mean) * (wU[i * V + 6342] - wU[i * V + 10598]) }
            expected *= f.tensor.data[(P - 1) * F + feature] / scale
            XCTAssertEqual(attr.tensor.data[feature], expected, accuracy: 1e-4)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 3)
        let shown = try s.execute("features s c dla=\" Paris\" k=3")!.plainText
        XCTAssertTrue(shown.contains("direct logit attribution"), shown)
    }
}
