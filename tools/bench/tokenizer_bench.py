#!/usr/bin/env python3
"""Tokenizer speed: tiktoken vs Hugging Face `tokenizers` vs tlsh, single-threaded.

    /work/venv-ref/bin/python tools/bench/tokenizer_bench.py \
        --tiktoken /tmp/whisper/openai_whisper-20250625/whisper/assets/gpt2.tiktoken \
        [--tlsh .build/release/tlsh] [--text /tmp/tlsh-tokenizer-bench.txt] [--megabytes 1]
    /work/venv-ref/bin/python tools/bench/tokenizer_bench.py --families --tlsh .build/release/tlsh

The first form compares the three on GPT-2's vocabulary. `--families` compares HF `tokenizers` and tlsh on
every tokenizer directory (GPT-2's vocab.json + merges.txt and each family fixture of
Tests/Fixtures/tokenizer/families), on ~1 MB of English and ~1 MB of mixed-script text
(`tlsh tokenize --model DIR --bench FILE`); both must give the same token count. For the directory whose only
tokenizer file is a SentencePiece tokenizer.model, `tlsh tokenize` encodes as SentencePiece itself does, so the
reference there is `sentencepiece`'s own `encode` (which is single-threaded). `--only SUBSTRING` keeps the
directories whose name contains it.

Writes a deterministic ~1 MB English-like text (seeded prose built from make_goldens.py's material),
encodes it 5 times with each tokenizer in one thread and reports the median. The Swift side runs as
`TLSH tokenize --bench FILE` (same 5-run median, measured inside the process, so start-up and vocabulary
loading are excluded for all three). All three must produce the same number of tokens.
Not a test: timings depend on the machine; docs/TOKENIZER.md records a run.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"          # HF tokenizers: one thread
os.environ["TOKENIZERS_PARALLELISM"] = "false"

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tokenizer"))
import make_goldens  # noqa: E402  (corpus material, tiktoken/HF constructors)

SEED = 1234
RUNS = 5


def english_text(megabytes):
    rng = random.Random(SEED)
    paragraphs, size = [], 0
    while size < megabytes * 1_000_000:
        sentences = []
        for _ in range(rng.randint(3, 8)):
            if rng.random() < 0.3:
                sentences.append(rng.choice(make_goldens.PROSE))
            else:
                sentences.append(make_goldens.prose_sentence(rng).rstrip("\n"))
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
    return "\n\n".join(paragraphs)


def mixed_text(megabytes):
    """Code, numbers, emoji, CJK, Arabic, Devanagari... in lines, from make_goldens' generators."""
    rng = random.Random(SEED + 1)
    pieces, size = [], 0
    generators = [make_goldens.mixed, make_goldens.whitespace_run, make_goldens.random_unicode,
                  lambda r: " ".join(r.choice(make_goldens.SCRIPTS) for _ in range(r.randint(1, 6))),
                  lambda r: r.choice(make_goldens.CODE), make_goldens.prose_sentence]
    while size < megabytes * 1_000_000:
        piece = rng.choice(generators)(rng)
        pieces.append(piece)
        size += len(piece.encode("utf-8")) + 1
    return "\n".join(pieces)


def median_time(encode, text):
    times, count = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        count = len(encode(text))
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"tokens": count, "seconds": seconds, "tokens_per_second": count / seconds}


class SentencePieceNative:
    """`sentencepiece.SentencePieceProcessor.encode`, what `tlsh tokenize` matches for a lone tokenizer.model."""

    def __init__(self, directory):
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_file=os.path.join(directory, "tokenizer.model"))

    def encode(self, text, add_special_tokens=False):
        class Encoding:
            pass
        encoding = Encoding()
        encoding.ids = self.processor.encode(text)
        return encoding


