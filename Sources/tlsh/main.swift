// tlsh entry point: argument parsing and dispatch only.
//   tlsh                      the REPL (libedit); statements from stdin when it is not a terminal
//   tlsh FILE.tl              run a script; stops at the first error (exit 1)
//   tlsh -c 'statements'      run statements separated by newlines or ';'
//   tlsh kernel ...           the Jupyter kernel (`tlsh kernel install`, `tlsh kernel -f FILE`)
//   tlsh tokenize [--bos] [--model M] [--bench FILE]
//   tlsh bench DIR [TASKS]    engine timings as JSON (tools/bench drives it)
//   tlsh bench-plot RESULTS.json OUT_DIR [--svg]  the scaling curves of tools/bench/scaling.py as PNGs
//   tlsh backend setup nnsight  the Python environment of the nnsight worker (docs/REMOTE.md)
import Foundation
import TLJupyter
import TLLang
import TLRepl
import TLTools

// The only place the process environment is read; every module gets what it needs from here
// (docs/ENVIRONMENT.md).
let arguments = Array(CommandLine.arguments.dropFirst())
let environment = ProcessInfo.processInfo.environment
ProcessSetup.apply(environment: environment)

func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(("tlsh: " + message + "\n").data(using: .utf8)!)
    exit(code)
}

/// A session whose output (and download progress) goes to the terminal; the output object lives as
/// long as the process, since the session holds it weakly.
let terminal = TerminalOutput(environment: environment)
func terminalSession() -> Session {
    let session = Session(environment: environment, downloadProgress: { p in
        terminal.byteProgress(p.file, bytes: p.bytes, total: p.total)
    })
    session.output = terminal
    return session
}

let usage = """
usage: tlsh [FILE.tl | -c STATEMENTS]
       tlsh kernel install [--user | --sys-prefix | --prefix P] [--name N]
       tlsh kernel -f CONNECTION_FILE
       tlsh tokenize [--bos] [--model NAME] [--bench FILE]
       tlsh bench MODEL_DIR [load,forward11,cache11,forward1024,cache1024,patch,generate40]
       tlsh bench-plot RESULTS.json OUT_DIR [--svg]
       tlsh backend setup nnsight [--python PYTHON3]
       tlsh --version | --help
"""

switch arguments.first {
case "--version", "-V":
    print("tlsh \(TLSHVersion.string)")
case "--help", "-h":
    print(usage)
case "kernel":
    exit(KernelCommandLine.run(arguments: Array(arguments.dropFirst()), environment: environment,
                               makeBackend: { SessionBackend(session: Session(environment: environment)) }))
case "tokenize":
    exit(ToolCommands.tokenize(arguments: Array(arguments.dropFirst()), environment: environment, fail: { fail($0, code: $1) }))
case "bench":
    guard arguments.count >= 2 else { fail("bench needs a model directory\n" + usage) }
    let tasks = arguments.count > 2 ? arguments[2].split(separator: ",").map(String.init) : ToolCommands.benchTasks
    exit(ToolCommands.bench(directory: arguments[1], tasks: tasks, environment: environment, fail: { fail($0, code: $1) }))
case "bench-plot":
    exit(BenchPlot.run(arguments: Array(arguments.dropFirst()), fail: { fail($0, code: $1) }))
case "backend":
    exit(ToolCommands.backend(arguments: Array(arguments.dropFirst()), environment: environment, fail: { fail($0, code: $1) }))
case "-c":
    guard arguments.count >= 2 else { fail("-c needs statements, e.g. tlsh -c 'tokens \"Hello\"'") }
    exit(ScriptRunner.run(source: arguments[1], origin: "-c", session: terminalSession()))
case let file? where !file.hasPrefix("-") || file == "-":
    exit(ScriptRunner.run(file: file, session: terminalSession()))
case nil:
    exit(ReplMain.run(session: terminalSession(), environment: environment))
default:
    fail("unknown option \(arguments[0])\n" + usage)
}
