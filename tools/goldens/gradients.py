#!/usr/bin/env python3
"""Gradient goldens: torch autograd through TransformerLens 3.9 (never run by the tests).

Usage: /work/venv-ref/bin/python tools/goldens/gradients.py [--only tiny-a,tiny-b]
       /work/venv-ref/bin/python tools/goldens/gradients.py --families [--only llama-a,...]

With --families: the seeded random models of every other family (tools/goldens/families.py,
Tests/Fixtures/families/<name>/hf) through TransformerLens 3.9 with processing; writes
Tests/Fixtures/families/<name>/gradients.safetensors + gradients.json with grad/logit_diff/<hook>
(corrupted tokens of meta.json's interp section, logit_diff of its t1, t2), grad/loss/<hook> on the
clean tokens, and attrib/... as below (see family_main).

Reads the committed tiny models (Tests/Fixtures/golden/<name>/hf, written by generate.py) and
writes Tests/Fixtures/golden/<name>/gradients.safetensors + gradients.json:

  grad/<metric>/<hook name>        d metric / d activation at every hook point, from backward hooks
                                   (model.add_hook(lambda name: True, fn, "bwd")). A hook point that
                                   fires several times in one forward (ln1 runs once per q/k/v input)
                                   gets the SUM of its backward hooks' gradients: the total derivative.
  grad_optional/logit_diff/<hook>  the same with use_attn_result, use_split_qkv_input,
                                   use_hook_mlp_in and use_attn_in on (tiny-a only)
  grad_frozen_ln/logit_diff/<hook> the same with every hook_scale detached by a forward hook
                                   (hook_scale gradients themselves are then absent)
  attrib/<activation>/<axes>       attribution patching as in TransformerLens's
                                   Attribution_Patching_Demo: (clean - corrupt) * grad_corrupt,
                                   summed over every axis not named (batch dropped)
  eap/...                          edge attribution patching, see eap_reference()

Metrics: logit_diff = logits[0,-1,t1] - logits[0,-1,t2] on the corrupted sequence (seq B);
loss = model(seq_a, return_type="loss"); prob = softmax(logits[0,-1])[t1] on seq A.
Deterministic: 2 CPU threads, fixed tokens from engine.fixed_tokens.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from transformers import GPT2LMHeadModel  # noqa: E402

import engine  # noqa: E402
import models  # noqa: E402
from store import TensorStore  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_ROOT = os.path.join(REPO_ROOT, "Tests", "Fixtures", "golden")
MODELS = ["tiny-a", "tiny-b"]


def gradients(model, tokens, metric, fwd_hooks=()):
    """(activation cache, gradient cache) of metric(logits) on tokens; gradients summed per hook name."""
    grads: dict[str, torch.Tensor] = {}

    def bwd(grad, hook):
        grads[hook.name] = grads.get(hook.name, 0) + grad.detach().clone()

    model.reset_hooks()
    with torch.no_grad():
        live = set(model.run_with_cache(tokens)[1].keys())  # the hook points this configuration fires
    model.add_hook(lambda name: name in live, bwd, "bwd")
    for name, fn in fwd_hooks:
        model.add_hook(name, fn, "fwd")
    logits, cache = model.run_with_cache(tokens)
    # run_with_cache detaches its copies; the metric is taken from the live logits.
    value = metric(logits)
    value.backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return logits.detach(), cache, grads, value.item()


def reduce_keep(t: torch.Tensor, keep: list[int]) -> torch.Tensor:
    """Sum over every axis not in keep (batch axis 0 is always summed), result axes in keep's order."""
    drop = [a for a in range(t.dim()) if a not in keep]
    s = t.sum(dim=drop) if drop else t
    remaining = [a for a in range(t.dim()) if a in keep]
    return s.permute([remaining.index(a) for a in keep])


# (activation, hook short name, axes → tensor axes in the activation). Axes of an activation:
# resid-like [batch, pos, d]; q/k/v/z [batch, pos, head, d_head]; pattern [batch, head, dest, src];
# mlp post [batch, pos, d_mlp]. Results are stacked over layers: [layer, ...].
ATTRIBUTIONS = [
    ("resid_pre", "layer_pos", [1]), ("resid_mid", "layer_pos", [1]), ("resid_post", "layer_pos", [1]),
    ("attn_out", "layer_pos", [1]), ("mlp_out", "layer_pos", [1]),
    ("resid_post", "layer", []),
    ("z", "layer_head", [2]), ("z", "layer_pos_head", [1, 2]),
    ("q", "layer_head", [2]), ("k", "layer_pos_head", [1, 2]), ("v", "layer_pos_head", [1, 2]),
    ("pattern", "layer_head", [1]), ("pattern", "layer_head_dest", [1, 2]),
    ("pattern", "layer_head_dest_src", [1, 2, 3]),
    ("post", "layer_neuron", [2]), ("pre", "layer_pos_neuron", [1, 2]),
]


