#!/usr/bin/env python3
"""Writes gpt2_aliases.json: every GPT-2-family name TransformerLens accepts, mapped to the
official name TransformerLens passes to the hub. TLHubTests checks ModelSource.parse against it.

Run with the reference venv:  /work/venv-ref/bin/python Tests/Fixtures/hub/make_alias_reference.py
"""
import json
import os

from transformer_lens import supported_models
import transformer_lens

FAMILY = {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"}

reference = {}
for official in supported_models.OFFICIAL_MODEL_NAMES:
    if official in FAMILY:
        reference[official] = official
        for alias in supported_models.MODEL_ALIASES.get(official, []):
            reference[alias] = official

missing = FAMILY - set(reference.values())
assert not missing, f"TransformerLens no longer lists {missing}"
from importlib.metadata import version
out = {"transformer_lens_version": version("transformer-lens"),
       "aliases": dict(sorted(reference.items()))}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt2_aliases.json")
with open(path, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print(f"wrote {len(reference)} names to {path}")
