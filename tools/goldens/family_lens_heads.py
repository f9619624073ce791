#!/usr/bin/env python3
"""Logit-lens, head-detector, induction and per-head (query vs key/value head) patching goldens for
the model families, from TransformerLens 3.9 (never run by tests).

Usage: /work/venv-ref/bin/python tools/goldens/family_lens_heads.py [--only llama-a,...]

Reads the committed random models of tools/goldens/families.py (Tests/Fixtures/families/<name>/hf,
left untouched) and writes beside them:
  lens_heads.safetensors   lens/…, head_detector/…, induction/…, heads/… (F32)
  lens_heads.json          token ids, labels and the exact TransformerLens calls
The TransformerLens models are built exactly as families.py builds them (processed weights, a
temporary directory whose name holds no family word, the placeholder tokenizer, the Gemma configs
resized). Deterministic: fixed seeds, 2 CPU threads, no network.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import families  # noqa: E402  (sets offline mode, threads and determinism on import)
from families import (CLASSES, GEMMA2_DIRS, GEMMA_DIRS, OUT_ROOT, FamilySpec,  # noqa: E402
                      placeholder_tokenizer, tl_model, write_json)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from importlib.metadata import version  # noqa: E402
from transformer_lens import patching  # noqa: E402
from transformer_lens.head_detector import detect_head  # noqa: E402
from transformer_lens.utilities import lm_cross_entropy_loss  # noqa: E402

from store import TensorStore  # noqa: E402

HEAD_NAMES = ["previous_token_head", "duplicate_token_head", "induction_head"]
# The lens keeps three positions' full log-probabilities (the fixture stays small) and every
# position's top token.
LENS_POSITIONS = [0, 5, 11]


def lens_goldens(store: TensorStore, model, tokens: list[int]) -> dict:
    """The logit lens as `lens` computes it: accumulated_resid(apply_ln=True) (ln_final recomputed on
    each component, TL 3.x) through W_U + b_U, log_softmax. No final-logit soft-cap: TransformerLens's
    lens does not apply one (Gemma-2's final row therefore differs from the model's own output)."""
    with torch.no_grad():
        logits, cache = model.run_with_cache(torch.tensor([tokens]))
        resid, labels = cache.accumulated_resid(layer=None, incl_mid=False, apply_ln=True, return_labels=True)
        log_probs = F.log_softmax(resid @ model.W_U + model.b_U, dim=-1)  # [n_layers+1, 1, pos, vocab]
    store.put("lens/log_probs", log_probs[:, 0, LENS_POSITIONS])
    store.put("lens/top1", log_probs[:, 0].argmax(dim=-1))
    return {"tokens": tokens, "labels": labels, "positions": LENS_POSITIONS,
            "call": "resid, labels = cache.accumulated_resid(layer=None, incl_mid=False, apply_ln=True, "
                    "return_labels=True); log_softmax(resid @ model.W_U + model.b_U, -1)",
            "stored": "lens/log_probs [n_layers+1, len(positions), d_vocab] at `positions`; lens/top1 "
                      "[n_layers+1, pos] argmax ids as F32",
            "final_row_vs_model_log_softmax_max_abs":
                (log_probs[-1, 0] - F.log_softmax(logits[0], -1)).abs().max().item()}


def detector_tokens(spec: FamilySpec) -> list[int]:
    """7 seeded ids, the same 7 again, then 2 more: 16 tokens with exact repeats (no BOS)."""
    g = torch.Generator().manual_seed(spec.seed + 21)
    vocab = spec.config["vocab_size"]
    body = torch.randint(0, vocab, (7,), generator=g).tolist()
    tail = torch.randint(0, vocab, (2,), generator=g).tolist()
    return body + body + tail


def head_detector_goldens(store: TensorStore, model, spec: FamilySpec) -> dict:
    """detect_head for every pattern, measure and exclusion, as `detect` computes them. detect_head
    calls model.to_tokens(seq); it is stubbed on this instance to return the fixed ids (the
    placeholder tokenizer would otherwise prepend BOS); the rest is TransformerLens's."""
    tokens = detector_tokens(spec)
    token_tensor = torch.tensor([tokens])
    original = model.to_tokens
    model.to_tokens = lambda *args, **kwargs: token_tensor
    # The cache detect_head would make itself (run_with_cache(tokens, remove_batch_dim=True)), limited
    # to the patterns it reads: on Qwen3, TL 3.9's own full cache fails (remove_batch_dim slices the
    # q/k-norm hook_scale, whose rows are flattened, on a position axis it lacks).
    with torch.no_grad():
        _, cache = model.run_with_cache(token_tensor, remove_batch_dim=True, names_filter=lambda n: n.endswith("hook_pattern"))
    runs = []
    try:
        for head_name in HEAD_NAMES:
            for measure in ("mul", "abs"):
                for exclude_bos in (False, True):
                    for exclude_current in (False, True):
                        scores = detect_head(model, "<ignored: to_tokens stubbed>", head_name, cache=cache, exclude_bos=exclude_bos,
                                             exclude_current_token=exclude_current, error_measure=measure)
                        key = f"head_detector/{head_name}/{measure}/bos{int(exclude_bos)}_cur{int(exclude_current)}"
                        store.put(key, scores)
                        runs.append({"key": key, "detection_pattern": head_name, "error_measure": measure,
                                     "exclude_bos": exclude_bos, "exclude_current_token": exclude_current})
    finally:
        model.to_tokens = original
    return {"tokens": tokens,
            "call": "detect_head(model, seq, <head name>, cache=cache, exclude_bos=..., exclude_current_token=..., "
                    "error_measure=...) with model.to_tokens stubbed to return torch.tensor([tokens]); cache = "
                    "model.run_with_cache(tokens, remove_batch_dim=True, names_filter=<hook_pattern>)",
            "output": "[n_layers, n_heads] (query heads; hook_pattern has n_heads heads under GQA/MQA)",
            "runs": runs}


