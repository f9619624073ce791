// tlsh entry point: argument parsing and dispatch only.
import Foundation
import TLKernel

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "kernel" {
    // The lead swaps EchoBackend for the interpreter's KernelBackend adapter; `--echo` always selects EchoBackend.
    exit(KernelCommandLine.run(arguments: Array(arguments.dropFirst()), makeBackend: { EchoBackend() }))
}
print("tlsh")