def attribution(store: TensorStore, model, clean_cache, corrupt_cache, corrupt_grads) -> dict:
    """Attribution_Patching_Demo's computation: (clean - corrupt) * grad at the corrupted run."""
    calls = {}
    from transformer_lens.utilities import get_act_name
    for act, axes, keep in ATTRIBUTIONS:
        rows = []
        for layer in range(model.cfg.n_layers):
            name = get_act_name(act, layer)
            effect = (clean_cache[name] - corrupt_cache[name]) * corrupt_grads[name]
            rows.append(reduce_keep(effect, keep))
        store.put(f"attrib/{act}/{axes}", torch.stack(rows))
        calls[f"{act}/{axes}"] = (f"stack over layers of ((clean_cache[{act}] - corrupt_cache[{act}]) * grad_corrupt[{act}])"
                                  f" summed over all axes but {keep} (batch summed)")
    return calls


def eap_nodes(cfg):
    """Senders and receivers in residual-stream order, named as the eap / MIB library names them;
    under grouped-query attention aL.hG<k>/<v> are key/value head G's inputs (after query head G's
    <q>). Returns (senders, receivers, connected(u, v)): v reads the residual stream after u writes
    it, in quarter-layers: heads of layer l read at 4l and write after 4l+1, MLPs read at 4l+2 and
    write after 4l+3; with parallel attention and MLP both read at 4l and write after 4l+3."""
    parallel = bool(cfg.parallel_attn_mlp)
    K = cfg.n_key_value_heads or cfg.n_heads
    senders, receivers = ["input"], []
    writes, reads = {"input": -1}, {}
    for l in range(cfg.n_layers):
        for h in range(cfg.n_heads):
            senders.append(f"a{l}.h{h}")
            writes[f"a{l}.h{h}"] = 4 * l + (3 if parallel else 1)
            for c in ("qkv" if h < K else "q"):
                receivers.append(f"a{l}.h{h}<{c}>")
                reads[f"a{l}.h{h}<{c}>"] = 4 * l
        senders.append(f"m{l}")
        writes[f"m{l}"] = 4 * l + 3
        receivers.append(f"m{l}")
        reads[f"m{l}"] = 4 * l if parallel else 4 * l + 2
    receivers.append("logits")
    reads["logits"] = 4 * cfg.n_layers
    return senders, receivers, lambda u, v: writes[u] < reads[v]


