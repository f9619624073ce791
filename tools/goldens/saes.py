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

    /work/venv-ref/bin/python tools/goldens/saes.py [--families-only]

The same is done on two family models of tools/goldens/families.py (llama-a: RMSNorm, grouped-query
attention, gated SiLU MLP; gemma2-a: pre and post norms, soft-caps, local/global attention), loaded
as HookedSAETransformer.from_pretrained on the fixture's hf/ directory, into
Tests/Fixtures/sae_families/<case>/; those cases also record

  feature_patch/...  clean → corrupted patching of single features in hook_sae_acts_post (error
                     term on): metric logits[0,-1,t1] − logits[0,-1,t2] per (feature, position) and
                     per feature at every position at once
  feature_dla        cache.logit_attrs over each feature's contribution acts[0,-1,f] · W_dec[f] on
                     the spliced (error term) cache at the last position, t1 − t2
"""
from __future__ import annotations

import atexit
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
FAMILY_OUT = os.path.join(ROOT, "Tests", "Fixtures", "sae_families")


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


# On the family models (d_model 64, 4 heads of 16, 2 layers; see tools/goldens/families.py).
FAMILY_CASES = [
    Case("llama_standard", "llama-a", "standard", "blocks.1.hook_resid_pre", seed=21),
    Case("llama_topk_hook_z", "llama-a", "topk", "blocks.0.attn.hook_z", reshape="hook_z", extra={"k": 8}, seed=22),
    Case("llama_transcoder", "llama-a", "transcoder", "blocks.0.mlp.hook_in", hook_out="blocks.0.hook_mlp_out",
         apply_b_dec_to_input=False, seed=23),
    Case("gemma2_jumprelu", "gemma2-a", "jumprelu", "blocks.0.hook_resid_post", seed=24),
    Case("gemma2_standard_mlp_cnr", "gemma2-a", "standard", "blocks.1.hook_mlp_out", normalize="constant_norm_rescale",
         seed=25),
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


_FAMILY_PATCHED = False


def load_family_model(name: str) -> tuple[HookedSAETransformer, list[int]]:
    """HookedSAETransformer.from_pretrained on a family fixture's hf/ directory, as families.py
    builds its TransformerLens references (processed weights, placeholder tokenizer, the official
    name check bypassed, Gemma-2 sizes from the directory's config)."""
    global _FAMILY_PATCHED
    import tempfile
    import transformers
    import families
    import transformer_lens.loading_from_pretrained as tl_loading
    if not _FAMILY_PATCHED:
        tl_loading.get_official_model_name = lambda n: n
        tl_loading.convert_hf_model_config = families.resized_gemma2_config(tl_loading.convert_hf_model_config)
        _FAMILY_PATCHED = True
    spec = next(s for s in families.SPECS if s.name == name)
    _, model_cls = families.CLASSES[spec.family]
    hf_dir = os.path.join(ROOT, "Tests", "Fixtures", "families", name, "hf")
    ref = model_cls.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="eager")
    ref.eval()
    tmp = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    local = os.path.join(tmp, f"m{spec.seed}")
    shutil.copytree(hf_dir, local)
    families.placeholder_tokenizer(spec.config["vocab_size"]).save_pretrained(local)
    if spec.family == "gemma2":
        families.GEMMA2_DIRS[local] = spec.config
    tokenizer = transformers.AutoTokenizer.from_pretrained(local)
    model = HookedSAETransformer.from_pretrained(local, hf_model=ref, device="cpu", dtype=torch.float32, tokenizer=tokenizer)
    model.eval()
    return model, families.fixed_tokens(spec)


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


def record_case(case: Case, family: bool = False) -> None:
    model, tokens = load_family_model(case.model) if family else load_model(case.model)
    d_in = widths(model, case.hook, case.reshape)
    d_out = widths(model, case.hook_out, "none") if case.hook_out else d_in
    sae = build_sae(case, d_in, d_out, case.model)
    out_dir = os.path.join(FAMILY_OUT if family else OUT, case.name)
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
        extra = family_extras(model, loaded, case, tokens, store) if family else {}

    os.makedirs(out_dir, exist_ok=True)
    store.save(os.path.join(out_dir, "golden.safetensors"))
    meta = {
        "case": case.name, "model": case.model, "architecture": case.architecture, "hook": case.hook,
        "hook_out": case.hook_out, "tokens": tokens, "ablate": ablate, "keys": keys, **extra,
        "versions": {"sae_lens": sae_lens.__version__, "torch": torch.__version__},
        "note": "written by tools/goldens/saes.py; x is the activation at the input hook of the model without SAEs",
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{case.name}: {case.architecture} at {case.hook}{' -> ' + case.hook_out if case.hook_out else ''}, "
          f"L0 {float((acts > 0).float().sum(-1).mean()):.1f} of {case.d_sae}")


