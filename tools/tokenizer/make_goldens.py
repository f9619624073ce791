#!/usr/bin/env python3
"""Build the GPT-2 tokenizer golden corpus used by Tests/TLTokenizerTests.

    /work/venv-ref/bin/python tools/tokenizer/make_goldens.py \
        /tmp/whisper/openai_whisper-20250625/whisper/assets/gpt2.tiktoken

Generates >= 5,000 varied strings from a fixed seed (prose, code, whitespace runs, numbers, punctuation,
contractions, emoji/ZWJ, CJK, Arabic, Devanagari, combining marks, long words, control characters,
<|endoftext|> inside text, random assigned Unicode scalars), then encodes every string twice:

  * tiktoken, with an Encoding built offline from whisper's gpt2.tiktoken, GPT-2's pat_str and
    <|endoftext|> = 50256 (special tokens allowed inside the text), and
  * Hugging Face `tokenizers`, loaded from our own vocab.json + merges.txt (the files the Swift side reads),

and stops with an error if they disagree on any string. Writes (all deterministic):

  Tests/Fixtures/tokenizer/golden.jsonl          {"text", "ids", "tokens"} per line; tokens = per-id decode
                                                  by HF (invalid UTF-8 -> U+FFFD), as TransformerLens shows them
  Tests/Fixtures/tokenizer/gpt2-tokenizer.json   the same tokenizer saved by HF as a fast-tokenizer file
"""
import base64
import json
import os
import random
import sys
import unicodedata

import tiktoken
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(REPO, "Sources", "TLHub", "Resources", "DefaultModel")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "tokenizer")
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
END_OF_TEXT = "<|endoftext|>"
SEED = 20250625

# ---------------------------------------------------------------------------------------------
# Material the generators combine. Written for this corpus; nothing here is copied from elsewhere.

PROSE = """The capital of France is Paris, and the capital of Germany is Berlin.
When Mary and John went to the store, John gave a drink to Mary.
It's a truth we've all heard: they'll say they'd rather stay home, but I'm sure you're coming.
Mechanistic interpretability tries to reverse-engineer the algorithms a network has learned.
Induction heads copy the token that followed an earlier occurrence of the current token.
The quick brown fox jumps over the lazy dog; the dog, unimpressed, goes back to sleep.
In 1969, 600 million people watched the landing -- roughly 18.5% of the world's population.
She said, "Don't touch that!" and he replied: 'Why not?' (It was, after all, only 3:45 p.m.)
Residual streams carry information forward; attention moves it between positions.
A sparse autoencoder decomposes activations into many features, most of them inactive.
Prices rose 4.2 percent year-over-year, according to the report released on 2024-03-15.
He couldn't believe it -- the results didn't replicate, and the reviewers weren't happy.
THE END. WE'LL SEE YOU NEXT TIME! IT'S BEEN FUN, HASN'T IT? YOU'RE WELCOME, I'D SAY.""".split("\n")

WORDS = ("the of and to in is was that for it with as his on be at by had are but from or have an they which "
         "one you were her all she there would their we him been has when who will more no if out so said "
         "what up its about into than them can only other new some could time these two may then do first "
         "any my now such like our over man me even most made after also did many before must through back "
         "years where much your way well down should because each just those people how too little state "
         "good very make world still own see men work long get here between both life being under never day "
         "same another know while last might us great old year off come since against go came right used take "
         "three transformer attention residual neuron logit embedding gradient tokenizer interpretability "
         "antidisestablishmentarianism supercalifragilistic pneumonoultramicroscopic").split()

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D",
                "\u2019s", "\u2019ll", "'", "''", "'x", "'sa", "'red", "'lla"]

CODE = [
    "def forward(self, x):\n    return self.w @ x + self.b\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
    "func encode(_ text: String) -> [Int] {\n    guard !text.isEmpty else { return [] }\n}\n",
    "if __name__ == \"__main__\":\n    main()\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "const f = (a, b) => a ?? b; // nullish\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "x = [i**2 for i in range(10) if i % 2 == 0]\n",
    "<div class=\"card\"><span id='x'>&amp; &lt;tag&gt;</span></div>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "    \n        indented = True\n\n\n    # comment\n",
    "git commit -m \"fix: handle CRLF\\r\\n line endings\" && make -j8",
    "let xs = ys.map { $0 * 2 }.filter { $0 > 10 }",
    "a_b_c__d___e = 0x1F ^ 0b1010 | ~0o17",
]

WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\u00a0", "\u3000",
              "\u2028", "\u2029", "\u2003", "\u202f", "\u205f", "\u1680", "\x85", "\u200b", "\u180e", "\ufeff"]

NUMBERS = ["0", "7", "42", "123", "1234", "12345", "3.14159", "1,000,000", "-17", "+3", "1e-9", "2024",
           "\u0661\u0662\u0663", "\u0968\u0966\u0968\u0967", "\u00b2", "\u00bd", "\u2167", "\u2460",
           "\uff11\uff12", "\u4e09", "9\u20e3", "\U0001d7d8"]

PUNCTUATION = list(".,;:!?-()[]{}<>\"'/\\|@#$%^&*_+=~`") + [
    "...", "--", "---", "?!", "!!!", "\u2026", "\u2014", "\u2013", "\u00ab", "\u00bb", "\u201c", "\u201d",
    "\u00bf", "\u00a1", "\u2022", "\u00a9", "\u20ac", "\u00a3", "\u00a5", "\u2122", "\u00b0", "\u00a7"]

EMOJI = ["\U0001f600", "\U0001f44d", "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
         "\U0001f1eb\U0001f1f7", "\U0001f3f3\ufe0f\u200d\U0001f308", "\U0001f9d1\u200d\U0001f4bb", "\u2705",
         "\U0001f525\U0001f525\U0001f525", "\u263a", "\U0001f937\u200d\u2642\ufe0f", "*\ufe0f\u20e3"]

SCRIPTS = [
    "\u4eca\u65e5\u306f\u826f\u3044\u5929\u6c17\u3067\u3059\u306d\u3002",          # Japanese
    "\u6211\u559c\u6b22\u5b66\u4e60\u673a\u5668\u5b66\u4e60\u3002",                # Chinese
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\uc785\ub2c8\ub2e4",                      # Korean
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",     # Arabic
    "\u0627\u0644\u0633\u064e\u0651\u0644\u0627\u0645\u064f \u0639\u064e\u0644\u064e\u064a\u0652\u0643\u064f\u0645\u0652",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",     # Devanagari
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092e\u0947\u0902 \u0932\u093f\u0916\u093e \u0917\u092f\u093e",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",                            # Hebrew
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",                    # Russian
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",    # Greek
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a",                # Thai
    "Cr\u00e8me br\u00fbl\u00e9e, na\u00efve caf\u00e9, \u00fcber, se\u00f1or",
    "e\u0301 a\u0308 o\u0302\u0323 Z\u0351\u0352\u0353\u0354 n\u0303",              # combining marks
    "\u1e9b\u0323 \ufb01 \u2126 \u212b \u00c5 A\u030a",                            # compatibility forms
    "\u1100\u1161\u11a8 \u10d0\u10d1\u10d2 \u0531\u0532 \u13a0\u13a1 \u1780\u17b6",
]

CONTROLS = [chr(c) for c in list(range(0, 32)) + [127]] + ["\u200e", "\u200f", "\u202e", "\u2066", "\u00ad"]

SPECIALS = [END_OF_TEXT, END_OF_TEXT + END_OF_TEXT, " " + END_OF_TEXT, END_OF_TEXT + " ", "<|endoftext|",
            "<|endoftext", "|endoftext|>", "<|ENDOFTEXT|>", "<|endoftext|>>", "<<|endoftext|>"]


def random_assigned_scalar(rng):
    """A random assigned, non-surrogate, non-private-use scalar from a weighted choice of planes."""
    while True:
        plane = rng.choices([0, 1, 2], weights=[8, 3, 1])[0]
        code = plane * 0x10000 + rng.randrange(0x10000)
        if 0xD800 <= code <= 0xDFFF:
            continue
        category = unicodedata.category(chr(code))
        if category in ("Cn", "Cs", "Co"):
            continue
        return chr(code)


