"""SAE and transcoder goldens from SAELens (sae-lens 6) on the golden models tiny-a and tiny-b.

For every architecture SAELens 6 loads (standard, gated, jumprelu, topk, batchtopk saved for
inference, transcoders) and the cfg options that change the math (apply_b_dec_to_input,
normalize_activations, hook_z reshaping, F16/BF16 weights), this script builds a seeded random
SAE, writes it in SAELens's own layout with SAE.save_model (cfg.json with its metadata block +
sae_weights.safetensors), loads it back with SAE.load_from_disk, and records with
HookedSAETransformer:

  x            the activation at the SAE's input hook (model without SAEs)   [1, pos, ...]
  encode       sae.encode(x)                                                 [1, pos, d_sae]
  decode       sae.decode(encode)
  forward      sae(x) (Transcoder.forward for transcoders, W_skip included)
  spliced/...  run_with_cache_with_saes(tokens, saes=[sae]): logits and every hook_sae_* entry
  spliced_error/...  the same with use_error_term=True
  ablated/...  use_error_term=True plus a hook zeroing two features in hook_sae_acts_post

Outputs: Tests/Fixtures/sae/<case>/sae/ (the SAE as SAELens wrote it), golden.safetensors and
meta.json. Run from the repository root with the reference venv:

    /work/venv-ref/bin/python tools/goldens/saes.py
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field

import torch
from transformers import GPT2LMHeadModel

sys.path.insert(0, os.path.dirname(__file__))
from models import SPECS, tl_config  # noqa: E402
from engine import fixed_tokens  # noqa: E402
from store import TensorStore  # noqa: E402

import sae_lens  # noqa: E402
from sae_lens import SAE, HookedSAETransformer  # noqa: E402
from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig  # noqa: E402
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "sae")


@dataclass
class Case:
    name: str
    model: str
    architecture: str
    hook: str
    d_sae: int = 128
    hook_out: str | None = None
    dtype: str = "float32"
    apply_b_dec_to_input: bool = True
    normalize: str = "none"
    reshape: str = "none"
    extra: dict = field(default_factory=dict)
    seed: int = 0


CASES = [
    Case("standard", "tiny-a", "standard", "blocks.0.hook_resid_pre", seed=1),
    Case("standard_nobdec_ln", "tiny-a", "standard", "blocks.1.hook_mlp_out", apply_b_dec_to_input=False,
         normalize="layer_norm", seed=2),
    Case("standard_cnr_f16", "tiny-a", "standard", "blocks.1.hook_resid_post", normalize="constant_norm_rescale",
         dtype="float16", seed=3),
    Case("standard_avg_only_in", "tiny-b", "standard", "blocks.2.hook_resid_mid", normalize="expected_average_only_in", seed=4),
    Case("gated", "tiny-a", "gated", "blocks.1.hook_resid_mid", seed=5),
    Case("jumprelu_bf16", "tiny-a", "jumprelu", "blocks.1.hook_resid_post", dtype="bfloat16", seed=6),
    Case("topk", "tiny-a", "topk", "blocks.0.hook_mlp_out", extra={"k": 8}, seed=7),
    Case("topk_rescale", "tiny-b", "topk", "blocks.1.hook_resid_pre", extra={"k": 12, "rescale_acts_by_decoder_norm": True}, seed=8),
    Case("batchtopk", "tiny-a", "batchtopk", "blocks.1.hook_resid_pre", extra={"k": 6}, seed=9),
    Case("hook_z", "tiny-b", "standard", "blocks.1.attn.hook_z", reshape="hook_z", seed=10),
    Case("transcoder", "tiny-a", "transcoder", "blocks.0.ln2.hook_normalized", hook_out="blocks.0.hook_mlp_out",
         apply_b_dec_to_input=False, seed=11),
    Case("jumprelu_transcoder", "tiny-b", "jumprelu_transcoder", "blocks.1.mlp.hook_in", hook_out="blocks.1.hook_mlp_out",
         apply_b_dec_to_input=False, seed=12),
    Case("skip_transcoder", "tiny-a", "skip_transcoder", "blocks.1.ln2.hook_normalized", hook_out="blocks.1.hook_mlp_out",
         apply_b_dec_to_input=False, seed=13),
]


def spec_named(name):
    return next(s for s in SPECS if s.name == name)


def load_model(name: str) -> tuple[HookedSAETransformer, list[int]]:
    spec = spec_named(name)
    hf = GPT2LMHeadModel.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "golden", name, "hf"), dtype=torch.float32)
    hf.eval()
    cfg = tl_config(spec)
    model = HookedSAETransformer(cfg)
    model.load_and_process_state_dict(convert_gpt2_weights(hf, cfg), fold_ln=True, center_writing_weights=True,
                                      center_unembed=True, fold_value_biases=True)
    model.eval()
    tokens, _ = fixed_tokens(spec)
    return model, tokens


def widths(model: HookedSAETransformer, hook: str, reshape: str) -> int:
    _, cache = model.run_with_cache(torch.tensor([[0, 1]]))
    name = hook.replace(".mlp.hook_in", ".ln2.hook_normalized")
    shape = cache[name].shape[2:]
    return int(torch.tensor(shape).prod()) if reshape == "hook_z" else int(shape[-1])


def randomize(sae, case: Case, d_in: int) -> None:
    """Seeded weights that make a fair share of features fire on the tiny models' activations."""
    g = torch.Generator().manual_seed(1000 + case.seed)
    with torch.no_grad():
        for name, p in sae.named_parameters():
            shape = p.shape
            if name in ("W_enc",):
                v = torch.randn(shape, generator=g) / d_in ** 0.5
            elif name in ("W_dec", "W_skip"):
                v = torch.randn(shape, generator=g) * 0.3
            elif name == "threshold":
                v = torch.rand(shape, generator=g) * 0.3
            elif name == "r_mag":
                v = torch.randn(shape, generator=g) * 0.3
            else:  # b_enc, b_dec, b_gate, b_mag
                v = torch.randn(shape, generator=g) * 0.2
            p.copy_(v.to(p.dtype))


