#!/usr/bin/env python3
"""Build tokenizer.json files with each model family's exact pipeline, and golden encodings from `tokenizers`.

    /work/venv-ref/bin/python tools/tokenizer/make_family_fixtures.py

Real Llama-3 / Qwen2 / Pythia / Gemma / Llama-2 tokenizer files cannot be downloaded here, so for each family
this script copies the published component configuration (normalizer, pre-tokenizer, model options, decoder,
post-processor, added-token flags) and trains a small BPE vocabulary with `tokenizers` on a deterministic
corpus (the prose/code/script generators of make_goldens.py). The pipelines are what the Swift side must
reproduce; the vocabularies only need to be realistic enough to exercise merges, byte fallback and unk.

Writes, deterministically, under Tests/Fixtures/tokenizer/families/:

  corpus.jsonl                one test string per line (JSON string), shared by every family
  <family>/tokenizer.json     the tokenizer
  <family>/tokenizer_config.json, config.json   bos/eos names and model_type, as the hub repos have them
  variants.json               other component settings (each Split behaviour, Digits, invert, prefix space,
                              NFKC/NFD/Lowercase, Metaspace schemes) spliced into a family's file, with ids and
                              decoded text (when not the input) for the first VARIANT_CASES corpus strings
  <family>/golden.jsonl       per corpus line: {"ids": [...]} (encode, add_special_tokens=False), plus
                              "decoded" when decode(ids, skip_special_tokens=False) differs from the text,
                              and "tokens" (each id decoded alone) for the first TOKEN_CASES lines
"""
import json
import os
import random
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(__file__))
import make_goldens  # noqa: E402  (the shared string generators)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "Tests", "Fixtures", "tokenizer", "families")
VOCAB_SIZE = 3000
TOKEN_CASES = 300
FIXED_CASES = 400  # make_goldens' hand-written strings come first in its corpus
CORPUS_SIZE = 4800  # plus 300 family strings: 5,100 per family
VARIANT_CASES = 300
SEED = 18

# Published pre-tokenizer patterns (Meta-Llama-3 and Qwen2 tokenizer.json).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


def training_text():
    rng = random.Random(SEED)
    lines = make_goldens.PROSE + make_goldens.CODE + make_goldens.SCRIPTS * 20
    lines += [make_goldens.prose_sentence(rng) for _ in range(6000)]
    lines += [make_goldens.mixed(rng) for _ in range(1500)]
    return lines


def common_scalars_only(lines, minimum=40):
    """The lines without scalars seen fewer than `minimum` times, so that rare ones need byte fallback.
    (The trainer's limit_alphabet would do this too, but breaks ties between equal counts at random.)"""
    counts = {}
    for line in lines:
        for scalar in line:
            counts[scalar] = counts.get(scalar, 0) + 1
    return ["".join(c for c in line if counts[c] >= minimum) for line in lines]


def special(content, normalized=False, special=True, lstrip=False, rstrip=False, single_word=False):
    return AddedToken(content, special=special, normalized=normalized, lstrip=lstrip, rstrip=rstrip,
                      single_word=single_word)


def byte_level_family(pre_tokenizer, normalizer, leading_specials, trailing_specials, ignore_merges,
                      post_processor, extra_added=()):
    tokenizer = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=leading_specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(training_text(), trainer)
    tokenizer.add_special_tokens([special(t) for t in trailing_specials])
    if extra_added:
        tokenizer.add_tokens(list(extra_added))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = post_processor
    return tokenizer