def eap_reference(spec, hf, clean, corrupt, metric, steps=None, model=None, on="inputs") -> torch.Tensor:
    """Edge scores [senders, receivers] (0 where no edge), computed with torch autograd:
    score(u -> v) = sum over pos, d_model of (a_u(clean) - a_u(corrupt)) * g_uv, where a_u is
    hook_embed + hook_pos_embed (input), hook_result[:, :, h] (head) or hook_mlp_out (MLP), in_v is
    hook_q_input[:, :, h] / hook_k_input, hook_v_input[:, :, g] (key/value head g under grouped-query
    attention) (head receivers), hook_mlp_in (MLP) or the last hook_resid_post (logits), and
    g_uv = d metric / d in_v, except for heads of models with ln1_post (Gemma-2), whose output reaches
    the residual stream as ln1_post(sum_h result_h + b_O): there g_uv = vjp(ln1_post at the run's
    input, d metric / d in_v) (torch.func.vjp), the gradient along the edge alone.
    The gradient is taken on the clean input (EAP), or averaged over runs (EAP-IG):
    on="inputs": runs whose blocks.0.hook_resid_pre is corrupt + (k/steps)(clean - corrupt), k = 1..steps;
    on="activations": for each of input (blocks.0.hook_resid_pre), each layer's attn.hook_result (all
    heads) and each hook_mlp_out in turn, runs of the clean input with that hook's output replaced by the
    constant corrupt + (k/steps)(clean - corrupt) (a new leaf tensor), k = 1..steps; all (1 + 2L) * steps
    runs averaged."""
    if model is None:
        model = models.make_tl_model(spec, hf, processed=True)
    model.set_use_split_qkv_input(True)
    model.set_use_hook_mlp_in(True)
    model.set_use_attn_result(True)
    cfg = model.cfg
    L, H = cfg.n_layers, cfg.n_heads
    K = cfg.n_key_value_heads or H
    with torch.no_grad():
        _, cc = model.run_with_cache(clean)
        _, kc = model.run_with_cache(corrupt)

    def outputs(c):
        # rotary models have no hook_pos_embed: the input node is hook_embed alone
        outs = [c["hook_embed"][0] + (c["hook_pos_embed"][0] if "hook_pos_embed" in c else 0)]
        for l in range(L):
            outs += [c[f"blocks.{l}.attn.hook_result"][0, :, h] for h in range(H)]
            outs.append(c[f"blocks.{l}.hook_mlp_out"][0])
        return torch.stack(outs)  # [S, P, d]

    delta = outputs(cc) - outputs(kc)
    senders, receivers, connected = eap_nodes(cfg)
    last = f"blocks.{L - 1}.hook_resid_post"
    post_normed = bool(cfg.use_normalization_before_and_after)

    def receiver_grad(grads, r):
        if r == "logits":
            return grads[last]
        if r.startswith("m"):
            return grads[f"blocks.{r[1:]}.hook_mlp_in"]
        layer, rest = r[1:].split(".h")
        head, c = int(rest.split("<")[0]), rest[-2]
        return grads[f"blocks.{layer}.hook_{c}_input"][:, head]

    S, R = len(senders), len(receivers)
    scores = torch.zeros(S, R)
    runs = 0

    def one_run(fwd):
        """One backward of metric on clean tokens with forward hooks fwd; adds delta . g into scores."""
        nonlocal runs
        runs += 1
        grads, norm_in = {}, {}
        is_receiver = lambda n: n.endswith("_input") or n.endswith("hook_mlp_in") or n == last

        def bwd(grad, hook):
            grads[hook.name] = grads.get(hook.name, 0) + grad.detach()[0]

        handles = []
        if post_normed:
            for l in range(L):
                handles.append(model.blocks[l].ln1_post.register_forward_hook(
                    lambda mod, inp, out, l=l: norm_in.__setitem__(l, inp[0].detach().clone())))
        model.reset_hooks()
        model.add_hook(is_receiver, bwd, "bwd")
        for name, fn in fwd:
            model.add_hook(name, fn, "fwd")
        metric(model(clean)).backward()
        model.reset_hooks()
        model.zero_grad(set_to_none=True)
        for hd in handles:
            hd.remove()
        P, d = clean.shape[1], cfg.d_model
        g = torch.stack([receiver_grad(grads, r) if (r == "logits" or receiver_grad_name(r) in grads) else torch.zeros(P, d)
                         for r in receivers])  # [R, P, d]; a receiver cut off by a constant gets no gradient
        s = torch.einsum("spd,rpd->sr", delta, g)
        if post_normed:
            for l in range(L):
                _, vjp = torch.func.vjp(lambda x, l=l: model.blocks[l].ln1_post(x), norm_in[l][0])
                pulled = torch.stack([vjp(g[j])[0] for j in range(R)])
                rows = slice(1 + l * (H + 1), 1 + l * (H + 1) + H)
                s[rows] = torch.einsum("spd,rpd->sr", delta[rows], pulled)
        scores.add_(s)

    def receiver_grad_name(r):
        if r.startswith("m"):
            return f"blocks.{r[1:]}.hook_mlp_in"
        layer, rest = r[1:].split(".h")
        return f"blocks.{layer}.hook_{rest[-2]}_input"

    def replace(value):
        return lambda x, hook: value

    if steps is None:
        one_run([])
    elif on == "inputs":
        e_clean, e_corrupt = cc["blocks.0.hook_resid_pre"], kc["blocks.0.hook_resid_pre"]
        for k in range(1, steps + 1):
            one_run([("blocks.0.hook_resid_pre", replace((e_corrupt + (k / steps) * (e_clean - e_corrupt)).requires_grad_(True)))])
    else:
        names = ["blocks.0.hook_resid_pre"]
        for l in range(L):
            names += [f"blocks.{l}.attn.hook_result", f"blocks.{l}.hook_mlp_out"]
        for name in names:
            for k in range(1, steps + 1):
                # A fresh leaf that requires grad: nothing flows upstream of it (a constant), while the
                # receivers downstream still get their gradients even where everything they read comes
                # from it (a tensor without requires_grad would leave their backward hooks silent).
                one_run([(name, replace((kc[name] + (k / steps) * (cc[name] - kc[name])).requires_grad_(True)))])
    scores /= runs
    for i, s in enumerate(senders):
        for j, r in enumerate(receivers):
            if not connected(s, r):
                scores[i, j] = 0
    return scores


