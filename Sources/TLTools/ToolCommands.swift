// The executable's subcommands that are tools rather than the language: `tlsh tokenize` (ids of text
// for any family's tokenizer), `tlsh bench` (engine timings for tools/bench) and `tlsh bench-plot`
// (BenchPlot.swift). They live in their own target so that the executable reaches the engine only
// through TLLang (the language) and here.
import Foundation
import TLCore
import TLHub
import TLInterp
import TLTensor
import TLTokenizer

public enum ToolCommands {
    /// `tlsh tokenize`'s options, declared once for parsing, `--help` and usage errors.
    public static let tokenizeOptions = CommandLineOptions(command: "tlsh tokenize", options: [
        .flag("--bos", help: "prepend the model's BOS token to each line"),
        .valued("--model", "NAME", help: "a hub name or a local directory (default: the embedded model)"),
        .valued("--bench", "FILE", help: "encode FILE 5 times and print the median speed as JSON"),
    ])

    /// `tlsh backend setup nnsight`'s options.
    public static let backendSetupOptions = CommandLineOptions(command: "tlsh backend setup nnsight", options: [
        .valued("--python", "PYTHON3", help: "the Python 3 that creates the virtual environment (default python3)"),
    ])

    /// `tlsh backend setup nnsight [--python PYTHON3]`: creates (once) the virtual environment the
    /// nnsight worker runs in and says where it is.
    public static func backend(arguments: [String], environment: [String: String], fail: (String, Int32) -> Never) -> Int32 {
        guard arguments.count >= 2, arguments[0] == "setup", arguments[1] == "nnsight" else {
            fail(backendSetupOptions.usageLine, 2)
        }
        let parsed: CommandLineOptions.Parsed
        do { parsed = try backendSetupOptions.parse(Array(arguments.dropFirst(2))) } catch { fail(error.description, 2) }
        if parsed.helpRequested { print(backendSetupOptions.help); return 0 }
        let base = parsed.value("--python") ?? "python3"
        let env = NNsightEnvironment(environment: environment)
        do {
            let summary = try env.setup(basePython: base) { print($0) }
            print(summary)
            // Prove it: start the worker once and show what it runs.
            let worker = try env.startWorker()
            let h = worker.hello
            print("worker: nnsight \(h["nnsight"]?.string ?? "?"), torch \(h["torch"]?.string ?? "?"), transformers \(h["transformers"]?.string ?? "?"), Python \(h["python"]?.string ?? "?")")
            worker.shutdown()
            print("in a session: backend nnsight (this machine) or backend ndif (NDIF, with NDIF_API_KEY set)")
            return 0
        } catch {
            fail("\(error)", 1)
        }
    }

    /// `tlsh tokenize [--bos] [--model NAME] [--bench FILE]`: returns the exit status, writing errors
    /// through `fail`.
    public static func tokenize(arguments: [String], environment: [String: String], fail: (String, Int32) -> Never) -> Int32 {
        let parsed: CommandLineOptions.Parsed
        do { parsed = try tokenizeOptions.parse(arguments) } catch { fail(error.description, 2) }
        if parsed.helpRequested { print(tokenizeOptions.help); return 0 }
        let modelName = parsed.value("--model")
        do {
            // A local directory needs only tokenizer files (and config.json), not weights.
            var isDirectory: ObjCBool = false
            let directory: URL
            if let modelName, FileManager.default.fileExists(atPath: modelName, isDirectory: &isDirectory), isDirectory.boolValue {
                directory = URL(fileURLWithPath: modelName)
            } else {
                directory = try Hub(environment: environment).resolve(try ModelSource.parse(modelName)).directory
            }
            // A lone tokenizer.model encodes as SentencePiece itself does (docs/TOKENIZER.md says why).
            let tokenizer = try Tokenizer.load(directory: directory, sentencePieceNative: true)
            return TokenizeCommand.run(prependBOS: parsed.has("--bos"), benchFile: parsed.value("--bench"), tokenizer: tokenizer)
        } catch { fail("\(error)", 1) }
    }

    /// The tasks `tlsh bench` runs when none are named.
    public static let benchTasks = ["load", "forward11", "cache11", "forward1024", "cache1024", "patch", "generate40"]

    /// `tlsh bench MODEL_DIR [TASKS]`: prints the timings as one JSON object. TLSH_BENCH_REPEATS
    /// overrides the repeat count; TLSH_BENCH_OUT names a directory where the patch grid and the
    /// generated tokens are written as JSON for the harness to compare; TLSH_BENCH_DTYPE=bf16|f16
    /// loads the block matrices in that precision (`model … dtype=`); TLSH_BENCH_SAE names the SAE
    /// directory of the sae_encode1024, sae_features1024 and sae_spliced1024 tasks.
    public static func bench(directory: String, tasks: [String], environment: [String: String],
                             fail: (String, Int32) -> Never) -> Int32 {
        do {
            let dtype = try environment["TLSH_BENCH_DTYPE"].map { name in
                guard let d = WeightDType(rawValue: name) else {
                    throw ToolError("TLSH_BENCH_DTYPE=\(name) is not one of \(WeightDType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return d
            } ?? .f32
            let results = try EngineBenchmark.run(
                directory: URL(fileURLWithPath: directory), tasks: tasks,
                repeats: environment["TLSH_BENCH_REPEATS"].flatMap(Int.init) ?? 5,
                outputDirectory: environment["TLSH_BENCH_OUT"].map { URL(fileURLWithPath: $0) }, dtype: dtype,
                saeDirectory: environment["TLSH_BENCH_SAE"].map { URL(fileURLWithPath: $0) }) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            print("{" + results.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
            return 0
        } catch { fail("\(error)", 1) }
    }
}

/// A tool subcommand's refusal, printed as it is.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
