// The Python the nnsight parity tests use: TLSH_NNSIGHT_PYTHON, else the environment that
// `tlsh backend setup nnsight` makes. Tests skip (printing why) when neither imports nnsight.
import Foundation
import XCTest

public enum NNsightPython {
    public static let found: (python: String?, reason: String) = {
        let env = ProcessInfo.processInfo.environment
        let data = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        let venv = env["TLSH_NNSIGHT_VENV"].flatMap { $0.isEmpty ? nil : $0 } ?? (data + "/tlsh/nnsight-venv")
        let candidates = [env["TLSH_NNSIGHT_PYTHON"], venv + "/bin/python"].compactMap { $0 }.filter { !$0.isEmpty }
        for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = ["-c", "import nnsight, transformers, torch"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { continue }
            p.waitUntilExit()
            if p.terminationStatus == 0 { return (python, "") }
        }
        return (nil, "no Python with nnsight, transformers and torch (tried \(candidates.joined(separator: ", "))); "
                + "run `tlsh backend setup nnsight` or set TLSH_NNSIGHT_PYTHON to run the nnsight parity tests")
    }()

    /// The python path, or skips the test with the reason printed. Under TLSH_NNSIGHT_REQUIRED=1 (CI,
    /// which has run `tlsh backend setup nnsight`) a missing environment is a failure, not a skip, so the
    /// parity proof cannot silently stop running.
    public static func require() throws -> String {
        guard let python = found.python else {
            if ProcessInfo.processInfo.environment["TLSH_NNSIGHT_REQUIRED"] == "1" {
                XCTFail("TLSH_NNSIGHT_REQUIRED=1 but " + found.reason)
            }
            print("skipped: " + found.reason)
            throw XCTSkip(found.reason)
        }
        return python
    }
}
