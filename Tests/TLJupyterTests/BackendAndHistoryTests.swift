import Foundation
import XCTest
@testable import TLJupyter

/// Records what a backend sends, in order.
final class RecordingOutput: KernelOutput {
    var events: [String] = []
    var bundles: [MimeBundle] = []
    func stream(_ name: StreamName, _ text: String) { events.append("\(name.rawValue):\(text)") }
    func display(_ bundle: MimeBundle, displayID: String?) { events.append("display:\(displayID ?? "-")"); bundles.append(bundle) }
    func updateDisplay(_ bundle: MimeBundle, displayID: String) { events.append("update:\(displayID)") }
    func clearOutput(wait: Bool) { events.append("clear:\(wait)") }
    func page(_ bundle: MimeBundle) { events.append("page") }
}

final class EchoBackendTests: XCTestCase {
    func testStatementsProduceTheExpectedOutputs() {
        let backend = EchoBackend()
        let output = RecordingOutput()
        let result = backend.execute(code: "print \"hi\"\nwarn \"careful\"\nclear\nx = 2*(3+4)\nx - 4", output: output)
        XCTAssertEqual(output.events, ["stdout:hi\n", "stderr:careful\n", "clear:false"])
        XCTAssertEqual(result, .ok(result: .text("10")))
        XCTAssertEqual(backend.execute(code: "error \"boom\"", output: output),
                       .error(ename: "TlshError", evalue: "boom", traceback: ["TlshError: boom"]))
        guard case .error(ename: "TlshError", _, _) = backend.execute(code: "nonsense here", output: output) else {
            return XCTFail("unknown statements must be errors")
        }
    }

    func testPictureIsAValid2x2PNGWithSizeMetadata() throws {
        let output = RecordingOutput()
        _ = EchoBackend().execute(code: "picture", output: output)
        let bundle = try XCTUnwrap(output.bundles.first)
        let png = Array(try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(bundle.data["image/png"]?.stringValue))))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        // IHDR width and height (big-endian) at bytes 16..<24.
        XCTAssertEqual(Array(png[16..<24]), [0, 0, 0, 2, 0, 0, 0, 2])
        XCTAssertEqual(bundle.metadata["image/png"], ["width": 2, "height": 2])
        XCTAssertNotNil(bundle.data["image/svg+xml"])
        XCTAssertNotNil(bundle.data["text/plain"])
    }

    func testProgressDisplaysThenUpdatesTheSameID() {
        let output = RecordingOutput()
        _ = EchoBackend().execute(code: "progress", output: output)
        XCTAssertEqual(output.events.first, "display:progress-1")
        XCTAssertEqual(output.events.dropFirst(), ["update:progress-1", "update:progress-1", "update:progress-1", "update:progress-1"])
    }

    func testInterruptStopsSleepAndKeepsBindings() {
        let backend = EchoBackend()
        let output = RecordingOutput()
        _ = backend.execute(code: "kept = 7", output: output)
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { backend.interrupt() }
        let result = backend.execute(code: "sleep 5", output: output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
        guard case .error(ename: "Interrupted", _, _) = result else { return XCTFail("got \(result)") }
        XCTAssertEqual(backend.execute(code: "kept", output: output), .ok(result: .text("7")))
    }

    func testIsComplete() {
        let backend = EchoBackend()
        XCTAssertEqual(backend.isComplete(code: "print \"a\""), .complete)
        XCTAssertEqual(backend.isComplete(code: "x = [1,"), .incomplete(indent: "  "))
        XCTAssertEqual(backend.isComplete(code: "print \"a\" \\"), .incomplete(indent: ""))
        XCTAssertEqual(backend.isComplete(code: "]"), .invalid)
        XCTAssertEqual(backend.isComplete(code: "print \"open"), .invalid)
        XCTAssertEqual(backend.isComplete(code: "print \"[\""), .complete)
    }

    func testCompletionCursorCountsCodePoints() {
        let backend = EchoBackend()
        // "e" + combining acute is one Character but two code points; 🎉 is one code point.
        for prefix in ["", "🎉🎉 ", "e\u{301} "] {
            let code = prefix + "pr"
            let result = backend.complete(code: code, cursor: code.unicodeScalars.count)
            XCTAssertEqual(result.matches, ["print", "progress"])
            XCTAssertEqual(result.cursorStart, prefix.unicodeScalars.count)
            XCTAssertEqual(result.cursorEnd, code.unicodeScalars.count)
        }
    }

    func testInspectFindsVerbsAndBindings() {
        let backend = EchoBackend()
        XCTAssertNotNil(backend.inspect(code: "print \"x\"", cursor: 2, detailLevel: 0)?.data["text/markdown"])
        _ = backend.execute(code: "answer = 42", output: RecordingOutput())
        XCTAssertEqual(backend.inspect(code: "answer", cursor: 6, detailLevel: 0), .text("answer = 42"))
        XCTAssertNil(backend.inspect(code: "zzz", cursor: 1, detailLevel: 0))
    }
}

