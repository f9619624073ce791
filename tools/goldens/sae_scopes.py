"""Gemma Scope and Llama Scope goldens: tiny random SAEs in those releases' own file layouts, loaded
by sae-lens's own converters through SAE.from_pretrained, on the golden model tiny-a.

Layouts written (each under the Hugging Face repo and folder that SAELens's release table names,
in Tests/Fixtures/sae_scopes/hub/<repo>/<folder>/, which the test hub server also serves):

  gemma_scope_res        Gemma Scope (gemma-scope-2b-pt-res): params.npz written by np.savez
                         (W_enc, W_dec, b_enc, b_dec, threshold), JumpReLU at blocks.1.hook_resid_post
  gemma_scope_mlp        gemma-scope-2b-pt-mlp-canonical: params.npz by np.savez_compressed (deflate),
                         at blocks.0.hook_mlp_out, with the release's Neuronpedia id
  gemma_scope_embedding  gemma-scope-2b-pt-res embedding SAE: hook_embed; SAELens rescales W_enc by
                         1/sqrt(d_in) and W_dec by sqrt(d_in)
  gemma_scope_2_res      Gemma Scope 2 (gemma-scope-2-270m-pt-res-all): params.safetensors with
                         lowercase w_enc/w_dec, no config.json (SAELens infers it from the folder)
  gemma_scope_2_transcoder  gemma-scope-2-270m-pt-transcoders-all, affine: config.json plus
                         affine_skip_connection [d_in, d_out] (W_skip = its transpose); encode,
                         decode and forward only (SAELens names its input hook blocks.L.hook_mlp_in)
  llama_scope_res        Llama Scope (llama_scope_lxr_8x): hyperparams.json + checkpoints/final.safetensors
                         (encoder.weight [d_sae, d_in], decoder.weight [d_in, d_sae]); a scalar
                         jump_relu_threshold; from_pretrained folds the release's norm_scaling_factor

Gemma Scope's converter takes d_in from the model named in the repo (2304 for gemma-2-2b) and
d_sae from the folder's width tag; these tiny SAEs have tiny-a's width, so d_in and d_sae are
passed as config overrides for the Gemma Scope 1 cases only (everything else is SAELens's own
derivation). The derivation itself is recorded without overrides in config_derivation.json for
real release names (no download needed for Gemma Scope 1).

hf_hub_download (and the shape probe of Gemma Scope 2) are redirected to the fixture tree; nothing
else in SAELens is changed. Outputs per case: Tests/Fixtures/sae_scopes/<case>/{golden.safetensors,
meta.json}. Run from the repository root with the reference venv:

    /work/venv-ref/bin/python tools/goldens/sae_scopes.py
"""
from __future__ import annotations

import json
import os
import shutil
import sys

import numpy as np
import torch
from huggingface_hub.utils import EntryNotFoundError
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from saes import load_model  # noqa: E402
from store import TensorStore  # noqa: E402

import sae_lens  # noqa: E402
import sae_lens.loading.pretrained_sae_loaders as loaders  # noqa: E402
import sae_lens.saes.sae as sae_module  # noqa: E402
from sae_lens import SAE  # noqa: E402
from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "sae_scopes")
HUB = os.path.join(OUT, "hub")
D_SAE = 96


def fake_download(repo_id, filename, subfolder=None, **_):
    path = os.path.join(HUB, repo_id, *(subfolder.split("/") if subfolder else []), filename)
    if not os.path.exists(path):
        raise EntryNotFoundError(f"{repo_id}: no {subfolder}/{filename}")
    return path


def fake_shapes(repo_id, filename):
    with safe_open(fake_download(repo_id, filename), framework="pt") as f:
        return {k: list(f.get_slice(k).get_shape()) for k in f.keys()}


loaders.hf_hub_download = fake_download
loaders.get_safetensors_tensor_shapes = fake_shapes
GEMMA_1_OVERRIDES: dict = {}
_real_overrides = sae_module.get_config_overrides


def overrides(release, sae_id):
    out = dict(_real_overrides(release, sae_id))
    out.update(GEMMA_1_OVERRIDES)
    return out


sae_module.get_config_overrides = overrides


def release_entry(release: str, sae_id: str) -> tuple[str, str]:
    r = get_pretrained_saes_directory()[release]
    return r.repo_id, r.saes_map[sae_id]


def gen(seed: int):
    return torch.Generator().manual_seed(5000 + seed)


def jumprelu_weights(seed: int, d_in: int, d_out: int, enc_scale: float = 1.0) -> dict[str, np.ndarray]:
    g = gen(seed)
    return {
        "W_enc": (torch.randn(d_in, D_SAE, generator=g) / d_in ** 0.5 * enc_scale).numpy(),
        "W_dec": (torch.randn(D_SAE, d_out, generator=g) * 0.3).numpy(),
        "b_enc": (torch.randn(D_SAE, generator=g) * 0.2).numpy(),
        "b_dec": (torch.randn(d_out, generator=g) * 0.2).numpy(),
        "threshold": (torch.rand(D_SAE, generator=g) * 0.3).numpy(),
    }


