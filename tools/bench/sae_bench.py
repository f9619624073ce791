"""SAE speed, tlsh beside SAELens, on random GPT-2-small weights and a random 24,576-feature SAE.

Tasks, on 1024 random tokens:
  features  run the model to the SAE's hook and encode (tlsh: `f = features s c` after `c = run`;
            SAELens: run_with_cache(names_filter=hook) + sae.encode)
  spliced   a forward with the SAE spliced in (tlsh: `run ... saes=[s]`, which also caches every
            activation; SAELens: run_with_saes, logits only)
tlsh is timed as whole `tlsh -c` scripts (load, run, then the task) minus the same script without
the task, so each tlsh number includes parsing and caching overheads; SAELens runs in-process.

    /work/venv-ref/bin/python tools/bench/sae_bench.py --model ~/.cache/tlsh-bench/gpt2-small-random-seed0
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import torch

HOOK = "blocks.8.hook_resid_pre"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_sae(directory: str, d_in: int, d_sae: int) -> None:
    from sae_lens import StandardSAE, StandardSAEConfig
    from sae_lens.saes.sae import SAEMetadata
    cfg = StandardSAEConfig(d_in=d_in, d_sae=d_sae, dtype="float32", device="cpu")
    cfg.metadata = SAEMetadata(hook_name=HOOK, model_name="gpt2-small")
    sae = StandardSAE(cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=g) / d_in ** 0.5)
        sae.W_dec.copy_(torch.randn(d_sae, d_in, generator=g) * 0.05)
        sae.b_enc.copy_(torch.randn(d_sae, generator=g) * 0.1 - 0.5)
    sae.save_model(directory)


def tlsh_model_dir(model: str, directory: str) -> str:
    """The checkpoint plus GPT-2's tokenizer files (tlsh wants a tokenizer beside the weights)."""
    os.makedirs(directory, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(model, name), os.path.join(directory, name))
    for name in ("vocab.json", "merges.txt"):
        os.symlink(os.path.join(ROOT, "Sources/TLHub/Resources/DefaultModel", name), os.path.join(directory, name))
    return directory


def time_tlsh(tlsh: str, script: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([tlsh, "-c", script], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tlsh", default=os.path.join(ROOT, ".build/release/tlsh"))
    ap.add_argument("--d-sae", type=int, default=24576)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = tempfile.mkdtemp(prefix="tlsh-sae-bench-")
    sae_dir = os.path.join(work, "sae")
    make_sae(sae_dir, 768, args.d_sae)
    model_dir = tlsh_model_dir(args.model, os.path.join(work, "model"))
    ids = torch.randint(0, 50000, (1, 1024), generator=torch.Generator().manual_seed(1))
    id_list = ", ".join(str(i) for i in ids[0].tolist())

    # tlsh: differences of whole scripts.
    env = dict(os.environ)
    base = f'set threads={args.threads}\nmodel "{model_dir}"\ns = sae "{sae_dir}"\nc = run [{id_list}]\n'
    tlsh = {"base": [], "features": [], "spliced": []}
    for _ in range(args.rounds):
        tlsh["base"].append(time_tlsh(args.tlsh, base, env))
        tlsh["features"].append(time_tlsh(args.tlsh, base + "f = features s c\n", env))
        tlsh["spliced"].append(time_tlsh(args.tlsh, base + f"cs = run [{id_list}] saes=[s]\n", env))

    # SAELens, in-process.
    from transformers import GPT2LMHeadModel
    from transformer_lens import HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights
    from sae_lens import SAE, HookedSAETransformer
    hf = GPT2LMHeadModel.from_pretrained(args.model, dtype=torch.float32).eval()
    c = hf.config
    cfg = HookedTransformerConfig(n_layers=c.n_layer, d_model=c.n_embd, n_heads=c.n_head, d_head=c.n_embd // c.n_head,
                                  d_mlp=c.n_inner or 4 * c.n_embd, n_ctx=c.n_positions, d_vocab=c.vocab_size, act_fn="gelu_new",
                                  normalization_type="LN", eps=c.layer_norm_epsilon, positional_embedding_type="standard",
                                  original_architecture="GPT2LMHeadModel")
    model = HookedSAETransformer(cfg)
    model.load_and_process_state_dict(convert_gpt2_weights(hf, cfg))
    model.eval()
    sae = SAE.load_from_disk(sae_dir)
    ref = {"features": [], "encode": [], "spliced": []}
    with torch.no_grad():
        for _ in range(args.rounds):
            t = time.perf_counter()
            _, cache = model.run_with_cache(ids, names_filter=HOOK, stop_at_layer=9)
            x = cache[HOOK]
            t2 = time.perf_counter()
            sae.encode(x)
            ref["encode"].append(time.perf_counter() - t2)
            ref["features"].append(time.perf_counter() - t)
            t = time.perf_counter()
            model.run_with_saes(ids, saes=[sae])
            ref["spliced"].append(time.perf_counter() - t)
    out = {
        "note": "busy shared 2-core machine; tlsh = script with the task minus script without it (min over rounds)",
        "d_sae": args.d_sae, "tokens": 1024, "threads": args.threads,
        "tlsh_features_s": min(tlsh["features"]) - min(tlsh["base"]),
        "tlsh_spliced_s": min(tlsh["spliced"]) - min(tlsh["base"]),
        "saelens_features_s": min(ref["features"]), "saelens_encode_only_s": min(ref["encode"]),
        "saelens_spliced_s": min(ref["spliced"]),
        "raw": {"tlsh": tlsh, "saelens": ref},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
