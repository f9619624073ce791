"""SAE speed, tlsh beside SAELens in one run, on random GPT-2-small weights and a random 24,576-feature SAE.

Tasks, on the harness's 1024 tokens (EngineBenchmark.tokens), medians of in-process wall times:
  encode    encode the activation at blocks.8.hook_resid_pre (already computed); tlsh keeps the
            activations sparse (tlsh_dense_s: its dense encode, as a spliced cache records it)
  features  run the model to the SAE's hook and encode (tlsh: what `features s "prompt"` computes,
            the model stopping where the hook fires, activations sparse; SAELens:
            run_with_cache(names_filter=hook, stop_at_layer=9) + sae.encode); also tlsh's peak
            resident growth for it, sparse and with the dense encode
  spliced   a forward with the SAE spliced in, logits only (SAELens: run_with_saes)
  forward   the plain forward, for scale
The SAE is a SAELens StandardSAE with seeded random weights whose encoder bias is set so that about
--l0 features fire per token on this text (real GPT-2 residual SAEs fire tens to a hundred). tlsh
runs as `tlsh bench MODEL sae_encode1024,...` with TLSH_BENCH_SAE; SAELens in this process, both
with the same thread count. The machine's load average is recorded before and after.

    /work/venv-ref/bin/python tools/bench/sae_bench.py --model ~/.cache/tlsh-bench/gpt2-small-random-seed0
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

# torch's OpenMP threads spin between parallel regions by default, which on a 2-vCPU host that also
# runs tlsh's process slows SAELens several-fold (scaling.py's finding); every benchmark here runs
# the reference engines PASSIVE. libgomp reads this when torch loads, so it is set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from reference import lcg_tokens, median_time  # the same ids and timing as the engine benchmark

HOOK = "blocks.8.hook_resid_pre"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_sae(directory: str, model, ids, d_in: int, d_sae: int, l0: int) -> None:
    """A seeded random StandardSAE whose encoder bias makes about `l0` features fire per token."""
    from sae_lens import StandardSAE, StandardSAEConfig
    from sae_lens.saes.sae import SAEMetadata
    cfg = StandardSAEConfig(d_in=d_in, d_sae=d_sae, dtype="float32", device="cpu")
    cfg.metadata = SAEMetadata(hook_name=HOOK, model_name="gpt2-small")
    sae = StandardSAE(cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=g) / d_in ** 0.5)
        sae.W_dec.copy_(torch.randn(d_sae, d_in, generator=g) * 0.05)
        sae.b_dec.zero_()
        _, cache = model.run_with_cache(ids, names_filter=HOOK, stop_at_layer=9)
        pre = cache[HOOK][0] @ sae.W_enc
        cut = torch.quantile(pre.flatten()[::97], 1 - l0 / d_sae)
        sae.b_enc.copy_(torch.randn(d_sae, generator=g) * 0.01 - cut)
    sae.save_model(directory)


def tlsh_model_dir(model: str, directory: str) -> str:
    """The checkpoint plus GPT-2's tokenizer files (tlsh wants a tokenizer beside the weights)."""
    os.makedirs(directory, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(model, name), os.path.join(directory, name))
    for name in ("vocab.json", "merges.txt"):
        os.symlink(os.path.join(ROOT, "Sources/TLHub/Resources/DefaultModel", name), os.path.join(directory, name))
    return directory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tlsh", default=os.path.join(ROOT, ".build/release/tlsh"))
    ap.add_argument("--d-sae", type=int, default=24576)
    ap.add_argument("--l0", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--openblas", action="store_true",
                    help="also time tlsh with TLSH_PACKED_ROWS=0 (the model's weight products on OpenBLAS instead of the packed panels)")
    ap.add_argument("--before", help="another tlsh binary (e.g. an older build) timed on the same tasks in the same run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()

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
    ids = torch.tensor([lcg_tokens(1024, c.vocab_size)])

    work = tempfile.mkdtemp(prefix="tlsh-sae-bench-")
    sae_dir = os.path.join(work, "sae")
    with torch.no_grad():
        make_sae(sae_dir, model, ids, c.n_embd, args.d_sae, args.l0)

    # tlsh, in its own process (engine timings, no language overhead).
    env = dict(os.environ, TLSH_BENCH_SAE=sae_dir, TLSH_BENCH_REPEATS=str(args.repeats),
               OPENBLAS_NUM_THREADS=str(args.threads))
    tasks = "sae_encode1024,sae_features1024,sae_spliced1024,forward1024"
    def tlsh(binary: str, tasks: str, **extra: str) -> dict:
        done = subprocess.run([binary, "bench", args.model, tasks], check=True, env=dict(env, **extra), capture_output=True, text=True)
        return json.loads(done.stdout)
    tl = tlsh(args.tlsh, tasks + ",sae_encodedense1024,sae_featurespeak1024,sae_featuresdensepeak1024")
    before = tlsh(args.before, tasks) if args.before else None
    openblas = tlsh(args.tlsh, tasks, TLSH_PACKED_ROWS="0") if args.openblas else None

    sae = SAE.load_from_disk(sae_dir)
    ref = {}
    with torch.no_grad():
        _, cache = model.run_with_cache(ids, names_filter=HOOK, stop_at_layer=9)
        x = cache[HOOK]
        acts = sae.encode(x)
        l0 = float((acts > 0).float().sum(-1).mean())
        ref["encode"] = median_time(args.repeats, lambda: sae.encode(x))

        def features():
            _, cache = model.run_with_cache(ids, names_filter=HOOK, stop_at_layer=9)
            sae.encode(cache[HOOK])
        ref["features"] = median_time(args.repeats, features)
        ref["spliced"] = median_time(max(1, args.repeats // 2), lambda: model.run_with_saes(ids, saes=[sae]))
        ref["forward"] = median_time(max(1, args.repeats // 2), lambda: model(ids))
    out = {
        "d_sae": args.d_sae, "tokens": 1024, "threads": args.threads, "l0": l0,
        "load_average_before": load_before, "load_average_after": os.getloadavg(), "cpus": os.cpu_count(),
        "versions": {"torch": torch.__version__, "sae_lens": __import__("sae_lens").__version__},
    }
    for task in ("encode", "features", "spliced", "forward"):
        mine = tl[f"sae_{task}1024" if task != "forward" else "forward1024"]
        out[task] = {"tlsh_s": mine, "saelens_s": ref[task], "saelens_over_tlsh": ref[task] / mine}
        key = f"sae_{task}1024" if task != "forward" else "forward1024"
        if before:
            out[task]["tlsh_before_s"] = before[key]
        if openblas:
            out[task]["tlsh_openblas_s"] = openblas[key]
    out["encode"]["tlsh_dense_s"] = tl["sae_encodedense1024"]
    # Peak resident growth of one features run above the loaded model: sparse (what tlsh keeps)
    # and with the dense encode ([1024, d_sae] acts_pre and acts_post).
    out["features"]["tlsh_peak_bytes"] = tl["sae_featurespeak1024_bytes"]
    out["features"]["tlsh_dense_peak_bytes"] = tl["sae_featuresdensepeak1024_bytes"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