def build_sae(case: Case, d_in: int, d_out: int, model_name: str):
    metadata = {"hook_name": case.hook, "model_name": model_name, "neuronpedia_id": f"tlsh-test/{case.name}",
                "hook_head_index": None, "prepend_bos": True}
    common = dict(d_in=d_in, d_sae=case.d_sae, dtype=case.dtype, device="cpu",
                  apply_b_dec_to_input=case.apply_b_dec_to_input, normalize_activations=case.normalize,
                  reshape_activations=case.reshape)
    if case.hook_out:
        metadata["hook_name_out"] = case.hook_out
        common["d_out"] = d_out
    if case.architecture == "batchtopk":
        # SAELens trains BatchTopK and saves it for inference as a JumpReLU SAE with the learned threshold.
        cfg = BatchTopKTrainingSAEConfig(**common, **case.extra)
        cfg.metadata = sae_lens.saes.sae.SAEMetadata(**metadata)
        sae = BatchTopKTrainingSAE(cfg)
        randomize(sae, case, d_in)
        sae.topk_threshold = torch.tensor(0.15, dtype=torch.double)
        return sae
    cls, cfg_cls = sae_lens.registry.get_sae_class(case.architecture)
    cfg = cfg_cls(**common, **case.extra)
    cfg.metadata = sae_lens.saes.sae.SAEMetadata(**metadata)
    sae = cls(cfg)
    randomize(sae, case, d_in)
    return sae


