import Foundation

/// `tlsh tokenize [--bos] [--model NAME] [--bench FILE]`: the tokenizer as a command-line filter
/// (TLTools parses the options and loads the tokenizer).
///
/// Without `--bench`, reads text lines from standard input and prints one JSON array of ids per line
/// (`--bos` prepends BOS). With `--bench FILE`, encodes the file's contents 5 times and prints
/// `{"tokens": N, "seconds": s, "tokens_per_second": r}` for the median run.
public enum TokenizeCommand {
    /// Runs the command; returns the process exit status (0 ok, 1 unreadable file).
    public static func run(prependBOS: Bool, benchFile: String?, tokenizer: GPT2Tokenizer) -> Int32 {
        if let benchFile { return bench(path: benchFile, tokenizer: tokenizer) }
        while let line = readLine(strippingNewline: true) {
            let ids = tokenizer.toTokens(line, prependBOS: prependBOS).ids
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
        return 0
    }

    static func bench(path: String, tokenizer: GPT2Tokenizer) -> Int32 {
        guard let data = FileManager.default.contents(atPath: path) else {
            printError("cannot read \(path): no such file or not readable")
            return 1
        }
        let text = String(decoding: data, as: UTF8.self)
        let result = measure(text: text, tokenizer: tokenizer, runs: 5)
        print("{\"tokens\": \(result.tokens), \"seconds\": \(result.seconds), \"tokens_per_second\": \(result.tokensPerSecond)}")
        return 0
    }

    /// Encodes `text` `runs` times; the median wall time in seconds and its token rate.
    public static func measure(text: String, tokenizer: GPT2Tokenizer,
                               runs: Int) -> (tokens: Int, seconds: Double, tokensPerSecond: Double) {
        var times: [Double] = []
        var tokens = 0
        let clock = ContinuousClock()
        for _ in 0..<max(runs, 1) {
            let elapsed = clock.measure { tokens = tokenizer.encode(text).count }
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        let median = times.sorted()[times.count / 2]
        return (tokens, median, median > 0 ? Double(tokens) / median : 0)
    }

    private static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("tlsh tokenize: " + message + "\n").utf8))
    }
}