def sentencepiece_family(specials, normalizer, pre_tokenizer, decoder, post_processor, added=()):
    """SentencePiece-style BPE: ▁ for spaces, byte fallback to <0xNN>, unk fused; specials first, then bytes."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tokenizer.normalizer = normalizers.Replace(" ", "\u2581")
    # Train on ▁-separated words (as SentencePiece does), then install the family's real pipeline.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials + BYTE_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(common_scalars_only(training_text()), trainer)
    root = json.loads(tokenizer.to_str())
    # Byte tokens are ordinary vocabulary entries in Llama/Gemma files, not added tokens.
    root["added_tokens"] = [t for t in root["added_tokens"] if t["content"] not in BYTE_TOKENS]
    tokenizer = Tokenizer.from_str(json.dumps(root))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoder
    tokenizer.post_processor = post_processor
    if added:
        tokenizer.add_tokens(list(added))
    return tokenizer


def template(bos):
    return processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, 2)])


def build_families():
    llama2_decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                        decoders.Strip(" ", 1, 0)])
    families = {}
    # Meta-Llama-3: Split(regex, Isolated) then ByteLevel without regex; ignore_merges; specials at the end.
    families["llama3"] = (byte_level_family(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "isolated", invert=False),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)]),
        None, [], ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], True,
        processors.Sequence([processors.ByteLevel(trim_offsets=False),
                             processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                           pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                           special_tokens=[("<|begin_of_text|>", VOCAB_SIZE)])])),
        {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}, {"model_type": "llama"})
    # Qwen2: NFC, Split(regex with single digits), ByteLevel without regex; no bos_token.
    families["qwen2"] = (byte_level_family(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), "isolated", invert=False),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)]),
        normalizers.NFC(), [], ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], False,
        processors.ByteLevel(trim_offsets=False)),
        {"bos_token": None, "eos_token": "<|endoftext|>"}, {"model_type": "qwen2"})
    # GPT-NeoX / Pythia: NFC, ByteLevel with GPT-2's regex; space runs are non-special normalized added tokens.
    families["pythia"] = (byte_level_family(
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True), normalizers.NFC(),
        ["<|endoftext|>", "<|padding|>"], [], False, processors.ByteLevel(trim_offsets=True),
        extra_added=[special(" " * n, normalized=True, special=False) for n in range(24, 1, -1)]),
        {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}, {"model_type": "gpt_neox"})
    # Llama-2 / Mistral (legacy conversion): Prepend ▁ + Replace normalizer, no pre-tokenizer, byte fallback.
    families["llama2"] = (sentencepiece_family(
        ["<unk>", "<s>", "</s>"],
        normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]),
        None, llama2_decoder, template("<s>")),
        {"bos_token": "<s>", "eos_token": "</s>"}, {"model_type": "llama"})
    # Llama-2 as transformers converts it with legacy=False: Metaspace(prepend_scheme=first, split=False).
    families["llama2-metaspace"] = (sentencepiece_family(
        ["<unk>", "<s>", "</s>"], None,
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False),
        decoders.Sequence([decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False),
                           decoders.ByteFallback(), decoders.Fuse()]), template("<s>"),
        added=[special("<sep>", lstrip=True, rstrip=True), special("[word]", single_word=True, special=False)]),
        {"bos_token": "<s>", "eos_token": "</s>"}, {"model_type": "mistral"})
    # Gemma: Replace normalizer, Split(" ", merged_with_previous), byte fallback; chat-turn specials.
    families["gemma"] = (sentencepiece_family(
        ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"],
        normalizers.Replace(" ", "\u2581"), pre_tokenizers.Split(" ", "merged_with_previous"),
        decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]),
        template("<bos>")),
        {"bos_token": "<bos>", "eos_token": "<eos>"}, {"model_type": "gemma"})
    return families


def family_strings(rng, specials):
    """Strings with the family's special tokens inside text, and rare scalars that need byte fallback."""
    texts = []
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 6)):
            parts.append(rng.choice(specials + ["\U0001f9ec", "\u2f00", "\U00020000", "ab", " ", "\n", "x y"]))
            parts.append(rng.choice(["", " ", "  ", "\n", "Hello", " world", "\u00e9", "123"]))
        texts.append("".join(parts))
    return texts


