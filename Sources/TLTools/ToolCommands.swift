// The executable's subcommands that are tools rather than the language: `tlsh tokenize` (ids of text
// for any family's tokenizer) and `tlsh bench` (engine timings for tools/bench). They live in their
// own target so that the executable reaches the engine only through TLLang (the language) and here.
import Foundation
import TLHub
import TLInterp
import TLTensor
import TLTokenizer

public enum ToolCommands {
    /// Freed activations stay mapped for the next run instead of being unmapped and faulted in again
    /// (see TLTensor's ProcessMemory); TLSH_RETAIN_MEMORY=0 turns this off. Call once at start-up.
    public static func prepareProcess() { ProcessMemory.retainFreedMemory() }

    /// `tlsh backend setup nnsight [--python PYTHON3]`: creates (once) the virtual environment the
    /// nnsight worker runs in and says where it is.
    public static func backend(arguments: [String], environment: [String: String], fail: (String, Int32) -> Never) -> Int32 {
        guard arguments.count >= 2, arguments[0] == "setup", arguments[1] == "nnsight" else {
            fail("usage: tlsh backend setup nnsight [--python PYTHON3]", 2)
        }
        var base = "python3"
        if let i = arguments.firstIndex(of: "--python") {
            guard i + 1 < arguments.count else { fail("--python needs a Python 3 executable", 2) }
            base = arguments[i + 1]
        }
        let env = NNsightEnvironment(environment: environment)
        do {
            let summary = try env.setup(basePython: base) { print($0) }
            print(summary)
            // Prove it: start the worker once and show what it runs.
            let worker = try env.startWorker()
            let h = worker.hello
            print("worker: nnsight \(h["nnsight"] as? String ?? "?"), torch \(h["torch"] as? String ?? "?"), transformers \(h["transformers"] as? String ?? "?"), Python \(h["python"] as? String ?? "?")")
            worker.shutdown()
            print("in a session: backend nnsight (this machine) or backend ndif (NDIF, with NDIF_API_KEY set)")
            return 0
        } catch {
            fail("\(error)", 1)
        }
    }

    /// `tlsh tokenize [--bos] [--model M] [--bench FILE]`: returns the exit status, writing errors
    /// through `fail`.
    public static func tokenize(arguments: [String], fail: (String, Int32) -> Never) -> Int32 {
        var rest = arguments
        var modelName: String?
        if let i = rest.firstIndex(of: "--model") {
            guard i + 1 < rest.count else { fail("--model needs a name", 2) }
            modelName = rest[i + 1]
            rest.removeSubrange(i...(i + 1))
        }
        do {
            // A local directory needs only tokenizer files (and config.json), not weights.
            var isDirectory: ObjCBool = false
            let directory: URL
            if let modelName, FileManager.default.fileExists(atPath: modelName, isDirectory: &isDirectory), isDirectory.boolValue {
                directory = URL(fileURLWithPath: modelName)
            } else {
                directory = try Hub().resolve(try ModelSource.parse(modelName)).directory
            }
            // A lone tokenizer.model encodes as SentencePiece itself does (docs/TOKENIZER.md says why).
            return TokenizeCommand.run(arguments: rest, tokenizer: try Tokenizer.load(directory: directory, sentencePieceNative: true))
        } catch { fail("\(error)", 1) }
    }

    /// The tasks `tlsh bench` runs when none are named.
    public static let benchTasks = ["load", "forward11", "cache11", "forward1024", "cache1024", "patch", "generate40"]

    /// `tlsh bench MODEL_DIR [TASKS]`: prints the timings as one JSON object.
    public static func bench(directory: String, tasks: [String], fail: (String, Int32) -> Never) -> Int32 {
        do {
            let results = try EngineBenchmark.run(directory: URL(fileURLWithPath: directory), tasks: tasks) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            print("{" + results.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
            return 0
        } catch { fail("\(error)", 1) }
    }
}