def write_gemma_1(folder: str, w: dict, compressed: bool) -> None:
    os.makedirs(folder, exist_ok=True)
    (np.savez_compressed if compressed else np.savez)(os.path.join(folder, "params.npz"), **w)


def write_gemma_2(folder: str, w: dict, config: dict | None, skip: np.ndarray | None = None) -> None:
    os.makedirs(folder, exist_ok=True)
    t = {k.lower(): torch.from_numpy(v).contiguous() for k, v in w.items()}
    if skip is not None:
        t["affine_skip_connection"] = torch.from_numpy(skip).contiguous()
    save_file(t, os.path.join(folder, "params.safetensors"))
    if config is not None:
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=1)


def write_llama(folder: str, seed: int, d_in: int, hook: str, nsf: float) -> None:
    g = gen(seed)
    os.makedirs(os.path.join(folder, "checkpoints"), exist_ok=True)
    # SAELens multiplies W_enc and divides W_dec, b_dec by the norm scaling factor when it folds
    # it in, and scales the stored threshold by the same factor: store weights that land in a
    # range where a fair share of features fire.
    t = {
        "encoder.weight": torch.randn(D_SAE, d_in, generator=g) / d_in ** 0.5 / nsf,
        "decoder.weight": torch.randn(d_in, D_SAE, generator=g) * 0.3 * nsf,
        "encoder.bias": torch.randn(D_SAE, generator=g) * 0.2,
        "decoder.bias": torch.randn(d_in, generator=g) * 0.2 * nsf,
    }
    save_file(t, os.path.join(folder, "checkpoints", "final.safetensors"))
    hyper = {"d_model": d_in, "d_sae": D_SAE, "hook_point_in": hook, "hook_point_out": hook,
             "jump_relu_threshold": 0.15 / nsf, "dataset_average_activation_norm": {"in": d_in ** 0.5 / nsf, "out": d_in ** 0.5 / nsf},
             "act_fn": "jumprelu", "top_k": 50}
    with open(os.path.join(folder, "hyperparams.json"), "w") as f:
        json.dump(hyper, f, indent=1)


CASES = []


def case(name, release, sae_id, splice=True, gemma1=False):
    CASES.append(dict(name=name, release=release, sae_id=sae_id, splice=splice, gemma1=gemma1))


def first_id(release: str, prefix: str) -> str:
    return next(i for i in get_pretrained_saes_directory()[release].saes_map if i.startswith(prefix))


def write_layouts(d_model: int, d_mlp: int) -> None:
    shutil.rmtree(HUB, ignore_errors=True)
    repo, path = release_entry("gemma-scope-2b-pt-res", first_id("gemma-scope-2b-pt-res", "layer_1/width_16k/"))
    write_gemma_1(os.path.join(HUB, repo, path), jumprelu_weights(1, d_model, d_model), compressed=False)
    case("gemma_scope_res", "gemma-scope-2b-pt-res", first_id("gemma-scope-2b-pt-res", "layer_1/width_16k/"), gemma1=True)

    repo, path = release_entry("gemma-scope-2b-pt-mlp-canonical", "layer_0/width_16k/canonical")
    write_gemma_1(os.path.join(HUB, repo, path), jumprelu_weights(2, d_model, d_model), compressed=True)
    case("gemma_scope_mlp", "gemma-scope-2b-pt-mlp-canonical", "layer_0/width_16k/canonical", gemma1=True)

    sid = first_id("gemma-scope-2b-pt-res", "embedding/")
    repo, path = release_entry("gemma-scope-2b-pt-res", sid)
    write_gemma_1(os.path.join(HUB, repo, path), jumprelu_weights(3, d_model, d_model, enc_scale=d_model ** 0.5 * 8), compressed=False)
    case("gemma_scope_embedding", "gemma-scope-2b-pt-res", sid, gemma1=True)

    repo, path = release_entry("gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small")
    write_gemma_2(os.path.join(HUB, repo, path), jumprelu_weights(4, d_model, d_model), config=None)
    case("gemma_scope_2_res", "gemma-scope-2-270m-pt-res-all", "layer_1_width_16k_l0_small")

    repo, path = release_entry("gemma-scope-2-270m-pt-transcoders-all", "layer_0_width_16k_l0_big_affine")
    skip = (torch.randn(d_model, d_model, generator=gen(15)) * 0.1).numpy()
    config = {"architecture": "jump_relu", "model_name": "gemma-v3-270m-pt", "affine_connection": True,
              "hf_hook_point_in": "model.layers.0.pre_feedforward_layernorm.output",
              "hf_hook_point_out": "model.layers.0.post_feedforward_layernorm.output"}
    write_gemma_2(os.path.join(HUB, repo, path), jumprelu_weights(5, d_model, d_model), config=config, skip=skip)
    case("gemma_scope_2_transcoder", "gemma-scope-2-270m-pt-transcoders-all", "layer_0_width_16k_l0_big_affine", splice=False)

    repo, path = release_entry("llama_scope_lxr_8x", "l1r_8x")
    nsf = sae_module.get_norm_scaling_factor("llama_scope_lxr_8x", "l1r_8x")
    write_llama(os.path.join(HUB, repo, path), 6, d_model, "blocks.1.hook_resid_post", nsf)
    case("llama_scope_res", "llama_scope_lxr_8x", "l1r_8x")