def families(args):
    from tokenizers import Tokenizer

    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    family_root = os.path.join(repo, "Tests", "Fixtures", "tokenizer", "families")
    directories = [("gpt2 (vocab.json+merges.txt)", make_goldens.MODEL_DIR)]
    directories += [(name, os.path.join(family_root, name)) for name in sorted(os.listdir(family_root))
                    if os.path.isdir(os.path.join(family_root, name))]
    directories.append(("mistral-v1 (tokenizer.model)",
                        os.path.join(repo, "Tests", "Fixtures", "tokenizer", "sentencepiece", "mistral-v1")))
    directories = [(name, directory) for name, directory in directories if args.only in name]
    texts = {"english": english_text(args.megabytes), "mixed": mixed_text(args.megabytes)}
    paths = {}
    for kind, text in texts.items():
        paths[kind] = f"{args.text}.{kind}"
        with open(paths[kind], "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        print(f"{kind} text: {paths[kind]}, {len(text.encode('utf-8'))} bytes")
    print(f"{'tokenizer':<30}{'text':<9}{'tokens':>9}{'ref tokens/s':>14}{'tlsh tokens/s':>15}{'ratio':>8}")
    for name, directory in directories:
        if os.path.exists(os.path.join(directory, "tokenizer.json")):
            tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        elif os.path.exists(os.path.join(directory, "tokenizer.model")):
            tokenizer = SentencePieceNative(directory)
        else:
            tokenizer = make_goldens.hf_tokenizer()
        for kind, text in texts.items():
            hf = median_time(lambda t: tokenizer.encode(t, add_special_tokens=False).ids, text)
            output = subprocess.run([args.tlsh, "tokenize", "--model", directory, "--bench", paths[kind]], check=True,
                                    capture_output=True, text=True).stdout
            ours = json.loads(output.strip().splitlines()[-1])
            if ours["tokens"] != hf["tokens"]:
                sys.exit(f"{name} {kind}: token counts differ: HF {hf['tokens']}, tlsh {ours['tokens']}")
            ratio = ours["tokens_per_second"] / hf["tokens_per_second"]
            print(f"{name:<30}{kind:<9}{hf['tokens']:>9}{hf['tokens_per_second']:>14,.0f}"
                  f"{ours['tokens_per_second']:>15,.0f}{ratio:>7.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiktoken", help="path of whisper's gpt2.tiktoken")
    parser.add_argument("--families", action="store_true", help="HF tokenizers vs tlsh for every family")
    parser.add_argument("--tlsh", help="tlsh executable (runs `tlsh tokenize --bench FILE`)")
    parser.add_argument("--text", default="/tmp/tlsh-tokenizer-bench.txt", help="where to write the text")
    parser.add_argument("--megabytes", type=float, default=1.0)
    parser.add_argument("--only", default="", help="with --families: only directories whose name contains this")
    args = parser.parse_args()
    if args.families:
        if not args.tlsh:
            sys.exit("--families needs --tlsh")
        families(args)
        return
    if not args.tiktoken:
        sys.exit("--tiktoken is required (or use --families)")

    text = english_text(args.megabytes)
    with open(args.text, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    print(f"text: {args.text}, {len(text.encode('utf-8'))} bytes")

    encoding = make_goldens.tiktoken_encoding(args.tiktoken)
    tokenizer = make_goldens.hf_tokenizer()
    results = {
        "tiktoken": median_time(lambda t: encoding.encode(t, allowed_special="all"), text),
        "hf_tokenizers": median_time(lambda t: tokenizer.encode(t, add_special_tokens=False).ids, text),
    }
    if args.tlsh:
        output = subprocess.run([args.tlsh, "tokenize", "--bench", args.text], check=True,
                                capture_output=True, text=True).stdout
        results["tlsh"] = json.loads(output.strip().splitlines()[-1])

    counts = {name: result["tokens"] for name, result in results.items()}
    if len(set(counts.values())) != 1:
        sys.exit(f"token counts differ: {counts}")
    print(f"{'tokenizer':<15}{'tokens':>10}{'seconds':>10}{'tokens/s':>14}")
    for name, result in results.items():
        print(f"{name:<15}{result['tokens']:>10}{result['seconds']:>10.4f}{result['tokens_per_second']:>14,.0f}")


if __name__ == "__main__":
    main()