def family_extras(model, sae, case: Case, tokens: list[int], store: TensorStore) -> dict:
    """Feature patching (clean → corrupted, error term on) and feature DLA on a family model."""
    vocab = model.cfg.d_vocab
    g = torch.Generator().manual_seed(3000 + case.seed)
    corrupt = torch.randint(0, vocab, (len(tokens),), generator=g).tolist()
    t1 = tokens[0]
    t2 = (t1 + vocab // 3) % vocab
    clean_t, corrupt_t = torch.tensor([tokens]), torch.tensor([corrupt])
    out_hook = case.hook_out or case.hook
    acts_name = out_hook + ".hook_sae_acts_post"

    def metric(logits):
        return logits[0, -1, t1] - logits[0, -1, t2]

    model.add_sae(sae, use_error_term=True)
    try:
        clean_logits, clean_cache = model.run_with_cache(clean_t)
        corrupt_logits, corrupt_cache = model.run_with_cache(corrupt_t)
        clean_acts, corrupt_acts = clean_cache[acts_name], corrupt_cache[acts_name]
        # The features whose activation differs most between the runs (summed over positions).
        features = (clean_acts - corrupt_acts)[0].abs().sum(0).topk(4).indices.tolist()
        P = len(tokens)
        grid = torch.zeros(len(features), P)
        whole = torch.zeros(len(features))
        for i, f in enumerate(features):
            for p in range(P):
                def hook(t, hook, f=f, p=p):
                    t[:, p, f] = clean_acts[:, p, f]
                    return t
                grid[i, p] = metric(model.run_with_hooks(corrupt_t, fwd_hooks=[(acts_name, hook)]))

            def hook_all(t, hook, f=f):
                t[:, :, f] = clean_acts[:, :, f]
                return t
            whole[i] = metric(model.run_with_hooks(corrupt_t, fwd_hooks=[(acts_name, hook_all)]))
        store.put("feature_patch/clean_metric", metric(clean_logits))
        store.put("feature_patch/corrupted_metric", metric(corrupt_logits))
        store.put("feature_patch/by_pos", grid)
        store.put("feature_patch/all_pos", whole)
        # DLA of every feature at the last position, through ln_final's cached scale.
        W_dec = sae.W_dec.detach()
        if W_dec.shape[1] == model.cfg.d_model and sae.cfg.reshape_activations == "none":
            stack = clean_acts[0, -1, :, None] * W_dec  # [d_sae, d_model]
            store.put("feature_dla", clean_cache.logit_attrs(stack, tokens=t1, incorrect_tokens=t2, pos_slice=-1))
    finally:
        model.reset_saes()
    return {"feature_patch": {"corrupted": corrupt, "t1": t1, "t2": t2, "features": features,
                              "metric": "logits[0, -1, t1] - logits[0, -1, t2], SAE spliced with use_error_term=True",
                              "call": "run_with_hooks(corrupted, hook on hook_sae_acts_post setting [:, p, f] (by_pos) or "
                                      "[:, :, f] (all_pos) to the clean run's value)"},
            "feature_dla": "clean_cache.logit_attrs(acts_post[0, -1, :, None] * W_dec, tokens=t1, incorrect_tokens=t2, "
                           "pos_slice=-1) on the spliced (error term) clean cache"}


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
    families_only = "--families-only" in sys.argv[1:]
    if not families_only:
        os.makedirs(OUT, exist_ok=True)
        for case in CASES:
            record_case(case)
        record_multi()
    os.makedirs(FAMILY_OUT, exist_ok=True)
    for case in FAMILY_CASES:
        record_case(case, family=True)


if __name__ == "__main__":
    main()