def induction_goldens(store: TensorStore, model, spec: FamilySpec, half_len: int = 10, batch: int = 2) -> dict:
    """The induction experiment's per-head score (pattern diagonal at offset 1 - half_len, mean over
    batch and diagonal) and per-token loss on [first, r, r] rows."""
    g = torch.Generator().manual_seed(spec.seed + 33)
    vocab = spec.config["vocab_size"]
    rand = torch.randint(1, vocab - 1, (batch, half_len), generator=g)
    tokens = torch.cat([torch.full((batch, 1), 1), rand, rand], dim=1)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
        scores = torch.stack([cache["pattern", layer].diagonal(dim1=-2, dim2=-1, offset=1 - half_len).mean(dim=(0, 2))
                              for layer in range(model.cfg.n_layers)])
        per_token = lm_cross_entropy_loss(logits, tokens, per_token=True)
    store.put("induction/scores", scores)
    store.put("induction/loss_per_token", per_token)
    return {"tokens": tokens.tolist(), "half_len": half_len,
            "scores": f"per layer: cache['pattern', layer].diagonal(dim1=-2, dim2=-1, offset={1 - half_len})"
                      ".mean(dim=(0, 2)) -> [n_layers, n_heads]",
            "loss_per_token": "lm_cross_entropy_loss(logits, tokens, per_token=True)"}


def head_patching_goldens(store: TensorStore, model, clean: list[int], corrupt: list[int], t1: int, t2: int) -> dict:
    """Per-head patching sweeps over all positions on the query side (hook_q, hook_pattern, hook_z:
    n_heads heads; TransformerLens's own helpers) and the key/value side (hook_v: n_key_value_heads
    heads, written with run_with_hooks because TL's get_act_patch_attn_head_v_all_pos indexes query
    heads and fails under grouped-query attention)."""
    clean_t, corrupt_t = torch.tensor([clean]), torch.tensor([corrupt])

    def metric(logits):
        return logits[0, -1, t1] - logits[0, -1, t2]

    calls = {}
    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean_t)
        for key, fn_name in (("q_all_pos", "get_act_patch_attn_head_q_all_pos"),
                             ("pattern_all_pos", "get_act_patch_attn_head_pattern_all_pos"),
                             ("z_all_pos", "get_act_patch_attn_head_out_all_pos")):
            store.put(f"heads/{key}", getattr(patching, fn_name)(model, corrupt_t, clean_cache, metric))
            calls[key] = f"patching.{fn_name}(model, corrupted, clean_cache, metric)"
        n_kv = model.cfg.n_key_value_heads or model.cfg.n_heads
        grid = torch.zeros(model.cfg.n_layers, n_kv)
        for layer in range(model.cfg.n_layers):
            name = f"blocks.{layer}.attn.hook_v"
            for head in range(n_kv):
                def hook(act, hook, head=head, name=name):
                    act[:, :, head] = clean_cache[name][:, :, head]
                    return act
                grid[layer, head] = metric(model.run_with_hooks(corrupt_t, fwd_hooks=[(name, hook)]))
        store.put("heads/v_kv_head_all_pos", grid)
        calls["v_kv_head_all_pos"] = "run_with_hooks patching hook_v[:, :, g] from the clean cache per layer and kv head"
    return {"clean": clean, "corrupted": corrupt, "t1": t1, "t2": t2,
            "metric": "logits[0, -1, t1] - logits[0, -1, t2] (processed model)", "calls": calls}


def generate(spec: FamilySpec) -> None:
    out_dir = os.path.join(OUT_ROOT, spec.name)
    hf_dir = os.path.join(out_dir, "hf")
    with open(os.path.join(out_dir, "meta.json")) as f:
        meta = json.load(f)
    _, model_cls = CLASSES[spec.family]
    ref = model_cls.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager")
    ref.eval()
    store = TensorStore()
    info: dict = {"model": spec.name,
                  "versions": {"torch": torch.__version__, "transformer_lens": version("transformer-lens")}}
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, f"m{spec.seed}")
        shutil.copytree(hf_dir, local)
        placeholder_tokenizer(spec.config["vocab_size"]).save_pretrained(local)
        if spec.family == "gemma2":
            GEMMA2_DIRS[local] = spec.config
        if spec.family == "gemma":
            GEMMA_DIRS[local] = spec.config
        model = tl_model(local, ref, processed=True)
        info["lens"] = lens_goldens(store, model, meta["tokens"])
        info["head_detector"] = head_detector_goldens(store, model, spec)
        info["induction"] = induction_goldens(store, model, spec)
        interp = meta["interp"]
        info["heads"] = head_patching_goldens(store, model, interp["clean"], interp["corrupted"], interp["t1"], interp["t2"])
    store.save(os.path.join(out_dir, "lens_heads.safetensors"))
    write_json(os.path.join(out_dir, "lens_heads.json"), info)
    print(f"{spec.name}: lens final row vs model {info['lens']['final_row_vs_model_log_softmax_max_abs']:.2e}", flush=True)


def main() -> None:
    families.run_specs(generate, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
