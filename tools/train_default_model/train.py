"""Train tlsh's embedded default model: a small GPT-2 (real GPT-2 tokenizer, vocab 50257)
on the seeded synthetic corpus of corpus.py, then write it as Hugging Face GPT2LMHeadModel
files (config.json + F16 model.safetensors) into Sources/TLHub/Resources/DefaultModel/.

    /work/venv-ref/bin/python tools/train_default_model/train.py            # full recipe
    /work/venv-ref/bin/python tools/train_default_model/train.py --steps 50  # smoke test

Why it is fast enough on one CPU thread (0.25-0.6 s a step, depending on load):
  * the tied embedding is learned only for the ~560 tokens text documents use; every other
    row is fixed random (std 0.05, never scaled), so the optimizer never touches 6.4M rows
    and induction generalises to any token (the model learns to copy a generic embedding);
  * the induction circuit (L0H0 previous-token head, L1H0 induction head) is wired in at
    init (seed_induction_circuit), so training refines it instead of having to cross the
    induction plateau, which took far more steps than a CPU budget allows;
  * the training softmax covers only the text vocabulary, the batch's targets and a fresh
    uniform sample of the whole vocabulary, instead of all 50257 rows;
  * documents are packed into rows but isolated from each other (block-diagonal causal
    attention, positions restart at 0 at each <|endoftext|>), so every document is seen
    exactly as TransformerLens will see a prompt: BOS at position 0.
Everything is seeded; a rerun reproduces the same weights up to CPU float nondeterminism.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from gpt2_tokenizer import END_OF_TEXT, VOCAB_SIZE, load_gpt2_encoding  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "Sources", "TLHub", "Resources", "DefaultModel")


# ---------------------------------------------------------------- model (HF GPT-2 names) --

class Conv1D(nn.Module):
    """Linear layer with the [in, out] weight layout transformers' GPT-2 uses."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x, mask):
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)
        q, k, v = (t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, d, d_inner):
        super().__init__()
        self.c_fc = Conv1D(d, d_inner)
        self.c_proj = Conv1D(d_inner, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # gelu_new


class Block(nn.Module):
    def __init__(self, d, n_head, d_inner, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = Attention(d, n_head)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d, d_inner)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """Everything but the token embedding (which GPT2 below assembles from two parts)."""

    def __init__(self, c):
        super().__init__()
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(Block(c["n_embd"], c["n_head"], c["n_inner"], c["layer_norm_epsilon"])
                               for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])


class GPT2(nn.Module):
    """GPT-2 whose tied token embedding has two parts: learned rows for the tokens text
    documents use, and fixed random rows (times one scale, learned by default) for every
    other token.

    The fixed rows are what makes induction work on ANY token, not just the ones seen in
    training: the model learns to copy a generic random embedding, and all 50k unused
    tokens share one distribution. It also keeps the optimizer off a 6.4M-row matrix.
    With the learned scale (the default recipe) training shrinks the fixed rows to ~0.007x:
    every unused token becomes harmless (logit ~0) but random-token induction cannot form;
    --fixed-scale keeps them at full size (see docs/DEFAULT_MODEL.md, "What was tried").
    state_dict_hf() gives GPT2LMHeadModel's keys (transformer.*; lm_head tied to wte).
    """

    def __init__(self, c, text_ids, embedding_std, learn_fixed_scale=True):
        super().__init__()
        self.transformer = Transformer(c)
        std = 0.02
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * c["n_layer"]))
            elif p.dim() == 2:
                nn.init.normal_(p, 0.0, std)
        V, d = c["vocab_size"], c["n_embd"]
        self.register_buffer("frozen_rows", torch.randn(V, d) * embedding_std)
        self.register_buffer("text_ids", text_ids.clone())
        is_text = torch.zeros(V, dtype=torch.bool)
        is_text[text_ids] = True
        local = torch.zeros(V, dtype=torch.long)
        local[text_ids] = torch.arange(len(text_ids))
        self.register_buffer("is_text", is_text)
        self.register_buffer("local_index", local)
        self.text_rows = nn.Parameter(self.frozen_rows[text_ids].clone())
        if learn_fixed_scale:
            self.frozen_scale = nn.Parameter(torch.ones(()))
        else:
            self.register_buffer("frozen_scale", torch.ones(()))

    def embedding_rows(self, ids):
        """Rows of the tied embedding for token ids (any shape) -> [..., d]."""
        return torch.where(self.is_text[ids][..., None], self.text_rows[self.local_index[ids]],
                           self.frozen_rows[ids] * self.frozen_scale)

    def full_embedding(self):
        return (self.frozen_rows * self.frozen_scale).index_copy(0, self.text_ids, self.text_rows)

    def state_dict_hf(self):
        sd = {"transformer.wte.weight": self.full_embedding().detach()}
        sd.update({"transformer." + k: v.detach() for k, v in self.transformer.state_dict().items()})
        return sd

    def hidden(self, tokens, positions, mask, steer=None):
        """Final-LN residual stream [B, T, d]. steer=(layer, vector) adds vector to resid_post."""
        t = self.transformer
        x = self.embedding_rows(tokens) + t.wpe(positions)
        for i, block in enumerate(t.h):
            x = block(x, mask)
            if steer is not None and steer[0] == i:
                x = x + steer[1]
        return t.ln_f(x)

    def logits(self, tokens, steer=None):
        """Full-vocabulary logits for one unpacked batch [B, T] (evaluation)."""
        T = tokens.shape[1]
        positions = torch.arange(T).expand_as(tokens)
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        return self.hidden(tokens, positions, mask, steer) @ self.full_embedding().T


