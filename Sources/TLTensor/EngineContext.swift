// The settings a run of the engine works under: worker threads, matrix-product precision, the
// memory budget and the kernel choices kept for comparisons. They used to be process-wide globals
// (set by `set threads=`, restored by hand after each statement) and environment variables read
// inside this module; now they are one value, bound for the duration of a run:
//
//     try session.engine.run { try model.run(tokens) }
//
// Everything below reads `EngineContext.current`: the value bound by the innermost `run` on this
// thread or task (and carried into Parallel's workers), else the process default that the
// executable configured once from its environment (`EngineContext(environment:)`, the only place
// the TLSH_* engine variables are read). Two sessions in one process therefore each run under their
// own threads and precision, and a statement's transaction is a copy of a value.
import Foundation
internal import TLKernels
import Synchronization

public struct EngineContext: Sendable, Equatable {
    /// Worker threads for parallel sections (the language's `threads`).
    public var threads: Int
    /// Precision of the weight products (the language's `matmul`).
    public var matmul: MatmulPrecision
    /// Bytes a run may use, when capped (tests, or a user's own cap); nil: the machine's
    /// MemAvailable (see `MemoryBudget`).
    public var memoryLimitBytes: Int?
    /// Kernel routing, kept switchable for comparisons and benchmarks.
    public var kernels: KernelChoices
    /// Where an activation cache stored on disk (`run ... store=disk`) writes its temporary
    /// safetensors file; nil: the system's temporary directory (TMPDIR, else /tmp).
    public var spillDirectory: String?

    public init(threads: Int = Parallel.defaultWidth, matmul: MatmulPrecision = .highest,
                memoryLimitBytes: Int? = nil, kernels: KernelChoices = KernelChoices(), spillDirectory: String? = nil) {
        self.threads = max(1, threads)
        self.matmul = matmul
        self.memoryLimitBytes = memoryLimitBytes
        self.kernels = kernels
        self.spillDirectory = spillDirectory
    }

    /// The directory a disk-stored cache goes to: `spillDirectory`, else the system's temporary one.
    public var effectiveSpillDirectory: String {
        if let d = spillDirectory, !d.isEmpty { return d }
        return FileManager.default.temporaryDirectory.path
    }

    /// Which kernels products use; the defaults are the fastest measured (docs/PERFORMANCE.md).
    public struct KernelChoices: Sendable, Equatable {
        /// Largest row count that the in-place small-batch GEMM takes (0: everything to OpenBLAS).
        public var smallGEMMMaxRows = 48
        /// Largest row count that uses the packed weight panels (0: packed products off). With
        /// AVX-512 the panels' 6 × 64 tiles beat OpenBLAS at every row count measured; without it
        /// (4 × 16-column strips per panel) OpenBLAS is faster once the product is compute-bound,
        /// so the panels keep the weight-streaming products of up to 48 rows (docs/PERFORMANCE.md).
        public var packedMaxRows = KernelChoices.cpuHasAVX512 ? Int.max : 48
        /// Advise large weight arrays into 2 MB pages.
        public var hugePages = true
        /// Allow the AMX bf16 tiles where the CPU has them (false pretends it does not).
        public var amx = true
        public init() {}

        /// Whether this CPU runs the kernels' AVX-512 clones: the same test the product kernels
        /// make when they choose their tiles (tlk_wide_tiles).
        public static let cpuHasAVX512: Bool = tlk_wide_tiles() != 0
    }

    // MARK: Which context is current

    /// The context of the innermost `run` on this thread or task; nil outside any run.
    @TaskLocal static var bound: EngineContext?

    private static let configuredDefault = Mutex(EngineContext())

    /// The context runs use where none is bound: set once by the executable from its environment;
    /// the built-in defaults otherwise (library users and tests).
    public static var processDefault: EngineContext {
        get { configuredDefault.withLock { $0 } }
        set { configuredDefault.withLock { $0 = newValue } }
    }

    /// The context in force here.
    public static var current: EngineContext { bound ?? processDefault }

    /// Runs `body` with this context current (on this thread, in tasks it starts, and in Parallel's
    /// workers), restoring the previous one afterwards.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        try Self.$bound.withValue(self, operation: body)
    }

    /// A copy with `change` applied: `EngineContext.current.with { $0.threads = 1 }.run { ... }`.
    public func with(_ change: (inout EngineContext) -> Void) -> EngineContext {
        var copy = self
        change(&copy)
        return copy
    }

    // MARK: The front door

    /// The context that the environment asks for: TLSH_MATMUL, TLSH_MEMORY_LIMIT_BYTES,
    /// TLSH_SPILL_DIR, TLSH_SMALL_GEMM, TLSH_PACKED_ROWS, TLSH_HUGE_PAGES, TLSH_AMX (docs/ENVIRONMENT.md). A value
    /// that does not parse, or a precision this CPU cannot run, keeps the default.
    public init(environment: [String: String]) {
        self.init()
        func integer(_ name: String) -> Int? {
            environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        if environment["TLSH_AMX"] == "0" { kernels.amx = false }
        if environment["TLSH_HUGE_PAGES"] == "0" { kernels.hugePages = false }
        if let rows = integer("TLSH_SMALL_GEMM") { kernels.smallGEMMMaxRows = rows }
        if let rows = integer("TLSH_PACKED_ROWS") { kernels.packedMaxRows = rows }
        if let limit = integer("TLSH_MEMORY_LIMIT_BYTES"), limit > 0 { memoryLimitBytes = limit }
        if let dir = environment["TLSH_SPILL_DIR"], !dir.isEmpty { spillDirectory = dir }
        if let name = environment["TLSH_MATMUL"], let p = MatmulPrecision(rawValue: name),
           (try? MatmulPrecision.validate(p, in: self)) != nil {
            matmul = p
        }
    }
}