def record(c: dict, model, tokens) -> None:
    GEMMA_1_OVERRIDES.clear()
    if c["gemma1"]:
        GEMMA_1_OVERRIDES.update({"d_in": model.cfg.d_model, "d_sae": D_SAE})
    sae, cfg_dict, _ = SAE.from_pretrained_with_cfg_and_sparsity(c["release"], c["sae_id"], device="cpu")
    sae.eval()
    hook = sae.cfg.metadata.hook_name
    store = TensorStore()
    toks = torch.tensor([tokens])
    _, cache = model.run_with_cache(toks)
    in_name = {"blocks.0.hook_mlp_in": "blocks.0.ln2.hook_normalized"}.get(hook, hook)
    x = cache[in_name]
    keys = []
    with torch.no_grad():
        store.put("x", x)
        acts = sae.encode(x)
        store.put("encode", acts)
        store.put("decode", sae.decode(acts))
        store.put("forward", sae(x))
        if c["splice"]:
            logits, sc = model.run_with_cache_with_saes(toks, saes=[sae], use_error_term=False)
            store.put("spliced/logits", logits)
            keys = [k for k in sc.keys() if "hook_sae" in k]
            for k in keys:
                store.put("spliced/" + k, sc[k])
    out_dir = os.path.join(OUT, c["name"])
    os.makedirs(out_dir, exist_ok=True)
    store.save(os.path.join(out_dir, "golden.safetensors"))
    repo, path = release_entry(c["release"], c["sae_id"])
    derived = {k: cfg_dict.get(k) for k in ("architecture", "d_in", "d_sae", "d_out", "hook_name", "hook_name_out", "model_name",
                                             "apply_b_dec_to_input", "normalize_activations")}
    md = sae.cfg.metadata  # SAELens 6 keeps hook and model names here
    derived.update({k: getattr(md, k, None) for k in ("hook_name", "hook_name_out", "model_name", "neuronpedia_id")})
    derived["normalize_activations"] = sae.cfg.normalize_activations  # after from_pretrained's folding
    meta = {"case": c["name"], "model": "tiny-a", "release": c["release"], "sae_id": c["sae_id"], "repo": repo, "path": path,
            "tokens": tokens, "keys": keys, "hook": hook, "config": derived,
            "config_overrides": dict(GEMMA_1_OVERRIDES),
            "norm_scaling_factor": sae_module.get_norm_scaling_factor(c["release"], c["sae_id"]),
            "versions": {"sae_lens": sae_lens.__version__, "torch": torch.__version__},
            "note": "written by tools/goldens/sae_scopes.py; x is the activation at the input hook of the model without SAEs"}
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    l0 = float((acts > 0).float().sum(-1).mean())
    print(f"{c['name']}: {cfg_dict['architecture']} at {hook}, L0 {l0:.1f} of {D_SAE}")
    assert 0 < l0 < D_SAE, "a golden where no feature (or every feature) fires cannot catch mistakes"


def record_config_derivation() -> None:
    """SAELens's Gemma Scope 1 cfg derivation (from the repo id and folder alone) for real names."""
    out = []
    directory = get_pretrained_saes_directory()
    for release in ("gemma-scope-2b-pt-res", "gemma-scope-2b-pt-mlp-canonical", "gemma-scope-2b-pt-att", "gemma-scope-9b-pt-res",
                    "gemma-scope-27b-pt-res", "gemma-scope-9b-it-res", "gemma-scope-9b-pt-att-canonical"):
        r = directory[release]
        ids = list(r.saes_map)
        for sae_id in ids[:2] + ids[-1:]:
            cfg = loaders.get_gemma_2_config_from_hf(r.repo_id, r.saes_map[sae_id], device=None)
            out.append({"repo": r.repo_id, "folder": r.saes_map[sae_id],
                        **{k: cfg[k] for k in ("architecture", "d_in", "d_sae", "hook_name", "model_name", "apply_b_dec_to_input")}})
    with open(os.path.join(OUT, "config_derivation.json"), "w") as f:
        json.dump({"note": "sae_lens get_gemma_2_config_from_hf on real release folders (tools/goldens/sae_scopes.py)",
                   "sae_lens": sae_lens.__version__, "cases": out}, f, indent=1)
        f.write("\n")


def main() -> None:
    torch.manual_seed(0)
    model, tokens = load_model("tiny-a")
    for name in os.listdir(OUT) if os.path.isdir(OUT) else []:
        shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    write_layouts(model.cfg.d_model, model.cfg.d_mlp)
    for c in CASES:
        record(c, model, tokens)
    record_config_derivation()


if __name__ == "__main__":
    main()