def seed_previous_token_head(model, dims=32, amplitude=0.1, sharpness=20.0):
    """Start head 0 of layer 0 as a previous-token head, so induction forms within the CPU budget.

    Without this, 1-2k small steps sit on the induction plateau (previous-token head and
    induction head each need the other to get gradient). Positions get sinusoidal
    embeddings in the first `dims` dimensions (token embeddings start with those zeroed),
    and the head's query rotates position i onto position i-1 while its key reads position
    as is, so at init it attends mostly to the previous token. Everything stays trainable.
    """
    t = model.transformer
    n = dims // 2
    freqs = 1.2 * (0.75 ** torch.arange(n, dtype=torch.float32))
    pos = torch.arange(t.wpe.weight.shape[0], dtype=torch.float32)[:, None]
    with torch.no_grad():
        t.wpe.weight[:, :dims] = 0
        t.wpe.weight[:, 0:dims:2] = amplitude * torch.sin(pos * freqs)
        t.wpe.weight[:, 1:dims:2] = amplitude * torch.cos(pos * freqs)
        model.frozen_rows[:, :dims] = 0
        model.text_rows[:, :dims] = 0
        w = t.h[0].attn.c_attn.weight  # [d, 3d]: query | key | value columns
        d = w.shape[0]
        d_head = d // t.h[0].attn.n_head
        assert dims <= d_head
        w[:, :d_head] = 0
        w[:, d:d + d_head] = 0
        for k, f in enumerate(freqs.tolist()):
            c, s = math.cos(f), math.sin(f)
            # query = rotate (sin, cos)(w p) back by one step -> (sin, cos)(w (p - 1))
            w[2 * k, 2 * k], w[2 * k + 1, 2 * k] = sharpness * c, -sharpness * s
            w[2 * k, 2 * k + 1], w[2 * k + 1, 2 * k + 1] = sharpness * s, sharpness * c
            w[2 * k, d + 2 * k] = 1.0
            w[2 * k + 1, d + 2 * k + 1] = 1.0


