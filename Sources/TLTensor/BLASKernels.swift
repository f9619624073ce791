// OpenBLAS picks its kernels from the CPU model at load time. Older builds (Debian bookworm's 0.3.21)
// do not know newer CPUs, e.g. Sapphire Rapids, and fall back to the generic SSE3 "Prescott"
// kernels: about 5× slower sgemm than the AVX-512 ("SkylakeX") ones on the same core. When the
// library reports such a generic core but the CPU advertises AVX-512 (or AVX2+FMA), switch to the
// matching kernel set once, before the first BLAS call, through the library's own dynamic-arch
// entry points (found with dlsym, so builds without dynamic arch are left alone).
//
// The choice is process-wide (OpenBLAS has one kernel table); the executable sets it from its
// environment before the first product (`BLASCorePreference(environment:)`): OPENBLAS_CORETYPE set
// by the user always wins (nothing is changed); TLSH_BLAS_CORE=keep disables the switch;
// TLSH_BLAS_CORE=<name> asks for a specific core.
internal import CBLAS
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How to choose OpenBLAS's kernel set.
public enum BLASCorePreference: Sendable, Equatable {
    /// Switch from a generic core to the one the CPU's features allow (the default).
    case automatic
    /// Keep what OpenBLAS chose.
    case keep
    /// Ask for this core by name.
    case named(String)

    public init(environment: [String: String]) {
        if environment["OPENBLAS_CORETYPE"] != nil || environment["TLSH_BLAS_CORE"]?.lowercased() == "keep" {
            self = .keep
        } else if let forced = environment["TLSH_BLAS_CORE"], !forced.isEmpty {
            self = .named(forced)
        } else {
            self = .automatic
        }
    }

    /// Sets the preference for this process; it takes effect at the first product, so call it
    /// before any (later calls change nothing).
    public static func configure(_ preference: BLASCorePreference) {
        BLASKernels.preference.withLock { $0 = preference }
    }
}

enum BLASKernels {
    static let preference = Mutex(BLASCorePreference.automatic)

    /// The core OpenBLAS uses after selection (e.g. "SkylakeX"); evaluated once, thread-safely.
    /// OpenBLAS is also set to one thread here: tlsh splits large products itself (Parallel.swift).
    static let coreName: String = {
        let name = select(preference.withLock { $0 })
        openblas_set_num_threads(1)
        return name
    }()

    static var currentCore: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Kernel sets that do not use the CPU's vector units fully.
    static let genericCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                            "banias", "katmai", "coppermine", "northwood", "unknown", "sandybridge"]

    static func select(_ preference: BLASCorePreference) -> String {
        let current = currentCore
        let wanted: String
        switch preference {
        case .keep: return current
        case .named(let forced): wanted = forced
        case .automatic:
            guard genericCores.contains(current.lowercased()), let better = bestCoreForCPU() else { return current }
            wanted = better
        }
        return switchCore(to: wanted) ?? current
    }

    /// The kernel set this CPU's advertised features allow, from /proc/cpuinfo (Linux lists only
    /// features the kernel enabled, so AVX-512 state is saved across context switches).
    static func bestCoreForCPU() -> String? {
        #if os(Linux) && arch(x86_64)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        #endif
        return nil
    }

    /// Re-runs OpenBLAS's dynamic-arch initialisation with OPENBLAS_CORETYPE=`name`; returns the
    /// core now in use, or nil when the library has no dynamic arch.
    static func switchCore(to name: String) -> String? {
        #if os(Linux)
        guard let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialise = dlsym(handle, "gotoblas_dynamic_init") else { return nil }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", name, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialise, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")  // child processes choose for themselves
        return currentCore
        #else
        return nil
        #endif
    }
}
