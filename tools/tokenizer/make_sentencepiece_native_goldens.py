#!/usr/bin/env python3
"""Golden encodings of SentencePiece's own `encode` for the committed Mistral tokenizer.model.

    /work/venv-ref/bin/python tools/tokenizer/make_sentencepiece_native_goldens.py

`tlsh tokenize --model DIR` on a directory whose only tokenizer file is tokenizer.model must print what
`sentencepiece.SentencePieceProcessor(model_file=...).encode(line)` gives (no BOS/EOS). That differs from
transformers' converted fast tokenizer (make_sentencepiece_fixtures.py): SentencePiece merges by piece score
(Mistral's whitespace-run pieces score -1e9, so they merge last), keeps `<s>` in the text as plain text, and
normalizes by the model's normalizer_spec. Writes under Tests/Fixtures/tokenizer/sentencepiece/:

  mistral-v1/golden_native.jsonl   {"ids": [...]} per families/corpus.jsonl string (5,100)
  mistral-v1-variant/tokenizer.model + config.json   the same model with other normalizer_spec settings
      (remove_extra_whitespaces on, add_dummy_prefix off) and piece types changed (a few pieces made
      USER_DEFINED, which match as a unit, and UNUSED, which BPE re-splits), so those code paths are checked
  mistral-v1-variant/golden_native.jsonl   {"ids": [...]} for the first VARIANT_CASES corpus strings plus
      strings that exercise the changed pieces
Deterministic: the same input gives byte-identical outputs.
"""
import json
import os

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "tokenizer")
MISTRAL = os.path.join(FIXTURES, "sentencepiece", "mistral-v1")
VARIANT = os.path.join(FIXTURES, "sentencepiece", "mistral-v1-variant")
VARIANT_CASES = 1500
USER_DEFINED = ["ing", "▁the", "<s>"]  # "<s>" is a control piece in the original; made user-defined here
UNUSED = ["▁and", "tion"]
VARIANT_EXTRA = [
    "", " ", "   ", "  leading and   inner   and trailing  ", "\tTab first", "the thing is singing",
    "<s>inside</s> text <s>", "nation station action", "and ▁and ▁▁and", "ingingING ing", "a\u3000 b  \n  c",
]


def write_goldens(path, processor, texts):
    with open(path, "w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps({"ids": processor.encode(text)}, separators=(",", ":")) + "\n")


def main():
    corpus = [json.loads(line) for line in open(os.path.join(FIXTURES, "families", "corpus.jsonl"), encoding="utf-8")]
    model_path = os.path.join(MISTRAL, "tokenizer.model")
    write_goldens(os.path.join(MISTRAL, "golden_native.jsonl"), spm.SentencePieceProcessor(model_file=model_path), corpus)

    proto = model_pb2.ModelProto()
    with open(model_path, "rb") as handle:
        proto.ParseFromString(handle.read())
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.add_dummy_prefix = False
    for piece in proto.pieces:
        if piece.piece in USER_DEFINED:
            piece.type = model_pb2.ModelProto.SentencePiece.USER_DEFINED
        elif piece.piece in UNUSED:
            piece.type = model_pb2.ModelProto.SentencePiece.UNUSED
    os.makedirs(VARIANT, exist_ok=True)
    variant_path = os.path.join(VARIANT, "tokenizer.model")
    with open(variant_path, "wb") as handle:
        handle.write(proto.SerializeToString(deterministic=True))
    with open(os.path.join(VARIANT, "config.json"), "w", encoding="utf-8") as handle:
        json.dump({"model_type": "mistral"}, handle, indent=1)
        handle.write("\n")
    texts = corpus[:VARIANT_CASES] + VARIANT_EXTRA
    write_goldens(os.path.join(VARIANT, "golden_native.jsonl"), spm.SentencePieceProcessor(model_file=variant_path), texts)
    with open(os.path.join(VARIANT, "corpus.jsonl"), "w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps(text, ensure_ascii=False) + "\n")
    print(len(corpus), "Mistral strings,", len(texts), "variant strings")


if __name__ == "__main__":
    main()