def qk_fix_reference(model, clean_cache, corrupt_cache, grads):
    """AtP*'s QK fix by brute force: recompute each causal softmax row with the clean q (or with
    the clean k at one key / at every key) and take sum(grad_pattern * (new pattern - corrupt pattern)).
    Returns {(act, axes): tensor}: [layer, pos, head] (one position patched) and [layer, head] (all)."""
    L, H = model.cfg.n_layers, model.cfg.n_heads
    scale = model.cfg.d_head ** 0.5
    out = {}
    for act in ("q", "k"):
        by_pos, joint = [], []
        for l in range(L):
            qc, kc = corrupt_cache[f"blocks.{l}.attn.hook_q"][0], corrupt_cache[f"blocks.{l}.attn.hook_k"][0]
            qn, kn = clean_cache[f"blocks.{l}.attn.hook_q"][0], clean_cache[f"blocks.{l}.attn.hook_k"][0]
            A = corrupt_cache[f"blocks.{l}.attn.hook_pattern"][0]
            G = grads[f"blocks.{l}.attn.hook_pattern"][0]
            P = A.shape[-1]
            mask = torch.tril(torch.ones(P, P, dtype=torch.bool))

            def pattern(q, k, h):
                s = (q[:, h] @ k[:, h].T) / scale
                return torch.softmax(s.masked_fill(~mask, float("-inf")), -1)

            bp = torch.zeros(P, H)
            jt = torch.zeros(H)
            for h in range(H):
                if act == "q":
                    new = pattern(qn, kc, h)
                    rows = (G[h] * (new - A[h])).sum(-1)
                    bp[:, h] = rows
                    jt[h] = rows.sum()
                else:
                    jt[h] = (G[h] * (pattern(qc, kn, h) - A[h])).sum()
                    for s_ in range(P):
                        k = kc.clone()
                        k[s_] = kn[s_]
                        bp[s_, h] = (G[h] * (pattern(qc, k, h) - A[h])).sum()
            by_pos.append(bp)
            joint.append(jt)
        out[(act, "layer_pos_head")] = torch.stack(by_pos)
        out[(act, "layer_head")] = torch.stack(joint)
    return out


def put_grads(store: TensorStore, prefix: str, grads: dict) -> list[str]:
    return store.put_all(prefix, sorted(grads.items()))


FAMILY_ATTRIBUTIONS = [
    ("resid_pre", "layer_pos", [1]), ("resid_post", "layer_pos", [1]), ("attn_out", "layer_pos", [1]),
    ("mlp_out", "layer_pos", [1]), ("z", "layer_head", [2]), ("z", "layer_pos_head", [1, 2]),
    ("q", "layer_head", [2]), ("k", "layer_pos_head", [1, 2]), ("v", "layer_head", [2]),
    ("pattern", "layer_head", [1]), ("post", "layer_neuron", [2]),
]


