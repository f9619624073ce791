"""Trains the small SAE shipped with tlsh's embedded default model (Resources/DefaultModel/sae).

A standard ReLU SAE (SAELens's "standard" architecture, apply_b_dec_to_input) with 512 features
on blocks.2.hook_resid_post of the default model, trained on the default model's own seeded
corpus (tools/train_default_model/corpus.py) with an L1 penalty weighted by decoder norms, then
written in SAELens's layout by sae_lens's StandardSAE.save_model, with sparsity.safetensors.
It then names the features the tutorial uses by rule (tutorial_features) and writes
achieved.json; `--describe` prints those for the shipped SAE without training.

    /work/venv-ref/bin/python tools/train_default_sae/train.py

Runs in a few minutes on 2 CPU cores; seeded, so it gives the same SAE again.
"""
from __future__ import annotations

import json
import os
import random
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "train_default_model"))
from corpus import text_document  # noqa: E402
from verify import DEFAULT_MODEL, load_models  # noqa: E402

from sae_lens import SAE, StandardSAE, StandardSAEConfig  # noqa: E402
from sae_lens.saes.sae import SAEMetadata  # noqa: E402

HOOK = "blocks.2.hook_resid_post"
D_SAE = 512
OUT = os.environ.get("TLSH_SAE_OUT", os.path.join(DEFAULT_MODEL, "sae"))
END_OF_TEXT = 50256


