#!/usr/bin/env python3
"""Golden encodings for a real SentencePiece tokenizer.model, as transformers converts it to a fast tokenizer.

    /work/venv-ref/bin/pip download --no-deps mistral-common==1.13.1 -d /tmp/mc
    (cd /tmp/mc && unzip -o mistral_common-1.13.1-py3-none-any.whl 'mistral_common/data/*')
    /work/venv-ref/bin/python tools/tokenizer/make_sentencepiece_fixtures.py /tmp/mc/mistral_common/data/tokenizer.model.v1

Copies Mistral's SentencePiece BPE model (shipped in the mistral-common wheel, Apache-2.0) to
Tests/Fixtures/tokenizer/sentencepiece/mistral-v1/tokenizer.model with a config.json (model_type mistral), loads
the directory with transformers' AutoTokenizer (LlamaTokenizer: the tokenizer.model is converted to a
`tokenizers` pipeline), and writes golden.jsonl for every string of families/corpus.jsonl: {"ids"} of
encode(add_special_tokens=False), "decoded" when decode(ids) differs from the text, "tokens" for the first 300.
"""
import json
import os
import shutil
import sys

from transformers import AutoTokenizer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "tokenizer")
OUT = os.path.join(FIXTURES, "sentencepiece", "mistral-v1")
TOKEN_CASES = 300


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    shutil.copyfile(sys.argv[1], os.path.join(OUT, "tokenizer.model"))
    with open(os.path.join(OUT, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"model_type": "mistral"}, handle, indent=1)
        handle.write("\n")
    # transformers needs the class name to convert; the Swift side reads only tokenizer.model and config.json.
    work = "/tmp/tlsh-sentencepiece-convert"
    os.makedirs(work, exist_ok=True)
    shutil.copyfile(sys.argv[1], os.path.join(work, "tokenizer.model"))
    with open(os.path.join(work, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump({"tokenizer_class": "LlamaTokenizer"}, handle)
    tokenizer = AutoTokenizer.from_pretrained(work)
    corpus = [json.loads(line) for line in open(os.path.join(FIXTURES, "families", "corpus.jsonl"), encoding="utf-8")]
    with open(os.path.join(OUT, "golden.jsonl"), "w", encoding="utf-8") as out:
        for index, text in enumerate(corpus):
            ids = tokenizer.encode(text, add_special_tokens=False)
            entry = {"ids": ids}
            decoded = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            if decoded != text:
                entry["decoded"] = decoded
            if index < TOKEN_CASES:
                entry["tokens"] = [tokenizer.decode([i], skip_special_tokens=False, clean_up_tokenization_spaces=False)
                                   for i in ids]
            out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(type(tokenizer).__name__, len(corpus), "strings")


if __name__ == "__main__":
    main()