def variants():
    """(name, base family, component key, component) for settings the families themselves do not use."""
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    split_space = [("split_removed", "removed", False), ("split_merged_with_previous", "merged_with_previous", False),
                   ("split_merged_with_next", "merged_with_next", False), ("split_contiguous", "contiguous", False),
                   ("split_isolated_inverted", "isolated", True), ("split_removed_inverted", "removed", True)]
    result = [(name, "pythia", "pre_tokenizer",
               pre_tokenizers.Sequence([pre_tokenizers.Split(" ", behavior, invert=invert), byte_level]))
              for name, behavior, invert in split_space]
    result += [
        ("digits_individual", "pythia", "pre_tokenizer",
         pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])),
        ("digits_contiguous", "pythia", "pre_tokenizer",
         pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False), byte_level])),
        ("llama3_regex_merged_with_next", "llama3", "pre_tokenizer",
         pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "merged_with_next"), byte_level])),
        ("byte_level_prefix_space", "pythia", "pre_tokenizer", pre_tokenizers.ByteLevel(add_prefix_space=True)),
        ("nfkc_lowercase", "pythia", "normalizer", normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])),
        ("nfd", "qwen2", "normalizer", normalizers.NFD()),
        ("nfkd", "qwen2", "normalizer", normalizers.NFKD()),
        ("metaspace_always_split", "gemma", "pre_tokenizer",
         pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)),
        ("metaspace_never_split", "gemma", "pre_tokenizer",
         pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=True)),
        ("no_fuse_unk", "llama2", "model", None),
    ]
    return result


def write_variants(corpus):
    cases_texts = corpus[:VARIANT_CASES]
    entries = []
    for name, base, key, component in variants():
        root = json.loads(Tokenizer.from_file(os.path.join(OUT, base, "tokenizer.json")).to_str())
        if key == "model":  # unknown tokens instead of byte fallback, not fused
            root["model"]["byte_fallback"] = False
            root["model"]["fuse_unk"] = False
            override = {"byte_fallback": False, "fuse_unk": False}
        else:
            override = json.loads(component.__getstate__())
            root[key] = override
        tokenizer = Tokenizer.from_str(json.dumps(root))
        cases = []
        for text in cases_texts:
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            case = {"ids": ids}
            decoded = tokenizer.decode(ids, skip_special_tokens=False)
            if decoded != text:
                case["decoded"] = decoded
            cases.append(case)
        entries.append({"name": name, "base": base, "key": key, "component": override, "cases": cases})
    with open(os.path.join(OUT, "variants.json"), "w", encoding="utf-8") as handle:
        json.dump(entries, handle, ensure_ascii=False, separators=(",", ":"))
        handle.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(SEED)
    corpus = make_goldens.build_corpus()
    # A fixed sample keeps the fixtures small: the hand-written cases first, then generated ones of every kind.
    chosen = sorted(rng.sample(range(FIXED_CASES, len(corpus)), CORPUS_SIZE - FIXED_CASES))
    corpus = corpus[:FIXED_CASES] + [corpus[i] for i in chosen]
    families = build_families()
    all_specials = sorted({t.content for f in families.values() for t in f[0].get_added_tokens_decoder().values()})
    corpus += family_strings(rng, all_specials)
    with open(os.path.join(OUT, "corpus.jsonl"), "w", encoding="utf-8") as handle:
        for text in corpus:
            handle.write(json.dumps(text, ensure_ascii=False) + "\n")
    for name, (tokenizer, special_names, config) in families.items():
        directory = os.path.join(OUT, name)
        os.makedirs(directory, exist_ok=True)
        tokenizer.save(os.path.join(directory, "tokenizer.json"), pretty=False)
        tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))  # what the Swift side reads
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
            json.dump(special_names, handle, indent=1)
            handle.write("\n")
        with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=1)
            handle.write("\n")
        with open(os.path.join(directory, "golden.jsonl"), "w", encoding="utf-8") as out:
            for index, text in enumerate(corpus):
                ids = tokenizer.encode(text, add_special_tokens=False).ids
                entry = {"ids": ids}
                decoded = tokenizer.decode(ids, skip_special_tokens=False)
                if decoded != text:
                    entry["decoded"] = decoded
                if index < TOKEN_CASES:
                    entry["tokens"] = [tokenizer.decode([i], skip_special_tokens=False) for i in ids]
                if index == 1:
                    entry["with_special_tokens"] = tokenizer.encode(text, add_special_tokens=True).ids
                out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        print(name, tokenizer.get_vocab_size(), "tokens")
    write_variants(corpus)


if __name__ == "__main__":
    main()
