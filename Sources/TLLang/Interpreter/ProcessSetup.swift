// The front door's one call: the executable reads its environment once and hands it here, and this
// turns the engine and rendering variables into values (docs/ENVIRONMENT.md lists them all). No
// library module reads the process environment by itself; sessions then copy the engine default
// into their own settings, so `set threads=` in one session never reaches another.
import Foundation
import TLRender
import TLTensor

public enum ProcessSetup {
    /// Applies `environment` to this process. Call once, at start-up, before any model loads.
    public static func apply(environment: [String: String]) {
        if environment["TLSH_RETAIN_MEMORY"] != "0" { ProcessMemory.retainFreedMemory() }
        BLASCorePreference.configure(BLASCorePreference(environment: environment))
        EngineContext.processDefault = EngineContext(environment: environment)
        FontSet.configureShared(environment: environment)
    }
}
