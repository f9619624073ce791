#!/usr/bin/env python3
"""Writes the TransformerLens cache key list that the engine's HookNames.all(nLayers:) must reproduce.

Builds tiny randomly initialised HookedTransformers (no download), runs them with
run_with_cache, and writes the keys in cache order, one per line, plus the short names
utils.get_act_name maps back to each full name (for the layer-indexed hooks).

Run: /work/venv-ref/bin/python tools/golden/lang_hook_names.py
Output: Tests/Fixtures/lang/hook_names_gpt2_2l.txt, hook_short_names_gpt2_2l.txt
"""
import pathlib
import torch
import transformer_lens
from transformer_lens import HookedTransformer, HookedTransformerConfig

OUT = pathlib.Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "lang"


def keys() -> list[str]:
    cfg = HookedTransformerConfig(n_layers=2, d_model=16, n_ctx=8, d_head=4, n_heads=4, d_mlp=64,
                                  act_fn="gelu_new", d_vocab=50, normalization_type="LN", seed=0)
    model = HookedTransformer(cfg)
    _, cache = model.run_with_cache(torch.tensor([[1, 2, 3]]))
    return list(cache.keys())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version as package_version
    version = package_version("transformer-lens")
    lines = [f"# transformer_lens {version}; tools/golden/lang_hook_names.py"] + keys()
    (OUT / "hook_names_gpt2_2l.txt").write_text("\n".join(lines) + "\n")
    print("hook_names_gpt2_2l.txt", len(lines) - 1, "keys")
    # For each layer hook: the leaf short name and what get_act_name(leaf, layer) expands it to,
    # so the Swift test can check that tlsh's short names mean what TransformerLens means.
    from transformer_lens.utils import get_act_name
    rows = [f"# transformer_lens {version}; full<TAB>leaf<TAB>get_act_name(leaf, layer)"]
    for key in keys():
        parts = key.split(".")
        if parts[0] != "blocks":
            continue
        leaf = parts[-1][len("hook_"):]
        rows.append(f"{key}\t{leaf}\t{get_act_name(leaf, int(parts[1]))}")
    (OUT / "hook_short_names_gpt2_2l.txt").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