final class KernelHistoryTests: XCTestCase {
    private func history() -> KernelHistory {
        var history = KernelHistory()
        for (line, input) in ["1+2", "6*7", "print \"a\"", "6*7"].enumerated() {
            history.record(line: line + 1, input: input, output: input.hasPrefix("print") ? nil : "v\(line + 1)")
        }
        return history
    }

    private func inputs(_ reply: JSONValue) -> [JSONValue] {
        guard case let .array(items) = reply["history"] else { return [] }
        return items.compactMap { if case let .array(parts) = $0 { return parts.last } else { return nil } }
    }

    func testTailRangeAndSearch() {
        let history = history()
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "tail", "n": 2])), ["print \"a\"", "6*7"])
        XCTAssertEqual(history.reply(to: ["hist_access_type": "range", "session": 1, "start": 2, "stop": 3])["history"],
                       [[1, 2, "6*7"]])
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "range", "session": 0, "start": 3])), ["print \"a\"", "6*7"])
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "range", "session": 7, "start": 0])), [])
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "search", "pattern": "6?7"])), ["6*7", "6*7"])
        XCTAssertEqual(history.reply(to: ["hist_access_type": "search", "pattern": "6?7", "unique": true])["history"],
                       [[1, 4, "6*7"]])
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "search", "pattern": "*", "n": 3])).count, 3)
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "tail", "n": 1, "output": true])), [["6*7", "v4"]])
        XCTAssertEqual(inputs(history.reply(to: ["hist_access_type": "bogus"])), [])
    }
}

final class KernelspecInstallerTests: XCTestCase {
    func testInstallWritesSpecAndLogos() throws {
        let prefix = NSTemporaryDirectory() + "tlsh-kernelspec-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let directory = try KernelspecInstaller.install(location: .prefix(prefix), name: "tlsh-x", executablePath: "/opt/bin/tlsh",
                                                        interruptMode: .message, extraArguments: ["--echo"], environment: [:])
        XCTAssertEqual(directory, prefix + "/share/jupyter/kernels/tlsh-x")
        let spec = try JSONValue.decode(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/kernel.json"))))
        XCTAssertEqual(spec["argv"], ["/opt/bin/tlsh", "kernel", "--echo", "-f", "{connection_file}"])
        XCTAssertEqual(spec["language"], "tlsh")
        XCTAssertEqual(spec["display_name"], "tlsh")
        XCTAssertEqual(spec["interrupt_mode"], "message")
        for logo in ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/" + logo), logo)
        }
        XCTAssertThrowsError(try KernelspecInstaller.install(location: .prefix(prefix), name: "bad name", executablePath: "/x", environment: [:]))
        XCTAssertThrowsError(try KernelspecInstaller.install(location: .prefix(prefix), name: "ok", executablePath: "relative/tlsh", environment: [:]))
    }

    func testEmbeddedLogosMatchTheRepositoryFiles() throws {
        // Catches a logo regenerated by kernelspec/make_logos.py without regenerating EmbeddedResources.swift.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (name, embedded) in [("logo-32x32.png", EmbeddedResources.logo32), ("logo-64x64.png", EmbeddedResources.logo64),
                                 ("logo-svg.svg", EmbeddedResources.logoSVG)] {
            let onDisk = try Data(contentsOf: repo.appendingPathComponent("kernelspec/tlsh/" + name))
            XCTAssertEqual(Array(onDisk), embedded, name)
        }
    }

    func testDataDirectories() throws {
        XCTAssertEqual(try KernelspecInstaller.dataDirectory(for: .user, environment: ["HOME": "/home/u"]), "/home/u/.local/share/jupyter")
        XCTAssertEqual(try KernelspecInstaller.dataDirectory(for: .user, environment: ["HOME": "/h", "JUPYTER_DATA_DIR": "/d"]), "/d")
        XCTAssertEqual(try KernelspecInstaller.dataDirectory(for: .prefix("/p"), environment: [:]), "/p/share/jupyter")
        XCTAssertThrowsError(try KernelspecInstaller.dataDirectory(for: .user, environment: [:]))
        // No python3 on this PATH and no env hints: the documented fallback.
        XCTAssertEqual(try KernelspecInstaller.dataDirectory(for: .sysPrefix, environment: ["PATH": "/nonexistent"]),
                       "/usr/local/share/jupyter")
        XCTAssertEqual(try KernelspecInstaller.dataDirectory(for: .sysPrefix, environment: ["PATH": "/nonexistent", "VIRTUAL_ENV": "/v"]),
                       "/v/share/jupyter")
    }
}
