#!/usr/bin/env bash
# Coverage-guided fuzzing of the tokenizer.json reader with libFuzzer (swiftc -sanitize=fuzzer,address).
# Usage: tools/fuzz/libfuzzer.sh [seconds]   (default 60; corpus kept in tools/fuzz/corpus/tokenizer-json)
# Crashing inputs are written by libFuzzer as crash-<sha1> in the current directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-60}"
build="${TMPDIR:-/tmp}/tlsh-libfuzzer"
mkdir -p "$build" "$root/tools/fuzz/corpus/tokenizer-json"
swiftc -sanitize=fuzzer,address -parse-as-library -module-name TLTokenizerFuzz -Onone -g \
    "$root"/Sources/TLTokenizer/*.swift "$root/tools/fuzz/libfuzzer/TokenizerJSONTarget.swift" \
    -o "$build/tokenizer-json-fuzzer"
"$build/tokenizer-json-fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    "$root/tools/fuzz/corpus/tokenizer-json" "$root/tools/fuzz/seeds/tokenizer-json"
