// libFuzzer entry point for the tokenizer.json reader, compiled together with Sources/TLTokenizer into one
// module by tools/fuzz/libfuzzer.sh (coverage-guided, complementing the seeded harness in TLFuzzTests).
// Inputs that load as a tokenizer are also encoded and decoded.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func tokenizerJSONTarget(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let tokenizer = try? GPT2Tokenizer(tokenizerJSON: data) else { return 0 }
    for probe in ["", "the thing", " héllo\n\n 's", "<|endoftext|>ab"] {
        let ids = tokenizer.encode(probe)
        precondition(ids.allSatisfy { $0 >= 0 && $0 < tokenizer.vocabSize }, "id out of range")
        _ = tokenizer.decode(ids + [-1, Int.max, tokenizer.vocabSize])
    }
    return 0
}
