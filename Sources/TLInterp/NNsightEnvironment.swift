// Where the nnsight worker's Python lives and how `tlsh backend setup nnsight` makes it:
//   TLSH_NNSIGHT_VENV     the virtual environment (default $XDG_DATA_HOME/tlsh/nnsight-venv, that is
//                         ~/.local/share/tlsh/nnsight-venv)
//   TLSH_NNSIGHT_PYTHON   a Python that already has nnsight, transformers and torch (skips the venv)
//   TLSH_NNSIGHT_WORKER   the worker script to run (default: the copy embedded in tlsh)
import Foundation

public struct NNsightEnvironment: Sendable {
    public let venv: URL
    public let python: URL
    /// Set when TLSH_NNSIGHT_WORKER names a script; else the embedded copy is written out at start.
    public let script: URL?
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? home.appendingPathComponent(".local/share")
        venv = environment["TLSH_NNSIGHT_VENV"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? data.appendingPathComponent("tlsh/nnsight-venv")
        python = environment["TLSH_NNSIGHT_PYTHON"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? venv.appendingPathComponent("bin/python")
        script = environment["TLSH_NNSIGHT_WORKER"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    }

    public var hasPython: Bool { FileManager.default.isExecutableFile(atPath: python.path) }

    /// The worker script: TLSH_NNSIGHT_WORKER, or the copy shipped in this module's resources
    /// (Resources/tlsh_nnsight_worker.py, the one source of the worker).
    public func workerScript() throws -> URL {
        if let script { return script }
        guard let url = Self.shippedWorker else {
            throw PlanWorkerError.failedToStart("tlsh's nnsight worker script is missing from its resources (tlsh_TLInterp.resources beside the binary); reinstall tlsh or set TLSH_NNSIGHT_WORKER to the script")
        }
        return url
    }

    /// The worker script shipped with tlsh.
    public static var shippedWorker: URL? { Bundle.module.url(forResource: "tlsh_nnsight_worker", withExtension: "py") }

    /// Starts a worker, or says what is missing and how to get it.
    public func startWorker(startupTimeout: Double = 300) throws -> PlanWorker {
        guard hasPython else {
            throw PlanWorkerError.failedToStart("there is no Python at \(python.path); run `tlsh backend setup nnsight` to create the environment there (or set TLSH_NNSIGHT_PYTHON to a Python that has nnsight)")
        }
        var env = environment
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        let worker: PlanWorker
        do {
            worker = try PlanWorker(executable: python, arguments: [try workerScript().path], environment: env, startupTimeout: startupTimeout)
        } catch PlanWorkerError.failedToStart(let m) where m.contains("No module named") {
            throw PlanWorkerError.failedToStart(m + "\n(run `tlsh backend setup nnsight` to install nnsight, transformers and torch into \(venv.path))")
        }
        return worker
    }

    // MARK: Setup

    /// Creates the venv and installs nnsight, transformers and torch (CPU wheels where the PyTorch
    /// index is reachable, else PyPI's), unless they import already. Returns a summary line.
    public func setup(basePython: String = "python3", log: (String) -> Void) throws -> String {
        let fm = FileManager.default
        let venvPython = venv.appendingPathComponent("bin/python")
        if !fm.isExecutableFile(atPath: venvPython.path) {
            log("creating \(venv.path)")
            try fm.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard try Self.run(basePython, ["-m", "venv", venv.path]) == 0 else {
                throw PlanWorkerError.failedToStart("`\(basePython) -m venv \(venv.path)` failed; install Python 3 with its venv module (Debian: apt-get install python3-venv)")
            }
        }
        let check = ["-c", "import nnsight, transformers, torch"]
        if try Self.run(venvPython.path, check, quiet: true) == 0 {
            return "the nnsight environment is ready at \(venv.path) (already set up)"
        }
        let pip = [venvPython.path, "-m", "pip", "install", "--disable-pip-version-check"]
        log("installing torch (CPU) into \(venv.path)")
        // The CPU-only index saves gigabytes of CUDA libraries where it is reachable; where it is not
        // (a mirror of PyPI only), give up on it in seconds rather than after pip's default retries.
        if try Self.run(pip[0], Array(pip.dropFirst()) + ["torch", "--index-url", "https://download.pytorch.org/whl/cpu",
                                                          "--retries", "1", "--timeout", "10"]) != 0 {
            log("the PyTorch CPU index is not reachable; installing torch from PyPI")
            guard try Self.run(pip[0], Array(pip.dropFirst()) + ["torch"]) == 0 else {
                throw PlanWorkerError.failedToStart("pip could not install torch into \(venv.path); see pip's message above")
            }
        }
        log("installing nnsight and transformers")
        guard try Self.run(pip[0], Array(pip.dropFirst()) + ["nnsight", "transformers"]) == 0,
              try Self.run(venvPython.path, check, quiet: true) == 0 else {
            throw PlanWorkerError.failedToStart("pip could not install nnsight and transformers into \(venv.path); see pip's message above")
        }
        return "the nnsight environment is ready at \(venv.path)"
    }

    /// Runs a program (looked up on PATH when not a path) with inherited output; its exit status.
    static func run(_ program: String, _ arguments: [String], quiet: Bool = false) throws -> Int32 {
        let p = Process()
        if program.contains("/") {
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [program] + arguments
        }
        if quiet {
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
        }
        do { try p.run() } catch { throw PlanWorkerError.failedToStart("cannot run \(program): \(error.localizedDescription)") }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
