import Foundation

/// Where to install a kernelspec, mirroring `jupyter kernelspec install`'s options.
public enum KernelspecLocation: Sendable, Equatable {
    /// ~/.local/share/jupyter (or $JUPYTER_DATA_DIR).
    case user
    /// `sys.prefix` of the `python3` on PATH, i.e. the active virtualenv or conda env.
    case sysPrefix
    /// PREFIX/share/jupyter.
    case prefix(String)
}

/// How Jupyter should interrupt the kernel: SIGINT to the process group, or interrupt_request on control.
/// The kernel handles both; "signal" is Jupyter's default.
public enum InterruptMode: String, Sendable { case signal, message }

/// Writes `<dir>/kernels/<name>/kernel.json` plus the logos (embedded in the binary).
public enum KernelspecInstaller {
    /// Installs the spec and returns the directory written. `executablePath` must be absolute (Jupyter starts
    /// the kernel from anywhere); `extraArguments` go after `kernel` (e.g. `--echo`).
    @discardableResult
    public static func install(location: KernelspecLocation, name: String = "tlsh", executablePath: String,
                               displayName: String = "tlsh", interruptMode: InterruptMode = .signal,
                               extraArguments: [String] = [],
                               environment: [String: String]) throws -> String {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }) else {
            throw KernelError.kernelspec("kernel name \"\(name)\" may only contain letters, digits, '.', '_' and '-'")
        }
        guard executablePath.hasPrefix("/") else {
            throw KernelError.kernelspec("executable path \"\(executablePath)\" must be absolute")
        }
        let directory = try dataDirectory(for: location, environment: environment) + "/kernels/" + name
        let spec: JSONValue = [
            "argv": .array(([executablePath, "kernel"] + extraArguments + ["-f", "{connection_file}"]).map { .string($0) }),
            "display_name": .string(displayName),
            "language": "tlsh",
            "interrupt_mode": .string(interruptMode.rawValue),
            "metadata": ["tlsh": ["installed_by": "tlsh kernel install"]],
        ]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let files: [(String, [UInt8])] = [
                ("kernel.json", prettyJSON(spec)),
                ("logo-32x32.png", EmbeddedResources.logo32),
                ("logo-64x64.png", EmbeddedResources.logo64),
                ("logo-svg.svg", EmbeddedResources.logoSVG),
            ]
            for (file, bytes) in files {
                try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + file), options: .atomic)
            }
        } catch {
            throw KernelError.kernelspec("cannot write \(directory): \(error.localizedDescription) "
                + "(choose another location with --user or --prefix)")
        }
        return directory
    }

    /// The Jupyter data directory (the one that contains `kernels/`) for a location.
    public static func dataDirectory(for location: KernelspecLocation,
                                     environment: [String: String]) throws -> String {
        switch location {
        case .user:
            if let custom = environment["JUPYTER_DATA_DIR"], !custom.isEmpty { return custom }
            guard let home = environment["HOME"], !home.isEmpty else {
                throw KernelError.kernelspec("HOME is not set; use --prefix PATH instead of --user")
            }
            return home + "/.local/share/jupyter"
        case .sysPrefix:
            return pythonSysPrefix(environment: environment) + "/share/jupyter"
        case let .prefix(prefix):
            guard !prefix.isEmpty else { throw KernelError.kernelspec("--prefix needs a directory") }
            let absolute = prefix.hasPrefix("/") ? prefix : FileManager.default.currentDirectoryPath + "/" + prefix
            return absolute + "/share/jupyter"
        }
    }

    /// sys.prefix of `python3` on PATH; else $VIRTUAL_ENV or $CONDA_PREFIX; else /usr/local.
    static func pythonSysPrefix(environment: [String: String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.prefix)"]
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) != nil {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let prefix = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if process.terminationStatus == 0, prefix.hasPrefix("/") { return prefix }
        }
        for variable in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let value = environment[variable], value.hasPrefix("/") { return value }
        }
        return "/usr/local"
    }

    /// Absolute path of the running binary (via /proc/self/exe), for the spec's argv.
    public static func currentExecutablePath() -> String? {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return resolved
        }
        let argv0 = CommandLine.arguments.first ?? ""
        guard !argv0.isEmpty else { return nil }
        return argv0.hasPrefix("/") ? argv0 : URL(fileURLWithPath: argv0).standardizedFileURL.path
    }

    private static func prettyJSON(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? Array(encoder.encode(value))) ?? []) + [10]
    }
}
