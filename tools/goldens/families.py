#!/usr/bin/env python3
"""Golden fixtures for the model families beyond GPT-2, from TransformerLens 3.9 (never run by tests).

Usage: /work/venv-ref/bin/python tools/goldens/families.py [--only pythia-a,...]

For each seeded random config in SPECS (two or more per family, differing in grouped-query ratio,
tied/untied unembedding, rotary fraction, sliding window, residual wiring, rope scaling, checkpoint
dtype and sharding) this writes, under Tests/Fixtures/families/<name>/:
  hf/config.json, hf/*.safetensors   the model as transformers saves it (what tlsh loads)
  golden.safetensors                 processed/ and unprocessed/ logits and every cache entry,
                                     hf/logits (transformers' own forward)
  meta.json                          tokens, ordered cache keys, TL config, observed differences
The TransformerLens models come from HookedTransformer.from_pretrained(local copy, hf_model=...)
with TL's official-name check bypassed; the local copy lives in a temporary directory whose name
holds no family word (TL picks some architectures by substrings of the name). Deterministic: fixed
seeds, 2 CPU threads, no network.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import torch  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import transformers  # noqa: E402
from importlib.metadata import version  # noqa: E402
import transformer_lens  # noqa: E402
import transformer_lens.loading_from_pretrained as tl_loading  # noqa: E402
from transformer_lens import HookedTransformer  # noqa: E402

from transformer_lens import patching  # noqa: E402

from store import TensorStore  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_ROOT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "families")
INIT_STD = 0.2
SEQ_LEN = 12


@dataclass(frozen=True)
class FamilySpec:
    name: str
    family: str          # gpt_neox | llama | mistral | qwen2
    seed: int
    config: dict = field(default_factory=dict)
    dtype: str = "float32"   # checkpoint dtype on disk: float32 | float16 | bfloat16
    shard: str | None = None  # max_shard_size for a sharded checkpoint


COMMON = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=160,
              vocab_size=512, max_position_embeddings=64, initializer_range=INIT_STD)

SPECS = [
    # Pythia-shaped: parallel residual, rotary on a quarter of each head, untied, F32.
    FamilySpec("pythia-a", "gpt_neox", 2001, dict(COMMON, rotary_pct=0.25, use_parallel_residual=True,
                                                   hidden_act="gelu", tie_word_embeddings=False)),
    # Sequential residual, half rotary, gelu_new; F16 file, sharded.
    FamilySpec("pythia-b", "gpt_neox", 2002, dict(COMMON, num_hidden_layers=3, rotary_pct=0.5,
                                                   use_parallel_residual=False, hidden_act="gelu_new",
                                                   tie_word_embeddings=False),
               dtype="float16", shard="150KB"),
    # Llama: GQA 4 query heads on 2 kv heads, untied, silu.
    FamilySpec("llama-a", "llama", 2003, dict(COMMON, num_key_value_heads=2, rope_theta=10000.0,
                                               rms_norm_eps=1e-5, tie_word_embeddings=False)),
    # Llama-3.1-style: full multi-head, tied, rope_theta 5e5 with llama3 rope scaling; BF16 file.
    FamilySpec("llama-b", "llama", 2004, dict(COMMON, num_key_value_heads=4, rms_norm_eps=1e-6,
                                               tie_word_embeddings=True,
                                               rope_parameters=dict(rope_type="llama3", rope_theta=500000.0,
                                                                    factor=8.0, low_freq_factor=1.0,
                                                                    high_freq_factor=4.0,
                                                                    original_max_position_embeddings=16)),
               dtype="bfloat16"),
    # Mistral: multi-query (1 kv head) with a 4-token sliding window, so the window bites at 12 tokens.
    FamilySpec("mistral-a", "mistral", 2005, dict(COMMON, num_key_value_heads=1, sliding_window=4,
                                                   rope_theta=10000.0, tie_word_embeddings=False)),
    # Mistral without a window, GQA 2.
    FamilySpec("mistral-b", "mistral", 2006, dict(COMMON, num_key_value_heads=2, sliding_window=None,
                                                   rope_theta=1000000.0, tie_word_embeddings=False)),
    # Qwen2: q/k/v biases, GQA 2, rope_theta 1e6, tied.
    FamilySpec("qwen2-a", "qwen2", 2007, dict(COMMON, num_key_value_heads=2, rope_theta=1000000.0,
                                               tie_word_embeddings=True, use_sliding_window=False)),
    # Qwen2 full multi-head, untied; F16 file.
    FamilySpec("qwen2-b", "qwen2", 2008, dict(COMMON, num_key_value_heads=4, rope_theta=10000.0,
                                               tie_word_embeddings=False, use_sliding_window=False),
               dtype="float16"),
    # Gemma-2: pre and post norms, RMS stored as w-1, sqrt(d_model) embedding scale, GeGLU, soft-caps
    # small enough to bite (5 on scores, 3 on logits), local (window 4) / global layers, GQA 2.
    FamilySpec("gemma2-a", "gemma2", 2011, dict(COMMON, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                                                 sliding_window=4, attn_logit_softcapping=5.0,
                                                 final_logit_softcapping=3.0, rope_theta=10000.0)),
    # Gemma-2 multi-query, 3 layers (local, global, local), the real caps (50, 30); BF16 file.
    FamilySpec("gemma2-b", "gemma2", 2012, dict(COMMON, num_hidden_layers=3, num_key_value_heads=1, head_dim=16,
                                                 query_pre_attn_scalar=16, sliding_window=4,
                                                 attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                                                 rope_theta=10000.0),
               dtype="bfloat16"),
    # Gemma (1): RMS stored as w-1, sqrt(d_model) embedding scale, GeGLU, no post norms or caps;
    # multi-query like gemma-2b, tied. TransformerLens 3.9's Gemma config says act_fn "gelu" (erf)
    # while transformers always runs Gemma with gelu_pytorch_tanh (it rewrites hidden_act="gelu"):
    # the two disagree by ~1e-3 on these logits (meta's hf_vs_tl_unprocessed_logits_max_abs), and
    # tlsh follows TransformerLens.
    FamilySpec("gemma-a", "gemma", 2013, dict(COMMON, num_key_value_heads=1, head_dim=16, rope_theta=10000.0)),
    # Gemma multi-head like gemma-7b, head_dim 24 (n_heads·d_head != d_model), 3 layers; BF16 file.
    FamilySpec("gemma-b", "gemma", 2014, dict(COMMON, num_hidden_layers=3, num_key_value_heads=4, head_dim=24,
                                               rope_theta=10000.0),
               dtype="bfloat16"),
    # Qwen3: q/k RMSNorm per head, explicit head_dim (24, so n_heads·d_head != d_model), GQA 2, tied.
    FamilySpec("qwen3-a", "qwen3", 2009, dict(COMMON, num_key_value_heads=2, head_dim=24, rope_theta=1000000.0,
                                               tie_word_embeddings=True, use_sliding_window=False)),
    # Qwen3 multi-head, untied, head_dim = d_model / heads; BF16 file.
    FamilySpec("qwen3-b", "qwen3", 2010, dict(COMMON, num_key_value_heads=4, head_dim=16, rope_theta=10000.0,
                                               tie_word_embeddings=False, use_sliding_window=False),
               dtype="bfloat16"),
]

CLASSES = {
    "gpt_neox": (transformers.GPTNeoXConfig, transformers.GPTNeoXForCausalLM),
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
    "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    "gemma": (transformers.GemmaConfig, transformers.GemmaForCausalLM),
    "gemma2": (transformers.Gemma2Config, transformers.Gemma2ForCausalLM),
}

GEMMA2_DIRS: dict[str, dict] = {}  # local directory -> the HF config dict of a Gemma-2 spec
GEMMA_DIRS: dict[str, dict] = {}  # the same for Gemma (1) specs


def resized_gemma2_config(original):
    """TransformerLens knows Gemma-2 only by name (hard-coded sizes); for a local Gemma-2 directory
    take its entry for google/gemma-2-2b and resize it to the directory's config."""
    def convert(model_name, **kwargs):
        hf = GEMMA2_DIRS.get(str(model_name))
        if hf is None and str(model_name) in GEMMA_DIRS:
            # Gemma (1): TransformerLens's google/gemma-2b entry, resized.
            hf = GEMMA_DIRS[str(model_name)]
            cfg = original("google/gemma-2b", **kwargs)
            cfg.update(d_model=hf["hidden_size"], d_head=hf["head_dim"], n_heads=hf["num_attention_heads"],
                       d_mlp=hf["intermediate_size"], n_layers=hf["num_hidden_layers"],
                       n_ctx=hf["max_position_embeddings"], d_vocab=hf["vocab_size"],
                       n_key_value_heads=hf["num_key_value_heads"], rotary_dim=hf["head_dim"],
                       rotary_base=hf["rope_theta"])
            return cfg
        if hf is None:
            return original(model_name, **kwargs)
        cfg = original("google/gemma-2-2b", **kwargs)
        n = hf["num_hidden_layers"]
        cfg.update(d_model=hf["hidden_size"], d_head=hf["head_dim"], n_heads=hf["num_attention_heads"],
                   d_mlp=hf["intermediate_size"], n_layers=n, n_ctx=hf["max_position_embeddings"],
                   d_vocab=hf["vocab_size"], n_key_value_heads=hf["num_key_value_heads"],
                   window_size=hf["sliding_window"], attn_types=(["local", "global"] * n)[:n],
                   attn_scores_soft_cap=hf["attn_logit_softcapping"],
                   output_logits_soft_cap=hf["final_logit_softcapping"], rotary_base=hf["rope_theta"])
        return cfg
    return convert