def seed_induction_circuit(model, gain=0.05, query_gain=5.0, out_gain=0.3):
    """Start a whole two-head induction circuit: L0H0 previous-token head, L1H0 induction head.

    Residual layout at init (everything stays trainable): dims 0-31 positions (sinusoids, from
    seed_previous_token_head), dims 32-63 an empty "previous token" slot, dims 64-127 the token
    embedding. L0H0 copies dims 64-95 of the previous token into the slot (OV); L1H0's query reads
    the current token's dims 64-95 and its key reads the slot, so it attends to the token AFTER
    an earlier occurrence of the current token, and its OV copies that token's dims 64-95 back into
    the embedding dims (raising its logit through the tied unembedding). Gains are chosen for the
    raw residual scale at init (embedding std ~0.05, position amplitude 0.1).
    Why: seeding the previous-token head alone did not get past the induction plateau within the
    CPU budget (docs/DEFAULT_MODEL.md); with both heads working at step 0 the random rows give
    gradient that reinforces the circuit instead of having to discover it.
    """
    seed_previous_token_head(model)
    t = model.transformer
    d = t.wpe.weight.shape[1]
    dh = d // t.h[0].attn.n_head
    slot, emb = 32, 64
    with torch.no_grad():
        model.frozen_rows[:, :emb] = 0
        model.text_rows[:, :emb] = 0
        t.wpe.weight[:, slot:] = 0
        a0, a1 = t.h[0].attn, t.h[1].attn
        # L0H0 value/output: previous token's embedding dims -> slot.
        a0.c_attn.weight[:, 2 * d:2 * d + dh] = 0
        a0.c_proj.weight[:dh, :] = 0
        for j in range(dh):
            a0.c_attn.weight[emb + j, 2 * d + j] = 1.0
            a0.c_proj.weight[j, slot + j] = gain
        # L1H0: query = current token, key = slot, value/output = attended token -> embedding dims.
        for lo in (0, d, 2 * d):
            a1.c_attn.weight[:, lo:lo + dh] = 0
        a1.c_proj.weight[:dh, :] = 0
        for j in range(dh):
            a1.c_attn.weight[emb + j, j] = query_gain
            a1.c_attn.weight[slot + j, d + j] = 1.0
            a1.c_attn.weight[emb + j, 2 * d + j] = 1.0
            a1.c_proj.weight[j, emb + j] = out_gain


