// The session the backend tests start: a temporary HOME (so no user's nnsight environment is
// used by accident), TLSH_NNSIGHT_WORKER passed through (so a mutated worker can be tried against
// the tests), `environment` on top, and output captured.
import Foundation
@testable import TLLang

func backendTestSession(output: CapturingOutput, environment: [String: String] = [:]) -> Session {
    var base = ["HOME": NSTemporaryDirectory()]
    if let worker = ProcessInfo.processInfo.environment["TLSH_NNSIGHT_WORKER"] { base["TLSH_NNSIGHT_WORKER"] = worker }
    let s = Session(environment: base.merging(environment) { $1 })
    s.output = output
    return s
}