def prose_sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 20))]
    if rng.random() < 0.5:
        words[0] = words[0].capitalize()
    text = ""
    for word in words:
        separator = " " if text else ""
        if rng.random() < 0.08:
            separator = rng.choice(WHITESPACE[:8])
        if rng.random() < 0.1:
            word = word.upper()
        if rng.random() < 0.1:
            word += rng.choice(CONTRACTIONS)
        if rng.random() < 0.1:
            word += rng.choice(PUNCTUATION[:10])
        text += separator + word
    return text + rng.choice([".", "!", "?", "", "...", "\n"])


def mixed(rng):
    pools = [WORDS, CONTRACTIONS, WHITESPACE, NUMBERS, PUNCTUATION, EMOJI, SCRIPTS, CONTROLS, SPECIALS, CODE]
    parts = []
    for _ in range(rng.randint(1, 12)):
        pool = rng.choice(pools)
        parts.append(rng.choice(pool))
        if rng.random() < 0.5:
            parts.append(rng.choice([" ", "", "", "\n", "  "]))
    return "".join(parts)


def whitespace_run(rng):
    text = ""
    for _ in range(rng.randint(1, 8)):
        text += "".join(rng.choice(WHITESPACE[:12]) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.7:
            text += rng.choice(WORDS + NUMBERS[:6] + PUNCTUATION[:8] + ["'s", "'ll"])
    return text


def random_unicode(rng):
    return "".join(random_assigned_scalar(rng) if rng.random() < 0.7 else rng.choice(" \n\t'a1.")
                   for _ in range(rng.randint(1, 30)))


# Scalars at the pattern's edges: the contraction letters, every \\s kind, letters of each L* category,
# numbers of each N* category, combining marks and joiners, and the special token.
EDGE_ALPHABET = [" ", " ", " ", "\t", "\n", "\r", "\x0b", "\x0c", "a", "Z", "1", "!", "'", "s", "t", "re", "ll",
                 "ve", "S", "\u00e9", "\u00a0", "\u3000", "\u2028", END_OF_TEXT, "\u0301", "\u0663", "\U0001f642",
                 "\u200d", "-", "\x85", "\u1680", "\u01c5", "\u02b0", "\u216b", "\U00010400", "\u00b2", "\u0903"]


def edge_fuzz(rng):
    return "".join(rng.choice(EDGE_ALPHABET) for _ in range(rng.randint(1, 16)))


def long_word(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(50, 600)))
    if kind == 1:
        return rng.choice(["a", "ab", "xyz", "\u00e9", "\u4e00", "1", "!", " "]) * rng.randint(20, 400)
    if kind == 2:
        return " " + "".join(rng.choice("0123456789") for _ in range(rng.randint(20, 300)))
    return "".join(rng.choice(PUNCTUATION) for _ in range(rng.randint(20, 200)))


def build_corpus():
    rng = random.Random(SEED)
    corpus = ["", "The capital of France is", " ", "\n", "Hello world", "hello world", " Hello", "Paris",
              " Paris", " Parisian", END_OF_TEXT, "a" * 5000]
    corpus += PROSE + CODE + WHITESPACE + NUMBERS + PUNCTUATION + EMOJI + SCRIPTS + CONTROLS + SPECIALS
    corpus += ["x" + c + "y" for c in CONTRACTIONS] + [" " + w for w in WHITESPACE] + [w + "a" for w in WHITESPACE]
    generators = [(prose_sentence, 1500), (mixed, 1500), (whitespace_run, 700), (random_unicode, 800),
                  (long_word, 150), (edge_fuzz, 3000)]
    for generator, count in generators:
        corpus += [generator(rng) for _ in range(count)]
    # Paragraphs: several sentences joined the way documents are.
    for _ in range(300):
        corpus.append("\n\n".join(prose_sentence(rng) for _ in range(rng.randint(2, 6))))
    seen, unique = set(), []
    for text in corpus:
        if text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


def tiktoken_encoding(tiktoken_path):
    ranks = {}
    with open(tiktoken_path, "rb") as handle:
        for line in handle:
            if line.strip():
                token_b64, rank = line.split()
                ranks[base64.b64decode(token_b64)] = int(rank)
    return tiktoken.Encoding(name="gpt2-offline", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={END_OF_TEXT: 50256})