@torch.no_grad()
def attention_patterns(model, tokens):
    """Attention patterns per layer [B, H, T, T] for an unpacked batch (evaluation only)."""
    t = model.transformer
    T = tokens.shape[1]
    x = model.embedding_rows(tokens) + t.wpe(torch.arange(T).expand_as(tokens))
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    out = []
    for block in t.h:
        a = block.attn
        B, _, D = x.shape
        q, k, _ = a.c_attn(block.ln_1(x)).split(D, dim=2)
        q, k = (u.view(B, T, a.n_head, D // a.n_head).transpose(1, 2) for u in (q, k))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D // a.n_head)
        out.append(s.masked_fill(~causal, float("-inf")).softmax(-1))
        x = block(x, causal)
    return out


@torch.no_grad()
def induction_scores(model, length=40, n=8):
    """verify.py's induction score per layer-head on [BOS] + r + r, r uniform in [100, 20000)."""
    g = torch.Generator().manual_seed(11)
    r = torch.randint(100, 20000, (n, length), generator=g)
    toks = torch.cat([torch.full((n, 1), END_OF_TEXT), r, r], 1)
    dest = torch.arange(length + 1, 2 * length + 1)
    scores = {}
    for layer, p in enumerate(attention_patterns(model, toks)):
        s = p[:, :, dest, dest - length + 1].mean((0, 2))
        d = torch.arange(1, toks.shape[1])
        prev = p[:, :, d, d - 1].mean((0, 2))
        for h in range(p.shape[1]):
            scores[f"L{layer}H{h}"] = (round(s[h].item(), 3), round(prev[h].item(), 3))
    return scores


# ------------------------------------------------------------------------------ data --

def make_batch(rng, enc, batch, seq, random_row_fraction, short_random_fraction=0.0):
    """Packed rows of documents. Returns inputs, targets, positions, doc ids, loss mask."""
    rows, masks, positions, docs = [], [], [], []
    for _ in range(batch):
        row, mask, pos, doc = [], [], [], []
        random_row = rng.random() < random_row_fraction
        d = 0
        while len(row) < seq + 1:
            if random_row:
                toks, m = corpus.random_document(rng, seq, short_random_fraction)
            else:
                toks = corpus.text_document(rng, enc)
                m = [1] * len(toks)
            row += toks
            mask += m
            pos += list(range(len(toks)))
            doc += [d] * len(toks)
            d += 1
        rows.append(row[:seq + 1])
        masks.append(mask[:seq])
        positions.append(pos[:seq])
        docs.append(doc[:seq])
    rows = torch.tensor(rows)
    return (rows[:, :-1], rows[:, 1:], torch.tensor(positions).clamp(max=seq - 1),
            torch.tensor(docs), torch.tensor(masks, dtype=torch.bool))


def document_mask(docs):
    """[B, 1, T, T] causal attention restricted to each token's own document."""
    T = docs.shape[1]
    same = docs[:, :, None] == docs[:, None, :]
    return (same & torch.ones(T, T, dtype=torch.bool).tril())[:, None]


def restricted_loss(model, hidden, targets, keep, text_vocab, n_negatives, gen, correct=False):
    """Cross-entropy over text vocabulary + batch targets + uniform negatives.

    With correct=True the fixed-row tokens in that set stand for all ~49.7k of them: their
    logits get + log(49.7k / how many are present) (the usual sampled-softmax correction)."""
    h = hidden[keep]
    y = targets[keep]
    negatives = torch.randint(0, VOCAB_SIZE, (n_negatives,), generator=gen)
    vocab = torch.unique(torch.cat([text_vocab, y, negatives]))  # sorted
    logits = h @ model.embedding_rows(vocab).T
    fixed = ~model.is_text[vocab]
    n_fixed_total = VOCAB_SIZE - len(text_vocab)
    if correct:
        logits = logits + fixed * math.log(n_fixed_total / max(1, int(fixed.sum())))
    return F.cross_entropy(logits, torch.searchsorted(vocab, y))


# ------------------------------------------------------------------------ evaluation --

@torch.no_grad()
def quick_eval(model, enc):
    model.eval()
    bos = [END_OF_TEXT]

    def last_logits(text):
        return model.logits(torch.tensor([bos + enc.encode(text)]))[0, -1]

    paris, rome = enc.encode(" Paris")[0], enc.encode(" Rome")[0]
    lg = last_logits("The capital of France is")
    out = {"p_paris": lg.softmax(-1)[paris].item(), "top1": enc.decode([lg.argmax().item()]),
           "eiffel_diff": (lambda l: (l[paris] - l[rome]).item())(last_logits("The Eiffel Tower is in the city of")),
           "colosseum_diff": (lambda l: (l[paris] - l[rome]).item())(last_logits("The Colosseum is in the city of"))}
    # Induction loss on [BOS] + r + r.
    g = torch.Generator().manual_seed(7)
    r = torch.randint(100, 20000, (8, 40), generator=g)
    toks = torch.cat([torch.full((8, 1), END_OF_TEXT), r, r], 1)
    logp = model.logits(toks).log_softmax(-1)
    nll = -logp[:, :-1].gather(2, toks[:, 1:, None])[..., 0]
    out["nll_first_copy"] = nll[:, :40].mean().item()
    out["nll_second_copy"] = nll[:, 41:].mean().item()
    sc = induction_scores(model)
    best = max((k for k in sc if not k.startswith("L0")), key=lambda k: sc[k][0])
    out["best_induction"] = f"{best} {sc[best][0]}"
    out["prev_L0H0"] = sc["L0H0"][1]
    model.train()
    return out


# ---------------------------------------------------------------------------- export --

def export(model, c, out_dir):
    """Write config.json + F16 model.safetensors exactly as transformers saves them."""
    from transformers import GPT2Config, GPT2LMHeadModel
    config = GPT2Config(vocab_size=c["vocab_size"], n_positions=c["n_positions"], n_embd=c["n_embd"],
                        n_layer=c["n_layer"], n_head=c["n_head"], n_inner=c["n_inner"],
                        activation_function="gelu_new", layer_norm_epsilon=c["layer_norm_epsilon"],
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=END_OF_TEXT, eos_token_id=END_OF_TEXT, tie_word_embeddings=True)
    hf = GPT2LMHeadModel(config)
    missing, unexpected = hf.load_state_dict(model.state_dict_hf(), strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" or k.endswith("attn.bias") or k.endswith("masked_bias")
               for k in missing), missing
    hf.tie_weights()
    hf = hf.half().eval()
    with tempfile.TemporaryDirectory() as tmp:
        hf.save_pretrained(tmp, safe_serialization=True)
        with open(os.path.join(tmp, "config.json")) as f:
            cfg = json.load(f)
        cfg["n_ctx"] = c["n_positions"]  # transformers 5 omits it; real GPT-2 configs have both
        cfg["torch_dtype"] = "float16"
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        shutil.copyfile(os.path.join(tmp, "model.safetensors"), os.path.join(out_dir, "model.safetensors"))


@torch.no_grad()
def check_export(model, out_dir, enc):
    """Load the written F16 files back with transformers and compare with the trained model."""
    from transformers import GPT2LMHeadModel
    hf = GPT2LMHeadModel.from_pretrained(out_dir, dtype=torch.float32).eval()
    toks = torch.tensor([[END_OF_TEXT] + enc.encode("The capital of France is")])
    ours = model.logits(toks)
    theirs = hf(toks).logits
    diff = (ours - theirs).abs().max().item()
    print(f"F16 export vs trained fp32: max |logit diff| = {diff:.4f}; "
          f"top-1 {enc.decode([theirs[0, -1].argmax().item()])!r}")
    return diff


# ------------------------------------------------------------------------------ main --

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--random-rows", type=float, default=0.3)
    ap.add_argument("--short-random-fraction", type=float, default=0.0,
                    help="share of random documents that repeat a 4-16 token segment 2-6 times")
    ap.add_argument("--fixed-scale", action=argparse.BooleanOptionalAction, default=True,
                    help="keep the fixed rows at full size (--no-fixed-scale learns one scale; it shrinks to ~0)")
    ap.add_argument("--sampled-softmax-correction", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--embedding-std", type=float, default=0.05,
                    help="std of the token embedding at init (and of the fixed rows forever)")
    ap.add_argument("--negatives", type=int, default=1024)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seed-previous-token-head", action="store_true",
                    help="start L0H0 as a previous-token head (see seed_previous_token_head)")
    ap.add_argument("--seed-induction-circuit", action=argparse.BooleanOptionalAction, default=True,
                    help="start L0H0 + L1H0 as a working induction circuit (see seed_induction_circuit)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1,
                    help="1 is fastest on a shared machine: 2 OpenMP threads spin-wait for each other")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--checkpoint", default="/tmp/trainer/default_model_fp32.pt",
                    help="fp32 state dict of the final model (kept outside the repo)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    enc = load_gpt2_encoding()
    corpus.check_vocab(enc)
    text_vocab = torch.tensor(corpus.text_vocabulary(enc))
    print(f"text vocabulary: {len(text_vocab)} tokens")

    c = dict(vocab_size=VOCAB_SIZE, n_positions=args.seq, n_embd=args.n_embd, n_layer=args.n_layer,
             n_head=args.n_head, n_inner=4 * args.n_embd, layer_norm_epsilon=1e-5)
    model = GPT2(c, text_vocab, args.embedding_std, learn_fixed_scale=not args.fixed_scale)
    if args.seed_induction_circuit:
        seed_induction_circuit(model)
    elif args.seed_previous_token_head:
        seed_previous_token_head(model)
    n_params = sum(v.numel() for v in model.state_dict_hf().values())
    n_trained = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,} ({2 * n_params / 1e6:.1f} MB in F16); trained: {n_trained:,}")

    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), foreach=True)

    def lr_at(step):  # linear warmup, cosine decay to 10%
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    start = time.time()
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        inputs, targets, positions, docs, keep = make_batch(rng, enc, args.batch, args.seq, args.random_rows,
                                                            args.short_random_fraction)
        hidden = model.hidden(inputs, positions, document_mask(docs))
        loss = restricted_loss(model, hidden, targets, keep, text_vocab, args.negatives, gen,
                               correct=args.sampled_softmax_correction)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            msg = f"step {step:5d}  loss {loss.item():.3f}  lr {lr_at(step):.2e}  {time.time() - start:6.0f}s"
            if step % args.eval_every == 0 or step == args.steps - 1:
                msg += "  " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                          for k, v in quick_eval(model, enc).items()})
            print(msg, flush=True)
    elapsed = time.time() - start
    print(f"training took {elapsed:.0f}s")

    model.eval()
    os.makedirs(os.path.dirname(args.checkpoint), exist_ok=True)
    torch.save({"config": c, "state_dict": model.state_dict(), "hf_state_dict": model.state_dict_hf(), "args": vars(args),
                "train_seconds": elapsed}, args.checkpoint)
    export(model, c, args.out)
    check_export(model, args.out, enc)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "last_training_run.json"), "w") as f:
        json.dump({"args": vars(args) | {"out": os.path.relpath(args.out, REPO)},
                   "parameters": n_params, "trained_parameters": n_trained, "train_seconds": round(elapsed), "final_loss": loss.item(),
                   "torch": torch.__version__}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
