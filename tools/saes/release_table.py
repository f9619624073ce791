"""Writes tlsh's trimmed SAE release table from the pretrained_saes.yaml that sae-lens ships.

tlsh loads SAEs by SAELens release name (`sae gpt2-small-res-jb blocks.8.hook_resid_pre`) through
this table: for each release its Hugging Face repo and model, and for each SAE id the folder
that holds cfg.json + sae_weights.safetensors, its Neuronpedia id and any norm_scaling_factor.
Kept: releases in SAELens's own layout (conversion_func null) for the chosen model families, and
the converted layouts tlsh reads (Gemma Scope gemma_2, Gemma Scope 2 gemma_3, Llama Scope), with
their conversion_func as "format". A path equal to its id is left out, so the file stays small.

    /work/venv-ref/bin/python tools/saes/release_table.py            # GPT-2 family
    /work/venv-ref/bin/python tools/saes/release_table.py --models gpt2 distilgpt2 pythia
"""
from __future__ import annotations

import argparse
import json
import os

import sae_lens
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# SAELens conversion_func values whose layouts tlsh reads (Sources/TLModel/SAEScopeLayouts.swift).
CONVERTED = ("gemma_2", "gemma_3", "llama_scope")
OUT = os.path.join(ROOT, "Sources", "TLHub", "Resources", "SAEReleases", "sae_releases.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gpt2", "distilgpt2"],
                        help="keep releases whose model name starts with one of these")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    path = os.path.join(os.path.dirname(sae_lens.__file__), "pretrained_saes.yaml")
    with open(path) as f:
        table = yaml.safe_load(f)
    releases = {}
    skipped = []
    for name, release in sorted(table.items()):
        model = str(release.get("model", ""))
        fmt = release.get("conversion_func")
        if fmt in CONVERTED:
            pass
        elif not model.startswith(tuple(args.models)):
            continue
        elif fmt not in (None, "sae_lens"):
            skipped.append(f"{name} ({release.get('conversion_func')})")
            continue
        saes = {}
        for entry in release["saes"]:
            item = {} if entry["path"] == entry["id"] else {"path": entry["path"]}
            for key in ("neuronpedia", "norm_scaling_factor"):
                if entry.get(key) is not None:
                    item[key] = entry[key]
            saes[entry["id"]] = item
        releases[name] = {"repo_id": release["repo_id"], "model": model, "saes": saes}
        if fmt in CONVERTED:
            releases[name]["format"] = fmt
        overrides = release.get("config_overrides")
        if overrides:
            releases[name]["config_overrides"] = overrides
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"source": f"sae-lens {sae_lens.__version__} pretrained_saes.yaml, trimmed by tools/saes/release_table.py",
                   "models": args.models, "skipped": skipped, "releases": releases}, f, indent=0, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print(f"{len(releases)} releases, {sum(len(r['saes']) for r in releases.values())} SAEs -> {args.out}; skipped {skipped}")


if __name__ == "__main__":
    main()
