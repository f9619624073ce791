#!/usr/bin/env python3
"""GradDrop goldens (AtP*, Kramar et al. 2024): torch autograd through TransformerLens 3.9.

Usage: /work/venv-ref/bin/python tools/goldens/graddrop.py [--only tiny-a,tiny-b]

Writes Tests/Fixtures/golden/<name>/graddrop.safetensors + graddrop.json (a file of its own, so
gradients.safetensors stays as it was):

  graddrop/<activation>/<axes>   1/(L-1) * sum over layers l of |AtP_l|, where AtP_l is
                                 gradients.py's attribution (clean - corrupt) * grad_corrupt with a
                                 forward hook x.detach() on blocks.l.hook_attn_out and
                                 blocks.l.hook_mlp_out (layer l's residual-stream contribution held
                                 constant, so no gradient flows into layer l). A hook whose backward
                                 hook never fires (inside layer l, or the detached outputs
                                 themselves) contributes 0.

Same models, tokens and logit_diff metric as gradients.py; never run by the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

import engine  # noqa: E402
import gradients as G  # noqa: E402  (sets threads, determinism and offline mode)
import models  # noqa: E402
from store import TensorStore  # noqa: E402


def graddrop(model, clean_cache, corrupt, metric) -> dict:
    from transformer_lens.utilities import get_act_name
    L = model.cfg.n_layers
    totals: dict[tuple[str, str], torch.Tensor] = {}
    detach = lambda x, hook: x.detach()  # noqa: E731
    for dropped in range(L):
        hooks = [(f"blocks.{dropped}.hook_attn_out", detach), (f"blocks.{dropped}.hook_mlp_out", detach)]
        _, corrupt_cache, grads, _ = G.gradients(model, corrupt, metric, fwd_hooks=hooks)
        for act, axes, keep in G.ATTRIBUTIONS:
            rows = []
            for layer in range(L):
                name = get_act_name(act, layer)
                grad = grads.get(name)
                effect = (clean_cache[name] - corrupt_cache[name]) * (grad if grad is not None else 0)
                rows.append(G.reduce_keep(effect, keep))
            term = torch.stack(rows).abs()
            totals[(act, axes)] = totals.get((act, axes), 0) + term
    return {k: v / (L - 1) for k, v in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    for spec in models.SPECS:
        if spec.name not in G.MODELS or (wanted and spec.name not in wanted):
            continue
        out_dir = os.path.join(G.OUT_ROOT, spec.name)
        hf = GPT2LMHeadModel.from_pretrained(os.path.join(out_dir, "hf"), dtype=torch.float32)
        hf.eval()
        model = models.make_tl_model(spec, hf, processed=True)
        seq_a, seq_b = engine.fixed_tokens(spec)
        t1, t2 = engine.answer_tokens(spec, seq_a)
        clean, corrupt = torch.tensor([seq_a]), torch.tensor([seq_b])

        def logit_diff(logits):
            return logits[0, -1, t1] - logits[0, -1, t2]

        with torch.no_grad():
            _, clean_cache = model.run_with_cache(clean)
        store = TensorStore()
        for (act, axes), value in graddrop(model, clean_cache, corrupt, logit_diff).items():
            store.put(f"graddrop/{act}/{axes}", value)
        info = {"model": spec.name, "clean_tokens": seq_a, "corrupted_tokens": seq_b, "t1": t1, "t2": t2,
                "metric": "logits[0,-1,t1] - logits[0,-1,t2] on corrupted_tokens",
                "definition": __doc__.split("\n\n")[2].strip(),
                "keys": {k: list(v.shape) for k, v in store.tensors.items()}}
        store.save(os.path.join(out_dir, "graddrop.safetensors"))
        with open(os.path.join(out_dir, "graddrop.json"), "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        print(f"{spec.name}: {len(store.tensors)} tensors", flush=True)


if __name__ == "__main__":
    main()