def family_main(wanted: set) -> None:
    """Gradient goldens for the families beyond GPT-2 (see the module docstring)."""
    import shutil
    import tempfile
    import families as F
    import transformer_lens.loading_from_pretrained as tl_loading
    tl_loading.get_official_model_name = lambda name: name
    tl_loading.convert_hf_model_config = F.resized_gemma2_config(tl_loading.convert_hf_model_config)
    from transformer_lens.utilities import get_act_name
    for spec in F.SPECS:
        if wanted and spec.name not in wanted:
            continue
        out_dir = os.path.join(F.OUT_ROOT, spec.name)
        with open(os.path.join(out_dir, "meta.json")) as f:
            meta = json.load(f)
        _, model_cls = F.CLASSES[spec.family]
        hf = model_cls.from_pretrained(os.path.join(out_dir, "hf"), dtype=torch.float32, attn_implementation="eager")
        hf.eval()
        interp = meta["interp"]
        clean, corrupt = torch.tensor([interp["clean"]]), torch.tensor([interp["corrupted"]])
        t1, t2 = interp["t1"], interp["t2"]
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, f"m{spec.seed}")
            shutil.copytree(os.path.join(out_dir, "hf"), local)
            F.placeholder_tokenizer(spec.config["vocab_size"]).save_pretrained(local)
            if spec.family == "gemma2":
                F.GEMMA2_DIRS[local] = spec.config
            if spec.family == "gemma":
                F.GEMMA_DIRS[local] = spec.config  # TransformerLens's google/gemma-2b entry, resized
            model = F.tl_model(local, hf, processed=True)
            eap_model = F.tl_model(local, hf, processed=True)

        def logit_diff(logits):
            return logits[0, -1, t1] - logits[0, -1, t2]

        def loss(logits):
            return -logits.log_softmax(-1)[0, :-1].gather(-1, clean[0, 1:, None]).mean()

        store = TensorStore()
        info: dict = {"model": spec.name, "clean_tokens": interp["clean"], "corrupted_tokens": interp["corrupted"],
                      "t1": t1, "t2": t2,
                      "metrics": {"logit_diff": "logits[0,-1,t1] - logits[0,-1,t2] on corrupted_tokens",
                                  "loss": "mean next-token cross-entropy on clean_tokens"},
                      "gradient": "d metric / d hook output via model.add_hook(lambda n: True, bwd, 'bwd') on "
                                  "HookedTransformer.from_pretrained (processed); several firings summed"}
        _, corrupt_cache, corrupt_grads, value = gradients(model, corrupt, logit_diff)
        info["logit_diff_corrupted"] = value
        put_grads(store, "grad/logit_diff/", corrupt_grads)
        _, _, g, value = gradients(model, clean, loss)
        info["loss_clean"] = value
        put_grads(store, "grad/loss/", g)
        with torch.no_grad():
            _, clean_cache = model.run_with_cache(clean)
        calls = {}
        for act, axes, keep in FAMILY_ATTRIBUTIONS:
            rows = []
            for layer in range(model.cfg.n_layers):
                name = get_act_name(act, layer)
                rows.append(reduce_keep((clean_cache[name] - corrupt_cache[name]) * corrupt_grads[name], keep))
            store.put(f"attrib/{act}/{axes}", torch.stack(rows))
            calls[f"{act}/{axes}"] = f"stack over layers of ((clean - corrupt)[{act}] * grad_corrupt[{act}]) summed over all axes but {keep}"
        info["attribution"] = calls
        summed = lambda lg: (lg[:, -1, t1] - lg[:, -1, t2]).sum()
        store.put("eap/eap", eap_reference(spec, hf, clean, corrupt, logit_diff, model=eap_model))
        store.put("eap/eap_ig3", eap_reference(spec, hf, clean, corrupt, summed, steps=3, model=eap_model))
        store.put("eap/eap_ig3_act", eap_reference(spec, hf, clean, corrupt, summed, steps=3, model=eap_model, on="activations"))
        senders, receivers, _ = eap_nodes(eap_model.cfg)
        info["eap"] = {"senders": senders, "receivers": receivers, "definition": eap_reference.__doc__,
                       "eap_ig3": "EAP-IG on inputs, 3 steps", "eap_ig3_act": "EAP-IG on activations, 3 steps",
                       "input": "hook_embed (rotary: no hook_pos_embed)"}
        store.save(os.path.join(out_dir, "gradients.safetensors"))
        info["keys"] = {k: list(v.shape) for k, v in store.tensors.items()}
        with open(os.path.join(out_dir, "gradients.json"), "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        print(f"{spec.name}: {len(store.tensors)} tensors", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="")
    parser.add_argument("--families", action="store_true", help="the families beyond GPT-2 (Tests/Fixtures/families)")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    if args.families:
        family_main(wanted)
        return
    for spec in models.SPECS:
        if spec.name not in MODELS or (wanted and spec.name not in wanted):
            continue
        out_dir = os.path.join(OUT_ROOT, spec.name)
        hf = GPT2LMHeadModel.from_pretrained(os.path.join(out_dir, "hf"), dtype=torch.float32)
        hf.eval()
        model = models.make_tl_model(spec, hf, processed=True)
        seq_a, seq_b = engine.fixed_tokens(spec)
        t1, t2 = engine.answer_tokens(spec, seq_a)
        clean, corrupt = torch.tensor([seq_a]), torch.tensor([seq_b])

        def logit_diff(logits):
            return logits[0, -1, t1] - logits[0, -1, t2]

        def loss(logits):
            log_probs = logits.log_softmax(-1)
            return -log_probs[0, :-1].gather(-1, clean[0, 1:, None]).mean()

        def prob(logits):
            return logits[0, -1].softmax(-1)[t1]

        store = TensorStore()
        info: dict = {"model": spec.name, "clean_tokens": seq_a, "corrupted_tokens": seq_b, "t1": t1, "t2": t2,
                      "metrics": {"logit_diff": "logits[0,-1,t1] - logits[0,-1,t2] on corrupted_tokens",
                                  "loss": "mean next-token cross-entropy on clean_tokens (= model(clean, return_type='loss'))",
                                  "prob": "softmax(logits[0,-1])[t1] on clean_tokens"},
                      "gradient": "d metric / d hook output via model.add_hook(lambda n: True, bwd, 'bwd'); "
                                  "several firings of one hook point (ln1 per q/k/v input) summed"}
        _, corrupt_cache, corrupt_grads, value = gradients(model, corrupt, logit_diff)
        info["logit_diff_corrupted"] = value
        put_grads(store, "grad/logit_diff/", corrupt_grads)
        _, _, g, value = gradients(model, clean, loss)
        with torch.no_grad():
            info["loss_check"] = [value, model(clean, return_type="loss").item()]
        put_grads(store, "grad/loss/", g)
        _, _, g, value = gradients(model, clean, prob)
        info["prob_clean"] = value
        put_grads(store, "grad/prob/", g)

        detach = [(lambda name: name.endswith("hook_scale"), lambda x, hook: x.detach())]
        _, _, g, _ = gradients(model, corrupt, logit_diff, fwd_hooks=detach)
        put_grads(store, "grad_frozen_ln/logit_diff/", g)
        info["frozen_ln"] = "forward hook x.detach() on every hook_scale (LayerNorm scales frozen)"

        if spec.name == "tiny-a":
            optional = models.make_tl_model(spec, hf, processed=True)
            optional.set_use_attn_result(True)
            optional.set_use_split_qkv_input(True)
            optional.set_use_hook_mlp_in(True)
            optional.set_use_attn_in(True)
            _, _, g, _ = gradients(optional, corrupt, logit_diff)
            put_grads(store, "grad_optional/logit_diff/", g)
            info["optional"] = ["use_attn_result", "use_split_qkv_input", "use_hook_mlp_in", "use_attn_in"]

        store.put("eap/eap", eap_reference(spec, hf, clean, corrupt, logit_diff))
        store.put("eap/eap_ig3", eap_reference(spec, hf, clean, corrupt, lambda lg: (lg[:, -1, t1] - lg[:, -1, t2]).sum(), steps=3))
        store.put("eap/eap_ig3_act", eap_reference(spec, hf, clean, corrupt, lambda lg: (lg[:, -1, t1] - lg[:, -1, t2]).sum(), steps=3,
                                                   on="activations"))
        senders, receivers, _ = eap_nodes(model.cfg)
        info["eap"] = {"senders": senders, "receivers": receivers,
                       "eap": "gradient of logit_diff on clean_tokens; delta = clean - corrupted sender outputs",
                       "eap_ig3": "EAP-IG on inputs, 3 steps (alpha = 1/3, 2/3, 1), metric summed over the batch of steps, gradients averaged",
                       "eap_ig3_act": "EAP-IG on activations, 3 steps per layer node (input, each attention layer, each MLP)",
                       "definition": eap_reference.__doc__}
        with torch.no_grad():
            _, clean_cache = model.run_with_cache(clean)
        info["attribution"] = attribution(store, model, clean_cache, corrupt_cache, corrupt_grads)
        for (act, axes), value in qk_fix_reference(model, clean_cache, corrupt_cache, corrupt_grads).items():
            store.put(f"attrib_qk_fix/{act}/{axes}", value)
        info["attribution_qk_fix"] = qk_fix_reference.__doc__
        store.save(os.path.join(out_dir, "gradients.safetensors"))
        info["keys"] = {k: list(v.shape) for k, v in store.tensors.items()}
        with open(os.path.join(out_dir, "gradients.json"), "w") as f:
            json.dump(info, f, indent=1)
            f.write("\n")
        print(f"{spec.name}: {len(store.tensors)} tensors", flush=True)


if __name__ == "__main__":
    main()