def record_case(case: Case) -> None:
    model, tokens = load_model(case.model)
    d_in = widths(model, case.hook, case.reshape)
    d_out = widths(model, case.hook_out, "none") if case.hook_out else d_in
    sae = build_sae(case, d_in, d_out, case.model)
    out_dir = os.path.join(OUT, case.name)
    shutil.rmtree(out_dir, ignore_errors=True)
    sae_dir = os.path.join(out_dir, "sae")
    if case.architecture == "batchtopk":
        sae.save_inference_model(sae_dir)
        # save_inference_model also writes training-only files; keep SAELens's inference layout.
    else:
        sae.save_model(sae_dir)
    # The reference reads the files back; F16/BF16 weights are widened to F32 as tlsh computes.
    loaded = SAE.load_from_disk(sae_dir, dtype="float32")
    loaded.eval()

    store = TensorStore()
    toks = torch.tensor([tokens])
    _, cache = model.run_with_cache(toks)
    in_name = case.hook.replace(".mlp.hook_in", ".ln2.hook_normalized")
    x = cache[in_name]
    with torch.no_grad():
        store.put("x", x)
        acts = loaded.encode(x)
        store.put("encode", acts)
        store.put("decode", loaded.decode(acts))
        store.put("forward", loaded(x))

        keys = {}
        logits, c = model.run_with_cache_with_saes(toks, saes=[loaded], use_error_term=False)
        store.put("spliced/logits", logits)
        keys["spliced"] = [k for k in c.keys() if "hook_sae" in k]
        for k in keys["spliced"]:
            store.put("spliced/" + k, c[k])
        logits, c = model.run_with_cache_with_saes(toks, saes=[loaded], use_error_term=True)
        store.put("spliced_error/logits", logits)
        keys["spliced_error"] = [k for k in c.keys() if "hook_sae" in k]
        for k in keys["spliced_error"]:
            store.put("spliced_error/" + k, c[k])

        ablate = [int(i) for i in acts[0].abs().sum(0).topk(2).indices.tolist()]
        out_hook = case.hook_out or case.hook

        def zero(t, hook):
            t[..., ablate] = 0
            return t
        model.add_sae(loaded, use_error_term=True)
        logits = model.run_with_hooks(toks, fwd_hooks=[(out_hook + ".hook_sae_acts_post", zero)])
        model.reset_saes()
        store.put("ablated/logits", logits)

    os.makedirs(out_dir, exist_ok=True)
    store.save(os.path.join(out_dir, "golden.safetensors"))
    meta = {
        "case": case.name, "model": case.model, "architecture": case.architecture, "hook": case.hook,
        "hook_out": case.hook_out, "tokens": tokens, "ablate": ablate, "keys": keys,
        "versions": {"sae_lens": sae_lens.__version__, "torch": torch.__version__},
        "note": "written by tools/goldens/saes.py; x is the activation at the input hook of the model without SAEs",
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{case.name}: {case.architecture} at {case.hook}{' -> ' + case.hook_out if case.hook_out else ''}, "
          f"L0 {float((acts > 0).float().sum(-1).mean()):.1f} of {case.d_sae}")


def record_multi() -> None:
    """Two SAEs spliced at once (standard at blocks.0.hook_resid_pre, topk at blocks.0.hook_mlp_out)."""
    model, tokens = load_model("tiny-a")
    saes = [SAE.load_from_disk(os.path.join(OUT, n, "sae"), dtype="float32") for n in ("standard", "topk")]
    store = TensorStore()
    toks = torch.tensor([tokens])
    with torch.no_grad():
        logits, c = model.run_with_cache_with_saes(toks, saes=saes, use_error_term=False)
        store.put("spliced/logits", logits)
        for k in c.keys():
            if "hook_sae" in k:
                store.put("spliced/" + k, c[k])
    out_dir = os.path.join(OUT, "multi")
    os.makedirs(out_dir, exist_ok=True)
    store.save(os.path.join(out_dir, "golden.safetensors"))
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump({"case": "multi", "model": "tiny-a", "saes": ["standard", "topk"], "tokens": tokens}, f, indent=1)
        f.write("\n")


def main() -> None:
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    for case in CASES:
        record_case(case)
    record_multi()


if __name__ == "__main__":
    main()
