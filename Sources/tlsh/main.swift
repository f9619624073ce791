// tlsh entry point: argument parsing and dispatch only.
import Foundation
import TLInterp

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "bench" {
    let dir = URL(fileURLWithPath: args.count > 1 ? args[1] : ".")
    let tasks = args.count > 2 ? args[2].split(separator: ",").map(String.init) : ["load", "forward11", "cache11", "forward1024", "cache1024", "patch", "generate40"]
    do {
        let results = try EngineBenchmark.run(directory: dir, tasks: tasks) { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }
        print("{" + results.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    } catch { FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!); exit(1) }
}
