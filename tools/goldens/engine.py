"""Stage 1: engine goldens (logits, caches, weights, hooks, layer ranges, padding, cache analyses)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from transformer_lens import HookedTransformer

from models import ModelSpec
from store import TensorStore


def fixed_tokens(spec: ModelSpec, seq_len: int = 12) -> tuple[list[int], list[int]]:
    """Seq A and seq B: BOS (= vocab-1) then seeded ids in [0, vocab-1). Seq A repeats a
    short run so attention has something to copy."""
    g = torch.Generator().manual_seed(spec.seed + 7)
    body_a = torch.randint(0, spec.vocab - 1, (6,), generator=g).tolist()
    seq_a = [spec.bos] + body_a + body_a[:5]
    seq_b = [spec.bos] + torch.randint(0, spec.vocab - 1, (seq_len - 1,), generator=g).tolist()
    assert len(seq_a) == len(seq_b) == seq_len
    return seq_a, seq_b


def answer_tokens(spec: ModelSpec, seq_a: list[int]) -> tuple[int, int]:
    """t1 = the token that would continue seq A's repeat; t2 = a fixed other id."""
    t1 = seq_a[6]
    t2 = (t1 + spec.vocab // 3) % (spec.vocab - 1)
    return t1, t2


def hf_vs_tl_logit_diffs(hf_model, tl_unprocessed, tl_processed, tokens) -> dict:
    with torch.no_grad():
        hf = hf_model(tokens).logits
        raw = tl_unprocessed(tokens)
        proc = tl_processed(tokens)
    # center_unembed shifts logits by a per-position constant; compare centred logits and log-probs.
    centred = lambda x: x - x.mean(-1, keepdim=True)
    return {
        "hf_vs_unprocessed_logits_max_abs": (hf - raw).abs().max().item(),
        "hf_vs_processed_centred_logits_max_abs": (centred(hf) - centred(proc)).abs().max().item(),
        "hf_vs_processed_log_softmax_max_abs":
            (F.log_softmax(hf, -1) - F.log_softmax(proc, -1)).abs().max().item(),
        "unprocessed_vs_processed_log_softmax_max_abs":
            (F.log_softmax(raw, -1) - F.log_softmax(proc, -1)).abs().max().item(),
    }


def record_model_run(store: TensorStore, prefix: str, model: HookedTransformer, tokens,
                     skip_weights: frozenset | None = frozenset()) -> list[str]:
    """Logits, every cache entry (firing order) and every *parameter* (buffers such as
    attn.mask / attn.IGNORE are constants and are not stored; skip_weights=None stores none). Returns the cache keys."""
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    store.put(f"{prefix}/logits", logits)
    if skip_weights is not None:
        params = [(k, v) for k, v in model.named_parameters() if k not in skip_weights]
        store.put_all(f"{prefix}/weights/", params)
    return store.put_all(f"{prefix}/cache/", cache.items())


def hooked_run(model: HookedTransformer, tokens) -> tuple[torch.Tensor, list[dict]]:
    def halve_v_at_pos3(v, hook):
        v[:, 3, :, :] = v[:, 3, :, :] * 0.5
        return v

    def zero_resid_pre_at_pos2(resid, hook):
        resid[:, 2, :] = 0.0
        return resid

    hooks = [("blocks.0.attn.hook_v", halve_v_at_pos3), ("blocks.1.hook_resid_pre", zero_resid_pre_at_pos2)]
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
    described = [
        {"hook": "blocks.0.attn.hook_v", "edit": "v[:, 3, :, :] *= 0.5 (position 3, all heads, all d_head)"},
        {"hook": "blocks.1.hook_resid_pre", "edit": "resid[:, 2, :] = 0 (position 2, all d_model)"},
    ]
    return logits, described


def cache_analyses(store: TensorStore, model: HookedTransformer, cache, tokens, t1: int, t2: int) -> dict:
    """ActivationCache analyses on the processed cache of seq A (batch dim kept: shapes are
    [components, batch=1, pos, ...] unless noted)."""
    calls = {}
    labels = {}

    def put(key, call, value, label_list=None):
        store.put(f"analysis/{key}", value)
        calls[key] = call
        if label_list is not None:
            labels[key] = list(label_list)

    with torch.no_grad():
        v, lab = cache.accumulated_resid(layer=None, incl_mid=True, apply_ln=True, return_labels=True)
        put("accumulated_resid", "cache.accumulated_resid(layer=None, incl_mid=True, apply_ln=True, return_labels=True)", v, lab)

        v, lab = cache.accumulated_resid(layer=1, incl_mid=False, apply_ln=False, return_labels=True)
        put("accumulated_resid_noln", "cache.accumulated_resid(layer=1, incl_mid=False, apply_ln=False, return_labels=True)", v, lab)

        v, lab = cache.decompose_resid(apply_ln=True, return_labels=True)
        put("decompose_resid", "cache.decompose_resid(layer=None, mode='all', apply_ln=True, incl_embeds=True, return_labels=True)", v, lab)

        v, lab = cache.stack_head_results(layer=-1, incl_remainder=True, apply_ln=True, return_labels=True)
        put("stack_head_results", "cache.stack_head_results(layer=-1, incl_remainder=True, apply_ln=True, return_labels=True)", v, lab)

        # Neuron-expanded stacks are sliced to the last position to keep the fixtures small.
        v, lab = cache.stack_neuron_results(layer=1, apply_ln=False, pos_slice=-1, return_labels=True)
        put("stack_neuron_results", "cache.stack_neuron_results(layer=1, apply_ln=False, pos_slice=-1, return_labels=True)  # [d_mlp, 1, d_model]", v, lab)

        heads, head_labels = cache.stack_head_results(layer=-1, apply_ln=False, return_labels=True)
        v = cache.logit_attrs(heads, tokens=t1, incorrect_tokens=t2)
        put("logit_attrs", f"heads = cache.stack_head_results(layer=-1, apply_ln=False); cache.logit_attrs(heads, tokens={t1}, incorrect_tokens={t2})  # shape [n_layers*n_heads, 1, pos]", v, head_labels)

        heads_last = cache.stack_head_results(layer=-1, apply_ln=False, pos_slice=-1)
        v = cache.logit_attrs(heads_last, tokens=t1, incorrect_tokens=t2, pos_slice=-1)
        put("logit_attrs_last", f"heads = cache.stack_head_results(layer=-1, apply_ln=False, pos_slice=-1); cache.logit_attrs(heads, tokens={t1}, incorrect_tokens={t2}, pos_slice=-1)  # shape [n_layers*n_heads, 1]", v, head_labels)

        v, lab = cache.get_full_resid_decomposition(expand_neurons=True, apply_ln=False, pos_slice=-1, return_labels=True)
        put("full_resid_decomposition", "cache.get_full_resid_decomposition(layer=None, expand_neurons=True, apply_ln=False, pos_slice=-1, return_labels=True)  # [rows, 1, d_model]", v, lab)

        v, lab = cache.get_full_resid_decomposition(expand_neurons=False, apply_ln=False, return_labels=True)
        put("full_resid_decomposition_mlp", "cache.get_full_resid_decomposition(layer=None, expand_neurons=False, apply_ln=False, return_labels=True)  # [rows, 1, pos, d_model]", v, lab)

        loss = model(tokens, return_type="loss")
        put("loss", "model(tokens, return_type='loss')  # scalar stored as shape []", loss)
        per_token = model(tokens, return_type="loss", loss_per_token=True)
        put("loss_per_token", "model(tokens, return_type='loss', loss_per_token=True)  # [1, pos-1]", per_token)
    return {"calls": calls, "labels": labels}
