#!/usr/bin/env python3
"""Generates tlsh's golden fixtures from TransformerLens 3.9 (never run by the tests).

Usage: /work/venv-ref/bin/python tools/goldens/generate.py [--only tiny-a,...]

For each tiny random GPT-2 model in models.SPECS this writes, under Tests/Fixtures/golden/<name>/:
  hf/config.json, hf/model.safetensors   the model in Hugging Face format (what tlsh loads)
  golden.safetensors + meta.json         stage 1: engine goldens (see README.md there)
  interp.safetensors + interp.json       stage 2: interpretability goldens
Deterministic: fixed seeds, 2 CPU threads, no network.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # patching sweeps print one progress bar each

import torch  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import transformers  # noqa: E402
import transformer_lens  # noqa: E402
from importlib.metadata import version  # noqa: E402

import engine  # noqa: E402
import interp  # noqa: E402
import models  # noqa: E402
from store import TensorStore  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_ROOT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "golden")
OPTIONAL_HOOK_MODELS = {"tiny-a"}
# Weight goldens left out to keep all fixtures well under 10 MB (see meta.json "weights").
# Unprocessed W_E / W_U are exact copies of HF tensors. tiny-b (the largest model) stores no
# weight goldens: its conversion and processing run the same code as tiny-a's and are pinned
# down by its processed and unprocessed logits and caches.
EMBEDDINGS = frozenset({"embed.W_E", "unembed.W_U"})
ALL_WEIGHTS = None  # sentinel: store no weights at all


def weights_not_stored(spec_name: str, prefix: str):
    if spec_name == "tiny-b":
        return ALL_WEIGHTS
    return EMBEDDINGS if prefix == "unprocessed" else frozenset()


def versions() -> dict:
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "transformer_lens": version("transformer-lens"),
        "safetensors": version("safetensors"),
        "python": sys.version.split()[0],
    }


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")


def stage1(spec: models.ModelSpec, hf_model, out_dir: str) -> dict:
    seq_a, seq_b = engine.fixed_tokens(spec)
    t1, t2 = engine.answer_tokens(spec, seq_a)
    tokens_a = torch.tensor([seq_a])

    processed = models.make_tl_model(spec, hf_model, processed=True)
    unprocessed = models.make_tl_model(spec, hf_model, processed=False)
    store = TensorStore()
    meta: dict = {"model": spec.name, "versions": versions()}
    meta["hf_config"] = json.load(open(os.path.join(out_dir, "hf", "config.json")))
    meta["hf_files"] = {"layout": "original openai-community/gpt2 (no transformer. prefix, F16, attn.bias buffers)"
                        if spec.original_layout_f16 else "transformers 5 save_pretrained (transformer.* keys, F32)"}
    meta["tl_config"] = {
        "processed": models.tl_config_dict(processed),
        "unprocessed": models.tl_config_dict(unprocessed),
        "construction": "HookedTransformer(HookedTransformerConfig(n_layers, d_model, n_heads, d_head, d_mlp, "
                        "n_ctx=n_positions, d_vocab=vocab, act_fn='gelu_new', normalization_type='LN', eps=1e-5, "
                        "positional_embedding_type='standard', original_architecture='GPT2LMHeadModel')); "
                        "load_and_process_state_dict(convert_gpt2_weights(hf_model, cfg), fold_ln=P, "
                        "center_writing_weights=P, center_unembed=P, fold_value_biases=P) with P=True (processed) "
                        "or False (unprocessed). With P=True TL switches cfg.normalization_type to 'LNPre'.",
    }
    if spec.original_layout_f16:
        meta["tl_config"]["note"] = "reference weights = the F16 file's values widened to F32"
    meta["tokens"] = {"seq_a": seq_a, "seq_b": seq_b, "bos": spec.bos, "t1": t1, "t2": t2}

    keys = {}
    for prefix, model in (("processed", processed), ("unprocessed", unprocessed)):
        keys[prefix] = engine.record_model_run(store, prefix, model, tokens_a,
                                               skip_weights=weights_not_stored(spec.name, prefix))
    meta["weights"] = {
        "stored": "named_parameters() only; buffers (attn.mask = causal tril bool [n_ctx,n_ctx], attn.IGNORE = -inf scalar) omitted",
        "processed_state_dict_keys": list(processed.state_dict().keys()),
        "unprocessed_state_dict_keys": list(unprocessed.state_dict().keys()),
        "processed_stored": [k for k in store.tensors if k.startswith("processed/weights/")],
        "unprocessed_stored": [k for k in store.tensors if k.startswith("unprocessed/weights/")],
        "why_some_are_missing": "size budget; unprocessed embed.W_E == HF wte.weight and unembed.W_U == "
                                "HF lm_head.weight.T (wte.weight.T when tied), bit for bit",
    }

    if spec.name in OPTIONAL_HOOK_MODELS:
        optional = models.make_tl_model(spec, hf_model, processed=True)
        optional.set_use_attn_result(True)
        optional.set_use_split_qkv_input(True)
        optional.set_use_hook_mlp_in(True)
        optional.set_use_attn_in(True)
        with torch.no_grad():
            logits_opt, cache_opt = optional.run_with_cache(tokens_a)
        # Only the gated hooks are stored; every other entry equals processed/cache/<name>.
        keys["processed_optional"] = list(cache_opt.keys())
        store.put_all("processed/optional_cache/",
                      [(k, v) for k, v in cache_opt.items() if k not in cache_default_keys(store)])
        meta["optional_cache_flags"] = ["use_attn_result", "use_split_qkv_input", "use_hook_mlp_in", "use_attn_in"]
        meta["optional_vs_default_logits_max_abs"] = (
            logits_opt - store.tensors["processed/logits"]).abs().max().item()
    meta["cache_keys"] = keys

    # Hooked run.
    logits, described = engine.hooked_run(processed, tokens_a)
    store.put("processed/hooked/logits", logits)
    meta["hooked"] = {"call": "model.run_with_hooks(seq_a, fwd_hooks=[...])", "hooks": described}

    # Layer ranges.
    with torch.no_grad():
        _, cache = processed.run_with_cache(tokens_a)
        resid = cache["blocks.1.hook_resid_pre"]
        store.put("processed/start_at_layer/logits", processed(resid, start_at_layer=1))
        store.put("processed/stop_at_layer/resid", processed(tokens_a, stop_at_layer=1))
    meta["layer_ranges"] = {
        "start_at_layer": "resid = cache['blocks.1.hook_resid_pre'] (processed, seq A); model(resid, start_at_layer=1) -> logits [1,pos,vocab]",
        "stop_at_layer": "model(seq_a, stop_at_layer=1) -> residual (= blocks.0.hook_resid_post) [1,pos,d_model]",
    }

    # Right-padded batch with an explicit attention mask.
    pad_len = 5
    row2 = seq_b[:7] + [spec.bos] * pad_len
    padded = torch.tensor([seq_a, row2])
    mask = torch.tensor([[1] * 12, [1] * 7 + [0] * pad_len])
    with torch.no_grad():
        store.put("processed/padded/logits", processed(padded, attention_mask=mask))
        row2_alone = processed(torch.tensor([seq_b[:7]]))
    meta["padded"] = {
        "tokens": padded.tolist(), "attention_mask": mask.tolist(), "pad_id": spec.bos,
        "call": "model(tokens, attention_mask=attention_mask)  # model has no tokenizer; padding_side irrelevant when a mask is passed",
        "row1_vs_unpadded_seq_b7_logits_max_abs": (
            store.tensors["processed/padded/logits"][1, :7] - row2_alone[0]).abs().max().item(),
        "note": "logits at masked (pad) positions are whatever TL computes there: the query attends only "
                "to unmasked keys (pad keys are masked for every query), pos-embed is zero at pad positions",
    }

    # Cache analyses on seq A's processed cache.
    meta["analysis"] = engine.cache_analyses(store, processed, cache, tokens_a, t1, t2)

    meta["tolerances_observed"] = engine.hf_vs_tl_logit_diffs(hf_model, unprocessed, processed, tokens_a)
    store.save(os.path.join(out_dir, "golden.safetensors"))
    meta["golden_keys"] = list(store.tensors.keys())
    meta["golden_shapes"] = {k: list(v.shape) for k, v in store.tensors.items()}
    write_json(os.path.join(out_dir, "meta.json"), meta)
    return {"processed": processed, "hf_model": hf_model, "versions": meta["versions"], "seq_a": seq_a, "seq_b": seq_b, "t1": t1, "t2": t2}


def cache_default_keys(store: TensorStore) -> set[str]:
    prefix = "processed/cache/"
    return {k[len(prefix):] for k in store.tensors if k.startswith(prefix)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--stage", default="all", choices=["1", "2", "all"])
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    for spec in models.SPECS:
        if wanted and spec.name not in wanted:
            continue
        started = time.time()
        out_dir = os.path.join(OUT_ROOT, spec.name)
        hf_model = models.make_hf_model(spec)
        ref_model = models.save_hf_model(spec, hf_model, os.path.join(out_dir, "hf"))
        ctx = stage1(spec, ref_model, out_dir)
        if args.stage in ("2", "all"):
            if spec.name in interp.MODELS:
                interp.stage2(spec, ctx, out_dir)
        print(f"{spec.name}: done in {time.time() - started:.1f}s", flush=True)


if __name__ == "__main__":
    main()
