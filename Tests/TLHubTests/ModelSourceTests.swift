import Foundation
import TLTestSupport
import XCTest
@testable import TLHub

final class ModelSourceTests: XCTestCase {
    /// Every GPT-2-family name in TransformerLens's alias table (written by
    /// Tests/Fixtures/hub/make_alias_reference.py from transformer_lens.supported_models)
    /// resolves to the hub id TransformerLens uses.
    func testAliasesMatchTransformerLens() throws {
        let url = FakeHubServer.scriptURL.deletingLastPathComponent().appendingPathComponent("gpt2_aliases.json")
        struct Reference: Decodable { let aliases: [String: String] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        XCTAssertEqual(reference.aliases.count, 10)
        for (alias, official) in reference.aliases {
            XCTAssertEqual(try ModelSource.parse(alias), .hub(repo: official, revision: "main"), alias)
        }
        XCTAssertEqual(Set(ModelSource.aliasNames), Set(reference.aliases.keys))
        // TransformerLens compares names case-insensitively.
        XCTAssertEqual(try ModelSource.parse("GPT2-Small"), .hub(repo: "gpt2", revision: "main"))
    }

    /// The other families' names (Tests/Fixtures/hub/make_family_aliases.py from TransformerLens's
    /// tables, plus the short forms) resolve to TransformerLens's official hub ids, revisions kept.
    func testFamilyAliasesMatchTransformerLens() throws {
        let url = FakeHubServer.scriptURL.deletingLastPathComponent().appendingPathComponent("family_aliases.json")
        struct Reference: Decodable { let aliases: [String: String] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        XCTAssertGreaterThan(reference.aliases.count, 100)
        for (alias, official) in reference.aliases {
            XCTAssertEqual(try ModelSource.parse(alias), .hub(repo: official, revision: "main"), alias)
        }
        XCTAssertEqual(try ModelSource.parse("pythia-70m-deduped@step3000"), .hub(repo: "EleutherAI/pythia-70m-deduped", revision: "step3000"))
        XCTAssertEqual(try ModelSource.parse("llama-3.2-1b"), .hub(repo: "meta-llama/Llama-3.2-1B", revision: "main"))
        XCTAssertEqual(try ModelSource.parse("qwen2.5-0.5b"), .hub(repo: "Qwen/Qwen2.5-0.5B", revision: "main"))
    }

    func testRepoIDsAndRevisions() throws {
        XCTAssertEqual(try ModelSource.parse("openai-community/gpt2"), .hub(repo: "openai-community/gpt2", revision: "main"))
        XCTAssertEqual(try ModelSource.parse("org/name@v1.0"), .hub(repo: "org/name", revision: "v1.0"))
        XCTAssertEqual(try ModelSource.parse("org/name", revision: "refs/pr/1"), .hub(repo: "org/name", revision: "refs/pr/1"))
        XCTAssertEqual(try ModelSource.parse("gpt2-small@abc"), .hub(repo: "gpt2", revision: "abc"))
        XCTAssertEqual(try ModelSource.parse("org/name@dev", revision: "dev"), .hub(repo: "org/name", revision: "dev"))
        XCTAssertEqual(ModelSource.hub(repo: "org/name", revision: "dev").description, "org/name@dev")
    }

    func testInvalidNamesSayWhy() {
        let cases = ["a/b/c", "bad name/x", "org--x/y", "org/na..me", "org/name@", "-org/name", "org/"]
        for name in cases {
            XCTAssertThrowsError(try ModelSource.parse(name), name) { error in
                guard case TLHubError.invalidName = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue("\(error)".contains("org/name"), "\(error)")
            }
        }
        XCTAssertThrowsError(try ModelSource.parse("org/name@a", revision: "b")) { error in
            XCTAssertTrue("\(error)".contains("revision"), "\(error)")
        }
    }

    func testDefaultModelNames() throws {
        XCTAssertEqual(try ModelSource.parse(nil), .embeddedDefault)
        XCTAssertEqual(try ModelSource.parse(""), .embeddedDefault)
        XCTAssertEqual(try ModelSource.parse("  default "), .embeddedDefault)
        XCTAssertThrowsError(try ModelSource.parse(nil, revision: "v1"))
    }

    func testLocalDirectories() throws {
        let base = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let model = base.appendingPathComponent("my-model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)

        XCTAssertEqual(try ModelSource.parse(model.path), .local(ModelSource.canonicalDirectory(model)))
        XCTAssertEqual(try ModelSource.parse("./my-model", currentDirectory: base), .local(ModelSource.canonicalDirectory(model)))
        XCTAssertEqual(try ModelSource.parse("../\(base.lastPathComponent)/my-model", currentDirectory: base),
                       .local(ModelSource.canonicalDirectory(model)))
        // A bare name that exists here is a directory, not a hub id.
        XCTAssertEqual(try ModelSource.parse("my-model", currentDirectory: base), .local(ModelSource.canonicalDirectory(model)))

        XCTAssertThrowsError(try ModelSource.parse("./absent", currentDirectory: base)) { error in
            XCTAssertEqual(error as? TLHubError, .localDirectoryNotFound("./absent"))
        }
        let file = base.appendingPathComponent("file.txt")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data())
        XCTAssertThrowsError(try ModelSource.parse(file.path)) { error in
            XCTAssertTrue("\(error)".contains("is a file"), "\(error)")
        }
    }

    func testTildeExpandsToHome() throws {
        let home = URL(fileURLWithPath: NSHomeDirectory())
        let name = "tlhub-test-\(UUID().uuidString)"
        let dir = home.appendingPathComponent(name)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw XCTSkip("home directory is not writable: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(try ModelSource.parse("~/\(name)"), .local(ModelSource.canonicalDirectory(dir)))
    }

    func testCacheFolderNames() {
        XCTAssertEqual(HubCache.folderName(repo: "openai-community/gpt2"), "models--openai-community--gpt2")
        XCTAssertEqual(HubCache.folderName(repo: "gpt2"), "models--gpt2")
        XCTAssertEqual(ModelAliases.cacheCandidates(for: "gpt2"), ["gpt2", "openai-community/gpt2"])
        XCTAssertEqual(ModelAliases.cacheCandidates(for: "distilbert/distilgpt2"), ["distilbert/distilgpt2", "distilgpt2"])
        XCTAssertEqual(RemoteRepo.normalizeETag("W/\"abc\""), "abc")
        XCTAssertEqual(RemoteRepo.normalizeETag("\"abc\""), "abc")
    }
}
