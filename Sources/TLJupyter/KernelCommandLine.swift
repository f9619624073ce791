import TLCore

/// `tlsh kernel ...`: argument parsing for the kernel subcommands, so main.swift stays a dispatcher.
public enum KernelCommandLine {
    /// `tlsh kernel -f FILE`: the options, declared once for parsing, help and errors.
    static let runOptions = CommandLineOptions(command: "tlsh kernel", options: [
        .valued("--connection-file", "FILE", aliases: ["-f"], help: "run the kernel with the connection file Jupyter wrote"),
        .flag("--echo", help: "use the built-in echo test language instead of tlsh"),
    ])

    /// `tlsh kernel install`: writes a kernelspec whose argv is this binary.
    static let installOptions = CommandLineOptions(command: "tlsh kernel install", options: [
        .flag("--user", help: "install for this user (the default)"),
        .flag("--sys-prefix", help: "install into sys.prefix (the active Python environment)"),
        .valued("--prefix", "PATH", help: "install under PATH/share/jupyter/kernels"),
        .valued("--name", "NAME", help: "the kernelspec's name (default tlsh)"),
        .valued("--display-name", "TEXT", help: "the name Jupyter shows (default tlsh)"),
        .valued("--interrupt-mode", "signal|message", help: "how Jupyter interrupts the kernel (default signal)"),
        .flag("--echo", help: "install the echo test language instead of tlsh"),
    ])

    /// The usage lines (after an error); `--help` prints each option's help too.
    public static var usage: String { runOptions.usageLine + "\n" + installOptions.usageLine }
    static var help: String { runOptions.help + "\n\n" + installOptions.help }

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
        if arguments.first == "install" {
            let parsed = try parse(Array(arguments.dropFirst()), installOptions)
            if parsed.helpRequested { print(installOptions.help); return 0 }
            let places = ["--user", "--sys-prefix", "--prefix"].filter(parsed.has)
            guard places.count <= 1 else { throw KernelError.usage("give one of --user, --sys-prefix, --prefix, not \(places.joined(separator: " and "))") }
            let location: KernelspecLocation = parsed.value("--prefix").map { .prefix($0) }
                ?? (parsed.has("--sys-prefix") ? .sysPrefix : .user)
            var interruptMode = InterruptMode.signal
            if let text = parsed.value("--interrupt-mode") {
                guard let mode = InterruptMode(rawValue: text) else {
                    throw KernelError.usage("--interrupt-mode must be signal or message, not \(text)")
                }
                interruptMode = mode
            }
            let echo = parsed.has("--echo")
            let name = parsed.value("--name") ?? (echo ? "tlsh-echo" : "tlsh")
            guard let executable = KernelspecInstaller.currentExecutablePath() else {
                throw KernelError.kernelspec("cannot determine the path of the tlsh binary")
            }
            let directory = try KernelspecInstaller.install(
                location: location, name: name, executablePath: executable,
                displayName: parsed.value("--display-name") ?? (echo ? "tlsh (echo test language)" : "tlsh"),
                interruptMode: interruptMode, extraArguments: echo ? ["--echo"] : [], environment: environment)
            print("Installed kernelspec \(name) in \(directory)")
            return 0
        }

        let parsed = try parse(arguments, runOptions)
        if parsed.helpRequested { print(help); return 0 }
        guard let connectionFile = parsed.value("--connection-file") else { throw KernelError.usage("missing -f CONNECTION_FILE") }
        let backend = parsed.has("--echo") ? EchoBackend() : try makeBackend()
        let settings = KernelSettings(environment: environment)
        KernelLog.configure(debug: settings.debugLog)
        return try KernelMain.run(connectionFile: connectionFile, backend: backend, settings: settings)
    }

    private static func parse(_ arguments: [String], _ options: CommandLineOptions) throws -> CommandLineOptions.Parsed {
        do { return try options.parse(arguments) } catch { throw KernelError.usage(error.problem) }
    }

    private static func printError(_ text: String) {
        KernelLog.error(text)
    }
}