class Encoding:
    """GPT-2 BPE from the default model's own vocab.json + merges.txt (no download)."""

    def __init__(self, directory):
        from tokenizers import ByteLevelBPETokenizer
        self.tok = ByteLevelBPETokenizer(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt"))
        assert self.encode("The capital of France is") == [464, 3139, 286, 4881, 318]

    def encode(self, text):
        return self.tok.encode(text).ids

    def decode(self, ids):
        return self.tok.decode(ids)


def collect(model, enc, documents=4000, batch=64):
    """Activations at HOOK for every non-BOS token of `documents` seeded corpus documents. Each
    batch is right-padded: attention is causal, so padding after a token cannot change it."""
    rng = random.Random(20)
    docs = [text_document(rng, enc)[:128] for _ in range(documents)]
    acts, tokens = [], []
    with torch.no_grad():
        for i in range(0, len(docs), batch):
            group = docs[i:i + batch]
            width = max(len(d) for d in group)
            ids = torch.tensor([d + [END_OF_TEXT] * (width - len(d)) for d in group])
            _, cache = model.run_with_cache(ids, names_filter=HOOK)
            for row, d in enumerate(group):
                acts.append(cache[HOOK][row, 1:len(d)])  # BOS carries no meaning and a large norm
                tokens.extend(d[1:])
    return torch.cat(acts), torch.tensor(tokens)


def train(x, steps=3000, batch=1024, l1=1.0, lr=2e-3):
    g = torch.Generator().manual_seed(0)
    d = x.shape[1]
    W_dec = torch.randn(D_SAE, d, generator=g)
    W_dec = 0.1 * W_dec / W_dec.norm(dim=1, keepdim=True)
    params = {"W_enc": W_dec.T.clone(), "b_enc": torch.zeros(D_SAE), "W_dec": W_dec, "b_dec": x.mean(0).clone()}
    for p in params.values():
        p.requires_grad_(True)
    opt = torch.optim.Adam(params.values(), lr=lr)
    for step in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        xb = x[idx]
        acts = torch.relu((xb - params["b_dec"]) @ params["W_enc"] + params["b_enc"])
        recon = acts @ params["W_dec"] + params["b_dec"]
        mse = (recon - xb).pow(2).sum(-1).mean()
        sparsity = (acts * params["W_dec"].norm(dim=1)).sum(-1).mean()
        coeff = l1 * min(1.0, step / (steps * 0.1))  # L1 warm-up
        loss = mse + coeff * sparsity
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == steps - 1:
            l0 = (acts > 0).float().sum(-1).mean()
            var = (xb - xb.mean(0)).pow(2).sum(-1).mean()
            print(f"step {step}: mse {mse.item():.3f} (explained {1 - mse.item() / var.item():.3f}), L0 {l0.item():.1f}")
    return {k: v.detach() for k, v in params.items()}


CAPITAL_CITIES = [" Paris", " Berlin", " Rome", " Madrid", " Tokyo", " London", " Moscow", " Beijing", " Cairo",
                  " Athens", " Vienna", " Lisbon", " Dublin", " Ottawa", " Oslo", " Stockholm", " Warsaw", " Havana",
                  " Budapest", " Amsterdam", " Brussels", " Helsinki", " Seoul", " Bangkok", " Lima", " Copenhagen"]


def tutorial_features(sae, model, enc):
    """The features examples/08-saes.tl shows, chosen by rule from the SAE (not by hand):
    the feature that writes " Paris" most at the last position of "The capital of France is"
    (activation × its decoder direction's " Paris" logit), and the feature whose decoder
    direction puts the most capital cities among its 10 top logits."""
    with torch.no_grad():
        ids = torch.tensor([[END_OF_TEXT] + enc.encode("The capital of France is")])
        _, cache = model.run_with_cache(ids, names_filter=HOOK)
        acts = sae.encode(cache[HOOK])[0, -1]
        logits = sae.W_dec @ model.W_U
        paris = enc.encode(" Paris")[0]
        paris_feature = int((acts * logits[:, paris]).argmax())
        capitals = torch.tensor([enc.encode(c)[0] for c in CAPITAL_CITIES])
        top10 = logits.topk(10, dim=1).indices
        capital_counts = torch.isin(top10, capitals).sum(1)
        capital_feature = int(capital_counts.argmax())
        top = lambda f: [enc.decode([i]) for i in logits[f].topk(6).indices.tolist()]  # noqa: E731
        return {"paris_feature": paris_feature, "paris_feature_activation": float(acts[paris_feature]),
                "paris_feature_top_logits": top(paris_feature),
                "capital_feature": capital_feature, "capital_feature_capitals_in_top10": int(capital_counts[capital_feature]),
                "capital_feature_activation": float(acts[capital_feature]), "capital_feature_top_logits": top(capital_feature)}


def main():
    if "--describe" in sys.argv:  # the shipped SAE's tutorial features only, no training
        _, model = load_models(DEFAULT_MODEL)
        print(json.dumps(tutorial_features(SAE.load_from_disk(OUT), model, Encoding(DEFAULT_MODEL)), indent=1))
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
    _, model = load_models(DEFAULT_MODEL)
    enc = Encoding(DEFAULT_MODEL)
    x, tokens = collect(model, enc)
    print(f"{x.shape[0]} activations at {HOOK}")
    params = train(x)

    cfg = StandardSAEConfig(d_in=x.shape[1], d_sae=D_SAE, dtype="float32", device="cpu",
                            apply_b_dec_to_input=True, normalize_activations="none")
    cfg.metadata = SAEMetadata(hook_name=HOOK, model_name="tlsh-default", prepend_bos=True,
                               neuronpedia_id=None, hook_head_index=None)
    sae = StandardSAE(cfg)
    sae.load_state_dict(params)
    os.makedirs(OUT, exist_ok=True)
    sae.save_model(OUT)
    with torch.no_grad():
        acts = sae.encode(x)
        density = (acts > 0).float().mean(0)
        save_file({"sparsity": torch.log10(density + 1e-10)}, os.path.join(OUT, "sparsity.safetensors"))

    achieved = {"hook": HOOK, "d_sae": D_SAE, "l0": float((acts > 0).float().sum(-1).mean()),
                "explained_variance": float(1 - (sae.decode(acts) - x).pow(2).sum() / (x - x.mean(0)).pow(2).sum()),
                "dead_features": int((density == 0).sum())}
    achieved.update(tutorial_features(sae, model, enc))
    with open(os.path.join(HERE, "achieved.json"), "w") as f:
        json.dump(achieved, f, indent=1)
        f.write("\n")
    print(json.dumps(achieved, indent=1))


if __name__ == "__main__":
    main()
