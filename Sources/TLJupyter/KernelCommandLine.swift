/// `tlsh kernel ...`: argument parsing for the kernel subcommands, so main.swift stays a dispatcher.
public enum KernelCommandLine {
    public static let usage = """
        usage: tlsh kernel -f CONNECTION_FILE [--echo]
               tlsh kernel install [--user | --sys-prefix | --prefix PATH] [--name NAME]
                                   [--display-name TEXT] [--interrupt-mode signal|message] [--echo]
          -f FILE           run the kernel with the connection file Jupyter wrote
          --echo            use the built-in echo test language instead of tlsh
          install           write a kernelspec whose argv is this binary (default: --user, name tlsh)
        """

    /// Runs `tlsh kernel` with the arguments after `kernel`. `makeBackend` builds the real language backend;
    /// `--echo` uses `EchoBackend` instead. Returns the process exit code; errors go to stderr.
    public static func run(arguments: [String], environment: [String: String],
                           makeBackend: () throws -> KernelBackend) -> Int32 {
        do {
            return try runThrowing(arguments: arguments, environment: environment, makeBackend: makeBackend)
        } catch {
            printError("\(error)")
            return 2
        }
    }

    static func runThrowing(arguments: [String], environment: [String: String],
                            makeBackend: () throws -> KernelBackend) throws -> Int32 {
        var remaining = arguments[...]
        var echo = false
        if remaining.first == "install" {
            remaining = remaining.dropFirst()
            var location = KernelspecLocation.user
            var name: String?
            var displayName: String?
            var interruptMode = InterruptMode.signal
            while let argument = remaining.popFirst() {
                switch argument {
                case "--user": location = .user
                case "--sys-prefix": location = .sysPrefix
                case "--prefix": location = .prefix(try value(after: argument, &remaining))
                case "--name": name = try value(after: argument, &remaining)
                case "--display-name": displayName = try value(after: argument, &remaining)
                case "--interrupt-mode":
                    let text = try value(after: argument, &remaining)
                    guard let mode = InterruptMode(rawValue: text) else {
                        throw KernelError.usage("--interrupt-mode must be signal or message, not \(text)")
                    }
                    interruptMode = mode
                case "--echo": echo = true
                case "-h", "--help": print(usage); return 0
                default: throw KernelError.usage("unknown install option \(argument)")
                }
            }
            guard let executable = KernelspecInstaller.currentExecutablePath() else {
                throw KernelError.kernelspec("cannot determine the path of the tlsh binary")
            }
            let directory = try KernelspecInstaller.install(
                location: location, name: name ?? (echo ? "tlsh-echo" : "tlsh"), executablePath: executable,
                displayName: displayName ?? (echo ? "tlsh (echo test language)" : "tlsh"),
                interruptMode: interruptMode, extraArguments: echo ? ["--echo"] : [], environment: environment)
            print("Installed kernelspec \(name ?? (echo ? "tlsh-echo" : "tlsh")) in \(directory)")
            return 0
        }

        var connectionFile: String?
        while let argument = remaining.popFirst() {
            switch argument {
            case "-f", "--connection-file": connectionFile = try value(after: argument, &remaining)
            case "--echo": echo = true
            case "-h", "--help": print(usage); return 0
            default:
                if argument.hasPrefix("--connection-file=") {
                    connectionFile = String(argument.dropFirst("--connection-file=".count))
                } else {
                    throw KernelError.usage("unknown option \(argument)")
                }
            }
        }
        guard let connectionFile else { throw KernelError.usage("missing -f CONNECTION_FILE") }
        let backend = echo ? EchoBackend() : try makeBackend()
        let settings = KernelSettings(environment: environment)
        KernelLog.configure(debug: settings.debugLog)
        return try KernelMain.run(connectionFile: connectionFile, backend: backend, settings: settings)
    }

    private static func value(after option: String, _ remaining: inout ArraySlice<String>) throws -> String {
        guard let value = remaining.popFirst() else { throw KernelError.usage("\(option) needs a value") }
        return value
    }

    private static func printError(_ text: String) {
        KernelLog.error(text)
    }
}