def make_hf_model(spec: FamilySpec):
    """Seeded random model: HF init with std INIT_STD, norm weights and all biases randomised so
    that weight processing (fold_ln, centring, value-bias folding) changes real numbers."""
    config_cls, model_cls = CLASSES[spec.family]
    torch.manual_seed(spec.seed)
    config = config_cls(**spec.config, attn_implementation="eager")
    model = model_cls(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
    model.eval()
    return model


def save_hf_model(spec: FamilySpec, model, out_dir: str):
    """Writes the HF directory in the spec's dtype (sharded if asked) and returns the F32 model
    that the references use: the file's values, read back by transformers."""
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    dtype = getattr(torch, spec.dtype)
    to_save = model.to(dtype)
    kwargs = {"max_shard_size": spec.shard} if spec.shard else {}
    to_save.save_pretrained(out_dir, safe_serialization=True, **kwargs)
    model.to(torch.float32)
    _, model_cls = CLASSES[spec.family]
    reread = model_cls.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
    reread.eval()
    return reread


def placeholder_tokenizer(vocab: int):
    """A word-level tokenizer "t0 t1 …" over the model's ids: TransformerLens wants a tokenizer
    object (it would otherwise look for one in the local directory); the goldens pass token ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", bos_token="t1",
                                                eos_token="t2", pad_token="t3")


def tl_model(local_dir: str, hf_model, processed: bool) -> HookedTransformer:
    """from_pretrained (processed) or from_pretrained_no_processing on the local directory."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(local_dir)
    kwargs = dict(hf_model=hf_model, device="cpu", dtype=torch.float32, tokenizer=tokenizer)
    if processed:
        model = HookedTransformer.from_pretrained(local_dir, **kwargs)
    else:
        model = HookedTransformer.from_pretrained_no_processing(local_dir, **kwargs)
    model.eval()
    return model


def fixed_tokens(spec: FamilySpec) -> list[int]:
    """Seeded ids with a repeat, so attention has something to copy (no BOS: ids are given as-is)."""
    g = torch.Generator().manual_seed(spec.seed + 7)
    vocab = spec.config["vocab_size"]
    body = torch.randint(0, vocab, (6,), generator=g).tolist()
    return body + body  # 12 tokens


TL_FIELDS = ["use_qk_norm", "use_normalization_before_and_after", "attn_scores_soft_cap", "output_logits_soft_cap",
             "attn_scale", "n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx", "d_vocab", "act_fn", "eps",
             "normalization_type", "positional_embedding_type", "rotary_dim", "rotary_base",
             "rotary_adjacent_pairs", "n_key_value_heads", "gated_mlp", "parallel_attn_mlp", "final_rms",
             "use_local_attn", "window_size", "attn_types", "default_prepend_bos", "original_architecture",
             "use_NTK_by_parts_rope", "NTK_by_parts_factor", "NTK_original_ctx_len"]


def tl_config_dict(model) -> dict:
    out = {}
    for f in TL_FIELDS:
        v = getattr(model.cfg, f, None)
        out[f] = v if isinstance(v, (int, float, str, bool, type(None), list)) else str(v)
    return out


def interp_goldens(store: TensorStore, model, spec: FamilySpec, clean: list[int]) -> dict:
    """One patching sweep per granularity kind, a per-key/value-head patch and DLA, on the processed
    model. TransformerLens's own get_act_patch_attn_head_k_all_pos indexes query heads and fails
    under grouped-query attention (issue #980), so the kv-head sweep is written out with
    run_with_hooks: patch blocks.L.attn.hook_k[:, :, g] from the clean run."""
    g = torch.Generator().manual_seed(spec.seed + 11)
    vocab = spec.config["vocab_size"]
    corrupt = torch.randint(0, vocab, (len(clean),), generator=g).tolist()
    t1 = clean[0]  # what continues the repeated half
    t2 = (t1 + vocab // 3) % vocab
    clean_t, corrupt_t = torch.tensor([clean]), torch.tensor([corrupt])

    def metric(logits):
        return logits[0, -1, t1] - logits[0, -1, t2]

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean_t)
        store.put("interp/clean_metric", metric(clean_logits))
        store.put("interp/corrupted_metric", metric(model(corrupt_t)))
        store.put("interp/resid_pre", patching.get_act_patch_resid_pre(model, corrupt_t, clean_cache, metric))
        store.put("interp/attn_head_out_by_pos",
                  patching.get_act_patch_attn_head_out_by_pos(model, corrupt_t, clean_cache, metric))
        n_kv = model.cfg.n_key_value_heads or model.cfg.n_heads
        grid = torch.zeros(model.cfg.n_layers, n_kv)
        for layer in range(model.cfg.n_layers):
            name = f"blocks.{layer}.attn.hook_k"
            for head in range(n_kv):
                def hook(act, hook, head=head, name=name):
                    act[:, :, head] = clean_cache[name][:, :, head]
                    return act
                grid[layer, head] = metric(model.run_with_hooks(corrupt_t, fwd_hooks=[(name, hook)]))
        store.put("interp/k_kv_head_all_pos", grid)
        decomp = clean_cache.decompose_resid(apply_ln=False, pos_slice=-1)
        heads = clean_cache.stack_head_results(layer=-1, apply_ln=False, pos_slice=-1)
        for key, stack in (("decompose_resid", decomp), ("stack_head_results", heads)):
            store.put(f"interp/dla/{key}", clean_cache.logit_attrs(stack, tokens=t1, incorrect_tokens=t2, pos_slice=-1))
    return {"clean": clean, "corrupted": corrupt, "t1": t1, "t2": t2,
            "metric": "logits[0, -1, t1] - logits[0, -1, t2] (processed model)",
            "calls": {"resid_pre": "patching.get_act_patch_resid_pre", "attn_head_out_by_pos":
                      "patching.get_act_patch_attn_head_out_by_pos",
                      "k_kv_head_all_pos": "run_with_hooks patching hook_k[:, :, g] per layer and kv head",
                      "dla": "cache.logit_attrs(stack, tokens=t1, incorrect_tokens=t2, pos_slice=-1) on "
                             "decompose_resid / stack_head_results(layer=-1, apply_ln=False, pos_slice=-1)"}}


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def generate(spec: FamilySpec) -> None:
    out_dir = os.path.join(OUT_ROOT, spec.name)
    os.makedirs(out_dir, exist_ok=True)
    model = make_hf_model(spec)
    ref = save_hf_model(spec, model, os.path.join(out_dir, "hf"))
    tokens = fixed_tokens(spec)
    t = torch.tensor([tokens])
    store = TensorStore()
    meta: dict = {"model": spec.name, "family": spec.family, "tokens": tokens,
                  "checkpoint_dtype": spec.dtype, "sharded": bool(spec.shard),
                  "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                               "transformer_lens": version("transformer-lens")}}
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, f"m{spec.seed}")
        shutil.copytree(os.path.join(out_dir, "hf"), local)
        placeholder_tokenizer(spec.config["vocab_size"]).save_pretrained(local)
        if spec.family == "gemma2":
            GEMMA2_DIRS[local] = spec.config
        if spec.family == "gemma":
            GEMMA_DIRS[local] = spec.config
        keys, configs = {}, {}
        for prefix, processed in (("processed", True), ("unprocessed", False)):
            tl = tl_model(local, ref, processed)
            with torch.no_grad():
                logits, cache = tl.run_with_cache(t)
            store.put(f"{prefix}/logits", logits)
            keys[prefix] = store.put_all(f"{prefix}/cache/", cache.items())
            configs[prefix] = tl_config_dict(tl)
            if not processed:
                raw_logits = logits
            if processed:
                meta["interp"] = interp_goldens(store, tl, spec, tokens)
    with torch.no_grad():
        hf_logits = ref(t).logits
    store.put("hf/logits", hf_logits)
    # Greedy generation with Hugging Face's generate (KV cache on), 10 new tokens after the first 5.
    with torch.no_grad():
        prompt = torch.tensor([tokens[:5]])
        generated = ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=10, do_sample=False,
                                 min_new_tokens=10, pad_token_id=0, eos_token_id=None)
    meta["hf_greedy"] = {"prompt": tokens[:5], "tokens": generated[0].tolist(),
                         "call": "hf_model.generate(prompt, attention_mask=ones, max_new_tokens=10, do_sample=False) (unprocessed weights)"}
    meta["cache_keys"] = keys
    meta["tl_config"] = configs
    meta["hf_vs_tl_unprocessed_logits_max_abs"] = (hf_logits - raw_logits).abs().max().item()
    store.save(os.path.join(out_dir, "golden.safetensors"))
    write_json(os.path.join(out_dir, "meta.json"), meta)
    print(f"{spec.name}: {len(keys['processed'])} hooks, HF vs TL unprocessed {meta['hf_vs_tl_unprocessed_logits_max_abs']:.2e}",
          flush=True)


def run_specs(generate_one, description: str) -> None:
    """The generators' command line: `--only a,b` picks specs by name; TransformerLens is patched to
    load the local directories (it accepts only its official names otherwise)."""
    tl_loading.get_official_model_name = lambda name: name
    tl_loading.convert_hf_model_config = resized_gemma2_config(tl_loading.convert_hf_model_config)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    for spec in SPECS:
        if not wanted or spec.name in wanted:
            generate_one(spec)


def main() -> None:
    run_specs(generate, __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
