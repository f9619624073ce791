// Ctrl-C (or a kernel interrupt) during `model NAME` stops the download: the session's interrupt
// flag is the one the hub polls. Runs Tests/Fixtures/hub/fake_hub.py on 127.0.0.1.
import Foundation
import XCTest
@testable import TLLang
import TLHub
import TLTestSupport

final class DownloadInterruptTests: XCTestCase {
    func testInterruptDuringModelDownloadStopsItAndKeepsTheSession() throws {
        let server = try FakeHubServer()
        defer { server.stop() }
        let home = try makeTemporaryDirectory("tlsh-interrupt")
        defer { try? FileManager.default.removeItem(at: home) }
        let environment = ["HF_HOME": home.path, "HF_ENDPOINT": server.endpoint, "HOME": home.path]
        let box = SessionBox()
        // Interrupt as soon as the small files are in, before the weights.
        let session = Session(environment: environment, downloadProgress: { p in
            if p.file == "generation_config.json" && p.finished { box.session?.interrupt() }
        })
        box.session = session
        session.output = CapturingOutput()
        XCTAssertThrowsError(try session.execute("model tiny/gpt2")) { error in
            let e = error as? ExecutionError
            XCTAssertEqual(e?.name, "Interrupted", "\(error)")
        }
        XCTAssertNil(session.current, "an interrupted load keeps the session's model as it was")
        // The interrupt is spent: the next statement runs normally. (The fake hub's files are not
        // a loadable model, so the resumed download itself is HubDownloadTests' business.)
        _ = try session.execute("x = 2 + 3")
        XCTAssertNotNil(session.variables["x"])
    }
}

private final class SessionBox: @unchecked Sendable {
    weak var session: Session?
}
