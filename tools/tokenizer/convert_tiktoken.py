#!/usr/bin/env python3
"""Convert OpenAI's `gpt2.tiktoken` rank file into Hugging Face `vocab.json` + `merges.txt`.

Input: the `whisper/assets/gpt2.tiktoken` file from the openai-whisper sdist on PyPI
(one line per token: base64 of the token's bytes, a space, its rank; rank == GPT-2 id).

    pip download --no-deps --no-binary :all: openai-whisper==20250625 -d /tmp/whisper
    tar xzf /tmp/whisper/openai_whisper-20250625.tar.gz -C /tmp/whisper
    python tools/tokenizer/convert_tiktoken.py \
        /tmp/whisper/openai_whisper-20250625/whisper/assets/gpt2.tiktoken \
        Sources/TLHub/Resources/DefaultModel

Output:
  vocab.json  token string -> id, token bytes spelled through GPT-2's byte-to-unicode table,
              50257 entries (the 50256 ranked tokens plus <|endoftext|> = 50256).
  merges.txt  "#version: 0.2" then one "left right" line per multi-byte token in rank order.
              A token's merge is recovered by running BPE over its bytes with only lower-ranked
              tokens allowed: the two parts left at the end are what the last merge joined.
Only the standard library is used, so the conversion is reproducible anywhere.
"""
import base64
import json
import os
import sys

END_OF_TEXT = "<|endoftext|>"
END_OF_TEXT_ID = 50256


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table.

    Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD)
    map, in byte order, to U+0100 upward, so every token is a printable string without spaces.
    """
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table = {}
    extra = 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def load_ranks(path):
    ranks = {}
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            token_b64, rank_text = line.split()
            token = base64.b64decode(token_b64)
            ranks[token] = int(rank_text)
    if sorted(ranks.values()) != list(range(len(ranks))):
        sys.exit(f"{path}: ranks are not a dense 0..{len(ranks) - 1} range")
    return ranks


def final_merge(token, rank, ranks):
    """Run byte-level BPE over `token` using only ranks below `rank`; return the last two parts."""
    parts = [bytes([b]) for b in token]
    while True:
        best_index, best_rank = None, None
        for i in range(len(parts) - 1):
            candidate = ranks.get(parts[i] + parts[i + 1])
            if candidate is not None and candidate < rank and (best_rank is None or candidate < best_rank):
                best_index, best_rank = i, candidate
        if best_index is None:
            break
        parts[best_index:best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    if len(parts) != 2:
        sys.exit(f"token rank {rank} ({token!r}) does not reduce to two parts: {parts!r}")
    return parts[0], parts[1]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tiktoken_path, output_dir = sys.argv[1], sys.argv[2]
    ranks = load_ranks(tiktoken_path)
    byte_char = bytes_to_unicode()

    def spell(token):
        return "".join(byte_char[b] for b in token)

    by_rank = sorted(ranks.items(), key=lambda item: item[1])
    vocab = {spell(token): rank for token, rank in by_rank}
    if END_OF_TEXT_ID in vocab.values():
        sys.exit(f"rank {END_OF_TEXT_ID} is already taken; expected it free for {END_OF_TEXT}")
    vocab[END_OF_TEXT] = END_OF_TEXT_ID

    merges = []
    for token, rank in by_rank:
        if len(token) < 2:
            continue
        left, right = final_merge(token, rank, ranks)
        merges.append(f"{spell(left)} {spell(right)}")

    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "vocab.json"), "w", encoding="utf-8") as handle:
        json.dump(vocab, handle, ensure_ascii=False)
    with open(os.path.join(output_dir, "merges.txt"), "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        for merge in merges:
            handle.write(merge + "\n")
    print(f"vocab.json: {len(vocab)} entries; merges.txt: {len(merges)} merges -> {output_dir}")


if __name__ == "__main__":
    main()
