#!/usr/bin/env python3
"""Reference outputs of TransformerLens's tokenization helpers for Tests/TLTokenizerTests.

    /work/venv-ref/bin/python tools/tokenizer/make_tl_reference.py

Needs Tests/Fixtures/tokenizer/gpt2-tokenizer.json (written by make_goldens.py). Builds a tiny randomly
initialised HookedTransformer (weights are irrelevant here) whose tokenizer is that GPT-2 tokenizer,
with n_ctx = 8 so truncation shows, and records what to_tokens, to_str_tokens, to_string,
to_single_token and get_token_position return. Offline; deterministic. Writes
Tests/Fixtures/tokenizer/transformer_lens.json.
"""
import json
import os
import tempfile
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
warnings.filterwarnings("ignore")

from tokenizers import Tokenizer  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402
from transformer_lens import HookedTransformer, HookedTransformerConfig  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "tokenizer")
N_CTX = 8

PROMPTS = ["The capital of France is", "one two three four five six seven eight nine ten",
           "When Mary and John went to the store, John gave a drink to", "The capital of France is \U0001f1eb\U0001f1f7",
           "caf\u00e9 \u4eca\u65e5\u306f", "<|endoftext|>Hello<|endoftext|>", "", " ", "a\n\nb"]
SINGLE = [" Paris", "Paris", " the", "<|endoftext|>", "\n", " Parisian", "hello world", "", "\U0001f1eb"]
BATCHES = [["The capital of France is", "Hi"], ["a", "one two three four five", "caf\u00e9"], ["x", "y"]]
POSITIONS = [(" the", "the cat and the dog and the end"), (" John", "When Mary and John went to the store, John gave"),
             ("The", "The capital of France is"), (",", "a, b, c, d")]


def build_model():
    tokenizer = Tokenizer.from_file(os.path.join(FIXTURES, "gpt2-tokenizer.json"))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<|endoftext|>",
                                   eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    directory = tempfile.mkdtemp()
    fast.save_pretrained(directory)
    fast = PreTrainedTokenizerFast.from_pretrained(directory)
    cfg = HookedTransformerConfig(n_layers=1, d_model=4, d_head=2, n_heads=2, d_mlp=4, n_ctx=N_CTX, d_vocab=50257,
                                  act_fn="relu", normalization_type=None, seed=0)
    return HookedTransformer(cfg, tokenizer=fast)


def main():
    model = build_model()
    reference = {"n_ctx": N_CTX, "to_tokens": [], "to_str_tokens": [], "to_string": [], "to_single_token": [],
                 "get_token_position": [], "to_tokens_batch": []}
    for prompt in PROMPTS:
        for prepend_bos in (True, False):
            if prompt == "" and not prepend_bos:
                continue  # TransformerLens cannot build an empty batch
            untruncated = model.to_tokens(prompt, prepend_bos=prepend_bos, truncate=False)[0].tolist()
            truncated = model.to_tokens(prompt, prepend_bos=prepend_bos)[0].tolist()
            reference["to_tokens"].append({"text": prompt, "prepend_bos": prepend_bos, "ids": truncated,
                                           "untruncated_ids": untruncated})
            reference["to_str_tokens"].append({"text": prompt, "prepend_bos": prepend_bos,
                                               "str_tokens": model.to_str_tokens(prompt, prepend_bos=prepend_bos)})
            reference["to_string"].append({"ids": untruncated, "text": model.to_string(untruncated)})
    for text in SINGLE:
        try:
            reference["to_single_token"].append({"text": text, "id": model.to_single_token(text)})
        except (AssertionError, IndexError, RuntimeError):
            pieces = model.to_str_tokens(text, prepend_bos=False) if text else []
            reference["to_single_token"].append({"text": text, "id": None, "pieces": pieces})
    for single, prompt in POSITIONS:
        for mode in ("first", "last"):
            for prepend_bos in (True, False):
                position = model.get_token_position(single, prompt, mode=mode, prepend_bos=prepend_bos)
                reference["get_token_position"].append({"single": single, "text": prompt, "mode": mode,
                                                        "prepend_bos": prepend_bos, "position": int(position)})
    from transformer_lens.utils import get_attention_mask
    for batch in BATCHES:
        for side in ("right", "left"):
            for prepend_bos in (True, False):
                tokens = model.to_tokens(batch, prepend_bos=prepend_bos, padding_side=side, truncate=False)
                # get_attention_mask reads the tokenizer's own padding_side (to_tokens overrides it only
                # while it runs), so set it the same way here.
                model.tokenizer.padding_side = side
                mask = get_attention_mask(model.tokenizer, tokens, prepend_bos)
                model.tokenizer.padding_side = "right"
                reference["to_tokens_batch"].append({"texts": batch, "padding_side": side, "prepend_bos": prepend_bos,
                                                     "ids": tokens.tolist(), "attention_mask": mask.int().tolist()})
    with open(os.path.join(FIXTURES, "transformer_lens.json"), "w", encoding="utf-8") as handle:
        json.dump(reference, handle, ensure_ascii=True, indent=1)
        handle.write("\n")
    print(f"wrote {os.path.join(FIXTURES, 'transformer_lens.json')}")


if __name__ == "__main__":
    main()
