"""Tiny random GPT-2 models for the golden fixtures, and their TransformerLens twins.

Each model is written in Hugging Face format (config.json + model.safetensors) under
Tests/Fixtures/golden/<name>/hf/, exactly what tlsh loads. The TransformerLens reference is
built from the *same* tensors without the hub (REFERENCE_SETUP.md, "No hub here").
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.pytorch_utils import Conv1D

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights


@dataclass(frozen=True)
class ModelSpec:
    name: str
    seed: int
    n_layer: int
    n_embd: int
    n_head: int
    n_inner: int
    vocab: int
    n_positions: int
    tied: bool
    # tiny-c: F16 tensors, original openai-community/gpt2 key layout, attn.bias mask buffers.
    original_layout_f16: bool = False

    @property
    def d_head(self) -> int:
        return self.n_embd // self.n_head

    @property
    def bos(self) -> int:
        # GPT-2 style: BOS = EOS = PAD = the last id.
        return self.vocab - 1


SPECS = [
    ModelSpec("tiny-a", seed=1001, n_layer=2, n_embd=64, n_head=4, n_inner=256, vocab=1000,
              n_positions=64, tied=True),
    ModelSpec("tiny-b", seed=1002, n_layer=3, n_embd=96, n_head=3, n_inner=200, vocab=1500,
              n_positions=48, tied=False),
    ModelSpec("tiny-c", seed=1003, n_layer=4, n_embd=32, n_head=2, n_inner=128, vocab=700,
              n_positions=32, tied=True, original_layout_f16=True),
]


INIT_STD = 0.2


def hf_config(spec: ModelSpec) -> GPT2Config:
    return GPT2Config(
        vocab_size=spec.vocab, n_positions=spec.n_positions, n_embd=spec.n_embd,
        n_layer=spec.n_layer, n_head=spec.n_head, n_inner=spec.n_inner,
        activation_function="gelu_new", layer_norm_epsilon=1e-5,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        tie_word_embeddings=spec.tied,
        # HF's default 0.02 gives near-uniform attention and near-flat logits on models this
        # small (greedy argmax then hinges on float noise); 0.2 gives sharp patterns and clear gaps.
        initializer_range=INIT_STD,
        bos_token_id=spec.bos, eos_token_id=spec.bos,
    )


def make_hf_model(spec: ModelSpec) -> GPT2LMHeadModel:
    """Seeded random model (HF init with std INIT_STD, c_proj scaled by 1/sqrt(2 n_layer));
    LayerNorm and bias parameters randomised so that weight
    processing (fold_ln, centering, value-bias folding) changes real numbers."""
    torch.manual_seed(spec.seed)
    model = GPT2LMHeadModel(hf_config(spec))  # HF init: normal(0, INIT_STD), LN = (1, 0), biases 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1.0 + 0.1 * torch.randn_like(module.weight))
                module.bias.copy_(0.1 * torch.randn_like(module.bias))
            elif isinstance(module, (Conv1D, torch.nn.Linear)) and module.bias is not None:
                module.bias.copy_(0.02 * torch.randn_like(module.bias))
    model.eval()
    if spec.tied:
        assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    else:
        assert not torch.equal(model.lm_head.weight, model.transformer.wte.weight)
    return model


def save_hf_model(spec: ModelSpec, model: GPT2LMHeadModel, out_dir: str) -> GPT2LMHeadModel:
    """Writes the HF directory and returns the F32 model the reference must use
    (for tiny-c: the F16-rounded weights widened back to F32)."""
    os.makedirs(out_dir, exist_ok=True)
    if not spec.original_layout_f16:
        model.save_pretrained(out_dir, safe_serialization=True)
        return model

    # Original GPT-2 layout, written by hand: no "transformer." prefix, no lm_head (tied),
    # every tensor F16, plus the h.N.attn.bias causal-mask buffers real GPT-2 files carry.
    tensors = {}
    for key, value in model.transformer.state_dict().items():
        tensors[key] = value.detach().to(torch.float16).contiguous()
    n = spec.n_positions
    mask = torch.tril(torch.ones(n, n, dtype=torch.float16)).view(1, 1, n, n)
    for layer in range(spec.n_layer):
        tensors[f"h.{layer}.attn.bias"] = mask.clone()
    tensors = dict(sorted(tensors.items()))
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})

    config = hf_config(spec)
    config.save_pretrained(out_dir)
    path = os.path.join(out_dir, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["architectures"] = ["GPT2LMHeadModel"]
    cfg["n_ctx"] = spec.n_positions  # real GPT-2 configs carry both n_ctx and n_positions
    cfg["dtype"] = "float16"
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    rounded = make_hf_model(spec)  # same architecture; weights replaced below
    with torch.no_grad():
        state = {k: v.to(torch.float16).to(torch.float32) for k, v in model.state_dict().items()}
        rounded.load_state_dict(state)
    rounded.eval()
    # Cross-check: transformers itself reads the hand-written file to the same numbers.
    reread = GPT2LMHeadModel.from_pretrained(out_dir, dtype=torch.float32)
    for key, value in rounded.state_dict().items():
        if key.endswith("attn.bias") or key.endswith("masked_bias"):
            continue
        assert torch.equal(reread.state_dict()[key], value), key
    return rounded


def tl_config(spec: ModelSpec) -> HookedTransformerConfig:
    return HookedTransformerConfig(
        n_layers=spec.n_layer, d_model=spec.n_embd, n_heads=spec.n_head, d_head=spec.d_head,
        d_mlp=spec.n_inner, n_ctx=spec.n_positions, d_vocab=spec.vocab,
        act_fn="gelu_new", normalization_type="LN", eps=1e-5,
        positional_embedding_type="standard", original_architecture="GPT2LMHeadModel",
        dtype=torch.float32, device="cpu",
    )


TL_CONFIG_FIELDS = [
    "n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx", "d_vocab", "d_vocab_out",
    "act_fn", "normalization_type", "eps", "positional_embedding_type", "original_architecture",
    "use_attn_scale", "attn_scale", "default_prepend_bos",
]


def make_tl_model(spec: ModelSpec, hf_model: GPT2LMHeadModel, processed: bool) -> HookedTransformer:
    """processed=True mirrors from_pretrained's defaults; False mirrors
    from_pretrained_no_processing. load_and_process_state_dict itself swaps LN -> LNPre
    (cfg.normalization_type becomes "LNPre") when fold_ln is on, as from_pretrained does."""
    cfg = tl_config(spec)
    model = HookedTransformer(cfg)
    state = convert_gpt2_weights(hf_model, cfg)
    model.load_and_process_state_dict(
        state, fold_ln=processed, center_writing_weights=processed,
        center_unembed=processed, fold_value_biases=processed,
    )
    model.eval()
    expected = "LNPre" if processed else "LN"
    assert model.cfg.normalization_type == expected, model.cfg.normalization_type
    return model


def tl_config_dict(model: HookedTransformer) -> dict:
    out = {}
    for field in TL_CONFIG_FIELDS:
        value = getattr(model.cfg, field)
        out[field] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return out