def hf_tokenizer():
    bpe = models.BPE.from_file(os.path.join(MODEL_DIR, "vocab.json"), os.path.join(MODEL_DIR, "merges.txt"))
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.add_special_tokens([AddedToken(END_OF_TEXT, special=True)])
    return tokenizer


ADDED_TOKENS = [  # appended to GPT-2's added_tokens to exercise lstrip/rstrip and longest-match
    {"id": 50257, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False,
     "normalized": False, "special": True},
    {"id": 50258, "content": "[SEP]", "single_word": False, "lstrip": False, "rstrip": True,
     "normalized": False, "special": True},
    {"id": 50259, "content": "<|endoftext|><|endoftext|>", "single_word": False, "lstrip": False,
     "rstrip": False, "normalized": False, "special": True},
    {"id": 50260, "content": "\u0120X\u00e9", "single_word": False, "lstrip": False, "rstrip": False,
     "normalized": False, "special": False},
]
ADDED_TOKEN_TEXTS = ["a  <mask> c", "<mask>", "  <mask>", "x[SEP]   y", "x [SEP]\n\ny", "[SEP]",
                     "<|endoftext|><|endoftext|><|endoftext|>", "a \u0120X\u00e9 b", "\u3000<mask>\u3000",
                     "no added tokens here", "<mask>[SEP]<mask>"]


def write_added_token_cases():
    """HF's handling of extra added tokens (lstrip, rstrip, overlapping contents, non-byte-level spelling)."""
    path = os.path.join(FIXTURES, "gpt2-tokenizer.json")
    with open(path, encoding="utf-8") as handle:
        root = json.load(handle)
    root["added_tokens"] += ADDED_TOKENS
    tokenizer = Tokenizer.from_str(json.dumps(root))
    cases = []
    for text in ADDED_TOKEN_TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=False)})
    variants = []  # ByteLevel pre-tokenizer options other than GPT-2's
    for options in ({"add_prefix_space": True}, {"use_regex": False}):
        with open(path, encoding="utf-8") as handle:
            root = json.load(handle)
        root["pre_tokenizer"].update(options)
        variant = Tokenizer.from_str(json.dumps(root))
        texts = ["hello", " hello", "<|endoftext|>hello", "a<|endoftext|>b", "", "\nx", "<|endoftext|> x",
                 "hello world", "a  b", "It's 2024!\n\n  ok"]
        variants.append({"pre_tokenizer": options, "cases": [
            {"text": text, "ids": variant.encode(text, add_special_tokens=False).ids} for text in texts]})
    with open(os.path.join(FIXTURES, "added_tokens.json"), "w", encoding="utf-8") as handle:
        json.dump({"added_tokens": ADDED_TOKENS, "cases": cases, "pre_tokenizer_variants": variants}, handle,
                  ensure_ascii=True, indent=1)
        handle.write("\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    encoding = tiktoken_encoding(sys.argv[1])
    tokenizer = hf_tokenizer()
    corpus = build_corpus()
    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "golden.jsonl"), "w", encoding="utf-8") as out:
        for text in corpus:
            ids = encoding.encode(text, allowed_special="all")
            hf_ids = tokenizer.encode(text, add_special_tokens=False).ids
            if ids != hf_ids:
                sys.exit(f"tiktoken and HF tokenizers disagree on {text!r}:\n  {ids}\n  {hf_ids}")
            if tokenizer.decode(ids, skip_special_tokens=False) != text:
                sys.exit(f"HF decode does not round-trip {text!r}")
            tokens = [tokenizer.decode([i], skip_special_tokens=False) for i in ids]
            out.write(json.dumps({"text": text, "ids": ids, "tokens": tokens}, ensure_ascii=True) + "\n")
    tokenizer.save(os.path.join(FIXTURES, "gpt2-tokenizer.json"), pretty=False)
    write_added_token_cases()
    print(f"{len(corpus)} strings agree between tiktoken and HF tokenizers -> {FIXTURES}")


if __name__ == "__main__":
    main()
