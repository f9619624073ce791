"""The real GPT-2 tokenizer, built offline with tiktoken from the BPE ranks that the
`openai-whisper` sdist ships (whisper/assets/gpt2.tiktoken; rank == GPT-2 token id).

Get the ranks file once (PyPI only, no hub):
    pip download --no-deps --no-binary :all: openai-whisper==20250625 -d /tmp/whisper-dl
    tar xzf /tmp/whisper-dl/openai_whisper-20250625.tar.gz --wildcards '*/gpt2.tiktoken'
and point GPT2_TIKTOKEN at it (default: /tmp/trainer/gpt2.tiktoken).
"""
import base64
import os

import tiktoken

END_OF_TEXT = 50256
VOCAB_SIZE = 50257
# GPT-2's pre-tokenizer regex.
PAT_STR = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
DEFAULT_PATH = "/tmp/trainer/gpt2.tiktoken"


def load_gpt2_encoding(path=None):
    path = path or os.environ.get("GPT2_TIKTOKEN", DEFAULT_PATH)
    if not os.path.exists(path):
        raise SystemExit(f"GPT-2 ranks file not found at {path}; see the docstring of "
                         f"gpt2_tokenizer.py for how to get it, then set GPT2_TIKTOKEN.")
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                token_b64, rank = line.split()
                ranks[base64.b64decode(token_b64)] = int(rank)
    enc = tiktoken.Encoding(name="gpt2-offline", pat_str=PAT_STR, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": END_OF_TEXT})
    check = enc.encode("The capital of France is")
    assert check == [464, 3139, 286, 4881, 318], check
    assert enc.n_vocab == VOCAB_SIZE
    return enc
