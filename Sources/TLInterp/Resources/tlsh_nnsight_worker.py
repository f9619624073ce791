#!/usr/bin/env python3
"""tlsh's nnsight worker: runs tlsh intervention plans through nnsight, locally or on NDIF.

A long-lived process. tlsh writes one JSON request per line on stdin and reads one JSON line per
reply on stdout (stderr is free text for logs). Every request carries an "id"; the reply carries
the same id and either {"ok": true, "result": ...} or {"ok": false, "error": "...", "kind": "..."}.
While a remote job waits, lines {"id": n, "status": "QUEUED"|"RUNNING"|..., "message": "..."}
arrive before the reply.

Tensors travel as {"shape": [...], "data": "<base64 of little-endian float32>"}.

Requests:
  {"op": "hello"}                                   -> versions of nnsight, torch, transformers
  {"op": "load", "model": DIR_OR_REPO, "remote": bool, "host": URL?, "request_only": bool?}
                                                    -> architecture, sizes, supported hook names
  {"op": "execute", "plan": PLAN}                   -> {"runs": [{name: tensor}], "stats": {...}}
  {"op": "request", "plan": PLAN}                   -> the NDIF request this plan would send (no network)
  {"op": "shutdown"}

A plan (the same value type tlsh's engine executes, Sources/TLInterp/InterventionPlan.swift):
  {"runs": [{"tokens": [ids],
             "reads":  [{"hook": NAME, "positions": [p]?, "columns": [c]?, "keep": bool?}],
             "writes": [{"hook": NAME, "op": "set"|"add", "positions": [p]?, "head": h?,
                         "value": TENSOR | {"run": i, "hook": NAME}}]}]}
A write's value may name a read of an earlier run of the same plan (a patch sweep's clean run), so
a whole sweep is one job whose request holds no activations. Reads with "keep": false are only
used by later writes and are not sent back.

Reductions (so replies stay small for large vocabularies; Sources/TLInterp/PlanReductions.swift):
a read may carry "key": NAME (its name in the reply, default the hook) and
  "reduce": {"decode": bool, "log_softmax": bool, "top_k": k?, "pick": {"columns": [c]} | {"argmax_of": NAME}?}
applied after "positions", in order: decode (the logit lens: the final norm recomputed without its
weight and bias, i.e. centred for LayerNorm models and divided by the root mean square with the
model's eps, then the unembedding with its bias), log_softmax over the last axis, then one of
top_k (per row the k largest as [..., k, 2] (value, index) pairs), pick (per row one column's
value and rank = how many entries are larger, [..., 2]; "argmax_of" takes each row's column from
another reduced read of the run: where its base is largest) or "columns".

Generation: a run with "generate": {"new_tokens": n, "eos": id?, "sampling": {"greedy": true} |
{"temperature": t, "top_k": k?, "top_p": p?, "freq_penalty": f, "seed": s}} continues its tokens
with its writes (tensor values, every position; "prompt_only": true writes only at the prompt's
positions) active, one trace per new token inside the session; it reads nothing and replies
{"generated": tensor of the new token ids}. Sampling uses torch's generator seeded with s.

Hook names are TransformerLens's; HOOKS below maps each to a Hugging Face module and whether the
value is that module's input or output. Model weights are Hugging Face's own (no TransformerLens
processing): results are those of tlsh's `process=false`.
"""
import base64
import json
import math
import os
import sys
import time
import traceback

PROTOCOL = 1

# --------------------------------------------------------------------------------------------
# Family module paths. Each entry names, per family, where a TransformerLens hook lives in the
# Hugging Face module tree. "L" is the layer index. The rank orders accesses within a layer in
# the order the module runs them (nnsight requires accesses in execution order).
# --------------------------------------------------------------------------------------------

def _family_paths(model_type):
    """Module paths of one Hugging Face model_type, or None when unsupported."""
    llama_like = dict(
        embed="model.embed_tokens", layers="model.layers", attn="self_attn", o_proj="self_attn.o_proj",
        ln2="post_attention_layernorm", mlp="mlp", ln_final="model.norm",
        attn_out=("self_attn", "output"), mlp_out=("mlp", "output"), scaled_embed=False,
        # q/k/v: one projection each (viewed per head); the MLP: gate (hook_pre), up (hook_pre_linear),
        # down (its input is hook_post); the unembedding. Conv1D weights are [in, out], Linear's [out, in].
        qkv=("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), fused_qkv=None,
        mlp_pre="mlp.gate_proj", mlp_pre_linear="mlp.up_proj", mlp_down="mlp.down_proj", unembed="lm_head", conv1d=False)
    if model_type == "gpt2":
        # c_attn's output is [q | k | v] along the last axis ("outer" split).
        return dict(embed="transformer.wte", pos_embed="transformer.wpe", layers="transformer.h", attn="attn",
                    o_proj="attn.c_proj", ln2="ln_2", mlp="mlp", ln_final="transformer.ln_f",
                    attn_out=("attn", "output"), mlp_out=("mlp", "output"), scaled_embed=False,
                    qkv=None, fused_qkv=("attn.c_attn", "outer"), mlp_pre="mlp.c_fc", mlp_pre_linear=None,
                    mlp_down="mlp.c_proj", unembed="lm_head", conv1d=True)
    if model_type == "gpt_neox":
        # query_key_value's output, viewed [pos, head, 3·d_head], is [q | k | v] within each head ("inner").
        return dict(embed="gpt_neox.embed_in", layers="gpt_neox.layers", attn="attention", o_proj="attention.dense",
                    ln2="post_attention_layernorm", mlp="mlp", ln_final="gpt_neox.final_layer_norm",
                    attn_out=("attention", "output"), mlp_out=("mlp", "output"), scaled_embed=False,
                    qkv=None, fused_qkv=("attention.query_key_value", "inner"), mlp_pre="mlp.dense_h_to_4h",
                    mlp_pre_linear=None, mlp_down="mlp.dense_4h_to_h", unembed=("lm_head", "embed_out"), conv1d=False)
    if model_type in ("llama", "mistral", "qwen2", "qwen3"):
        return llama_like
    if model_type == "gemma":
        return dict(llama_like, scaled_embed=True)
    if model_type == "gemma2":
        # Gemma-2 normalises each branch's output before adding it: TransformerLens's attn_out and
        # mlp_out fire after those post norms, and resid_mid feeds the pre-feedforward norm.
        return dict(llama_like, ln2="pre_feedforward_layernorm", attn_out=("post_attention_layernorm", "output"),
                    mlp_out=("post_feedforward_layernorm", "output"), scaled_embed=True)
    return None


SUPPORTED_TYPES = ["gpt2", "gpt_neox", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"]


class HookMap:
    """TransformerLens hook name -> (module path, "input"|"output", order key, head count or None)."""

    def __init__(self, config):
        self.model_type = config.model_type
        paths = _family_paths(config.model_type)
        if paths is None:
            raise WorkerError("unsupported_model", f"model_type '{config.model_type}' has no hook mapping; "
                              f"supported: {', '.join(SUPPORTED_TYPES)}")
        self.paths = paths
        self.n_layers = config.num_hidden_layers
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = getattr(config, "num_key_value_heads", None) or self.n_heads
        self.parallel = bool(getattr(config, "use_parallel_residual", False)) and config.model_type == "gpt_neox"
        self.d_model = config.hidden_size
        self.rotary = config.model_type != "gpt2"

    def names(self):
        out = []
        if not self.paths["scaled_embed"]:
            out.append("hook_embed")
        if "pos_embed" in self.paths:
            out.append("hook_pos_embed")
        for l in range(self.n_layers):
            b = f"blocks.{l}."
            out += [b + "hook_resid_pre", b + "attn.hook_q", b + "attn.hook_k", b + "attn.hook_v"]
            if self.rotary:
                out += [b + "attn.hook_rot_q", b + "attn.hook_rot_k"]
            out += [b + "attn.hook_attn_scores",
                    b + "attn.hook_pattern",
                    b + "attn.hook_z", b + "hook_attn_out"]
            if not self.parallel:
                out.append(b + "hook_resid_mid")
            out += [b + "mlp.hook_pre"] + ([b + "mlp.hook_pre_linear"] if self.paths["mlp_pre_linear"] else [])
            out += [b + "mlp.hook_post", b + "hook_mlp_out", b + "hook_resid_post"]
        # Not ln_final.hook_normalized: TransformerLens fires it before the norm's weight (and
        # bias), Hugging Face's norm module returns it after; docs/REMOTE.md lists the gaps.
        return out + ["logits"]

    def locate(self, name):
        """(module path, io, order key, per-head) of a hook name; raises for a name with no mapping."""
        p = self.paths
        if name == "hook_embed" and not p["scaled_embed"]:
            return p["embed"], "output", (-1, 0), False
        if name == "hook_pos_embed" and "pos_embed" in p:
            return p["pos_embed"], "output", (-1, 1), False
        if name == "logits":
            return "", "logits", (self.n_layers, 1), False
        if name.startswith("blocks."):
            rest = name[len("blocks."):]
            layer_text, _, local = rest.partition(".")
            if layer_text.isdigit() and int(layer_text) < self.n_layers:
                l = int(layer_text)
                layer = f"{p['layers']}.{l}"
                table = {
                    "hook_resid_pre": (layer, "input", 0),
                    "attn.hook_z": (f"{layer}.{p['o_proj']}", "input", 1),
                    "hook_attn_out": (f"{layer}.{p['attn_out'][0]}", p["attn_out"][1], 2),
                    "hook_mlp_out": (f"{layer}.{p['mlp_out'][0]}", p["mlp_out"][1], 4),
                    "hook_resid_post": (layer, "output", 5),
                }
                if not self.parallel:
                    table["hook_resid_mid"] = (f"{layer}.{p['ln2']}", "input", 3)
                if local in table:
                    path, io, rank = table[local]
                    return path, io, (l, rank), local == "attn.hook_z"
                inner = self.locate_inner(layer, local)
                if inner is not None:
                    path, io, rank, view = inner
                    return path, io, (l, rank), view
        raise WorkerError("unknown_hook", f"'{name}' has no nnsight equivalent for {self.model_type}; "
                          f"hooks with one: {', '.join(sorted(set(n.split('.', 2)[-1] if n.startswith('blocks.') else n for n in self.names())))}")

    def resolve_unembed(self, model):
        """The unembedding's module name where it has had several (GPT-NeoX: embed_out, lm_head)."""
        names = self.paths["unembed"]
        if isinstance(names, tuple):
            found = [n for n in names if hasattr(model, n)]
            self.paths = dict(self.paths, unembed=found[0] if found else names[0])

    def locate_inner(self, layer, local):
        """Hooks inside attention and the MLP: (path, io, rank, view) or None. view is a plain dict
        saying how a projection's output becomes TransformerLens's [batch, pos, head, d_head]."""
        p = self.paths
        qkv = {"attn.hook_q": 0, "attn.hook_k": 1, "attn.hook_v": 2}
        if local in qkv:
            i = qkv[local]
            heads = self.n_heads if i == 0 else self.n_kv_heads
            if p["qkv"] is not None:
                # Before any q/k norm (Qwen3) and before rotary, as TransformerLens's hook_q/k/v.
                return f"{layer}.{p['qkv'][i]}", "output", 0.1 + 0.1 * i, {"heads": heads, "chunk": None}
            path, layout = p["fused_qkv"]
            return f"{layer}.{path}", "output", 0.1 + 0.1 * i, {"heads": heads, "chunk": [3, i, layout]}
        if local == "attn.hook_pattern":
            # Recomputed from the q and k the attention function receives (.source): see _pattern.
            return f"{layer}.{p['attn']}", "pattern", 0.5, False
        if local in ("attn.hook_rot_q", "attn.hook_rot_k") and self.rotary:
            # The query and key the attention function receives: after rotary (and Qwen3's norms).
            return f"{layer}.{p['attn']}", local[-5:], 0.4, False
        if local == "attn.hook_attn_scores":
            return f"{layer}.{p['attn']}", "scores", 0.45, False
        if local == "mlp.hook_pre":
            return f"{layer}.{p['mlp_pre']}", "output", 3.2, False
        if local == "mlp.hook_pre_linear" and p["mlp_pre_linear"]:
            return f"{layer}.{p['mlp_pre_linear']}", "output", 3.4, False
        if local == "mlp.hook_post":
            return f"{layer}.{p['mlp_down']}", "input", 3.6, False
        return None

    def prepare_summary(self, read):
        """A read with a server-side summary, with the module paths its weights come from added
        (plain data, so the session stays serialisable for NDIF)."""
        summary = read.get("summary")
        if summary is None:
            return read
        if not isinstance(summary, dict) or len(summary) != 1:
            raise WorkerError("bad_request", f"a read's summary is one of unembed, stripe, weights, norm_scale; got {summary!r}")
        kind = next(iter(summary))
        hook = read["hook"]
        local = hook.split(".", 2)[-1] if hook.startswith("blocks.") else hook
        if kind == "unembed":
            u = dict(summary["unembed"])
            through = u.get("through", "output")
            u["_unembed"], u["_conv1d"], u["_weight"] = self.paths["unembed"], self.paths["conv1d"], None
            if through == "heads":
                if local != "attn.hook_z":
                    raise WorkerError("bad_request", f"an unembed summary through heads reads attn.hook_z, not {hook}")
                u["_weight"] = f"{self.paths['layers']}.{hook.split('.')[1]}.{self.paths['o_proj']}"
            elif through == "neurons":
                if local != "mlp.hook_post":
                    raise WorkerError("bad_request", f"an unembed summary through neurons reads mlp.hook_post, not {hook}")
                u["_weight"] = f"{self.paths['layers']}.{hook.split('.')[1]}.{self.paths['mlp_down']}"
            elif through != "output":
                raise WorkerError("bad_request", f"an unembed summary goes through output, heads or neurons, not {through!r}")
            return dict(read, summary={"unembed": u})
        if kind in ("stripe", "weights"):
            if local != "attn.hook_pattern":
                raise WorkerError("bad_request", f"a {kind} summary reads attn.hook_pattern, not {hook}")
            value = summary[kind] if kind == "stripe" else decode_tensor(summary[kind])
            return dict(read, summary={kind: value})
        if kind == "norm_scale":
            return read
        raise WorkerError("bad_request", f"unknown summary {kind!r}; summaries: unembed, stripe, weights, norm_scale")


# --------------------------------------------------------------------------------------------
# Tensors on the wire
# --------------------------------------------------------------------------------------------

def encode_tensor(t):
    import torch
    t = t.detach().to(torch.float32).contiguous().cpu()
    data = t.numpy().astype("<f4").tobytes()
    return {"shape": list(t.shape), "data": base64.b64encode(data).decode("ascii")}


def decode_tensor(obj):
    import numpy as np
    import torch
    shape = obj.get("shape")
    raw = base64.b64decode(obj.get("data", ""), validate=True)
    if not isinstance(shape, list) or any((not isinstance(s, int)) or s < 0 for s in shape):
        raise WorkerError("bad_request", f"a tensor's shape must be a list of sizes, got {shape!r}")
    count = math.prod(shape)
    if len(raw) != 4 * count:
        raise WorkerError("bad_request", f"a tensor of shape {shape} needs {4 * count} bytes, got {len(raw)}")
    return torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy()).reshape(shape)


class WorkerError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------------------------
# The model and plan execution
# --------------------------------------------------------------------------------------------

class Worker:
    def __init__(self, emit):
        self.emit = emit
        self.model = None
        self.hooks = None
        self.remote = False
        self.host = None
        self.name = None
        self.request_only = False
        self.model_key = None

    def hello(self, _req):
        import nnsight
        import torch
        import transformers
        return {"worker": "tlsh-nnsight", "protocol": PROTOCOL, "nnsight": nnsight.__version__,
                "torch": torch.__version__, "transformers": transformers.__version__,
                "python": sys.version.split()[0]}

    def load(self, req):
        import torch
        from transformers import AutoConfig
        name = req.get("model")
        if not isinstance(name, str) or not name:
            raise WorkerError("bad_request", "load needs a model directory or repo id")
        remote = bool(req.get("remote", False))
        # request_only: weights loaded here, but plans are only turned into the NDIF request they
        # would send (the `request` op: tests and size measurements with no hub and no network).
        request_only = bool(req.get("request_only", False))
        try:
            config = AutoConfig.from_pretrained(name)
        except Exception as e:  # noqa: BLE001 - every failure here is the user's to fix
            raise WorkerError("model_not_found", f"cannot read the config of '{name}': {e}")
        hooks = HookMap(config)
        lens = lens_spec(config)
        if remote and not request_only:
            # The weights stay on NDIF: the client builds the model on the meta device only.
            from nnsight import LanguageModel
            model = LanguageModel(name)
            host = req.get("host") or os.environ.get("NDIF_HOST") or None
            if host and not host.startswith(("http://", "https://")):
                raise WorkerError("bad_request", f"host '{host}' must start with http:// or https://")
        else:
            import nnsight
            from transformers import AutoModelForCausalLM
            hf = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32)
            hf.eval()
            model = nnsight.NNsight(hf)
            host = req.get("host") if request_only else None
        hooks.resolve_unembed(model)
        self.model, self.hooks, self.remote, self.host, self.name = model, hooks, remote or request_only, host, name
        self.request_only = request_only
        self.lens = dict(lens, unembed=hooks.paths["unembed"])
        self.model_key = f"nnsight.modeling.language.LanguageModel:{name}" if request_only else None
        return {"architecture": (config.architectures or [config.model_type])[0], "model_type": config.model_type,
                "n_layers": hooks.n_layers, "n_heads": hooks.n_heads, "d_model": hooks.d_model,
                "hooks": hooks.names(), "remote": remote, "host": host}

    # A plan is checked whole before anything runs, so a bad plan never half-runs.
    def _check_plan(self, plan):
        if self.model is None:
            raise WorkerError("no_model", "no model is loaded; send load first")
        runs = plan.get("runs") if isinstance(plan, dict) else None
        if not isinstance(runs, list) or not runs:
            raise WorkerError("bad_request", "a plan needs a non-empty list of runs")
        prepared = []
        for i, run in enumerate(runs):
            tokens = run.get("tokens")
            if not isinstance(tokens, list) or not tokens or not all(isinstance(t, int) and t >= 0 for t in tokens):
                raise WorkerError("bad_request", f"run {i}: tokens must be a non-empty list of token ids")
            ops = []
            generate = check_generation(i, run)
            for r in run.get("reads", []):
                path, io, order, per_head = self.hooks.locate(r["hook"])
                check_reduction(i, r, run.get("reads", []))
                if r.get("reduce") is not None and r.get("summary") is not None:
                    raise WorkerError("bad_request", f"run {i}: the read of {read_name(r)!r} has both a reduction and a summary; a read takes one")
                r = self.hooks.prepare_summary(r)
                ops.append((order, 1, "read", r, path, io, per_head))
            for w in run.get("writes", []):
                path, io, order, per_head = self.hooks.locate(w["hook"])
                if w.get("op", "set") not in ("set", "add"):
                    raise WorkerError("bad_request", f"run {i}: write op must be set or add, got {w.get('op')!r}")
                if w["hook"] == "logits" or io in ATTENTION_POINTS:
                    raise WorkerError("bad_request", f"run {i}: {w['hook']} can be read, not written, on nnsight")
                if w.get("head") is not None and not per_head:
                    raise WorkerError("bad_request", f"run {i}: head= is only for attn.hook_z, not {w['hook']}")
                value = w.get("value")
                if isinstance(value, dict) and "run" in value:
                    j = value["run"]
                    if not isinstance(j, int) or not 0 <= j < i:
                        raise WorkerError("bad_request", f"run {i}: a write can only use a read of an earlier run, not run {j!r}")
                    if not any(r["hook"] == value.get("hook") and read_name(r) == r["hook"] and r.get("reduce") is None
                               and r.get("summary") is None for r in runs[j].get("reads", [])):
                        raise WorkerError("bad_request", f"run {i}: run {j} does not read {value.get('hook')!r}")
                    value = ("ref", j, value["hook"])
                else:
                    value = ("tensor", decode_tensor(value))
                # Writes come before reads of the same point, so a read sees the patched value.
                ops.append((order, 0, "write", dict(w, value=value), path, io, per_head))
            ops.sort(key=lambda o: (o[0], o[1]))
            prepared.append((tokens, ops, generate))
        return prepared

    def _execute(self, prepared, remote_backend=None):
        kw = {}
        if self.remote:
            kw = {"backend": remote_backend} if remote_backend is not None else {"remote": True}
        return run_plan(self.model, self.hooks.n_heads, prepared, kw, self.lens)

    def execute(self, req):
        plan = req.get("plan")
        prepared = self._check_plan(plan)
        if self.request_only:
            raise WorkerError("bad_request", "this model was loaded with request_only: plans become requests (op request), not results")
        started = time.time()
        runs = self._run_with_status(prepared, req)
        keep = []
        for (tokens, ops, generate), saved in zip(prepared, runs):
            kept = {}
            if generate is not None:
                kept["generated"] = encode_tensor(saved["generated"])
            for _, _, kind, spec, *_ in ops:
                if kind == "read" and spec.get("keep", True):
                    name = read_name(spec)
                    kept[name] = encode_tensor(saved[name])
            keep.append(kept)
        return {"runs": keep, "stats": {"runs": len(prepared), "sessions": 1, "seconds": time.time() - started,
                                        "remote": self.remote}}

    def _run_with_status(self, prepared, req):
        import torch
        if not self.remote:
            with torch.no_grad():
                return self._execute(prepared)
        backend = make_remote_backend(self, req.get("id"))
        return self._execute(prepared, remote_backend=backend)

    def request(self, req):
        """Builds the NDIF request for a plan (model key, headers, serialized payload) without sending it."""
        prepared = self._check_plan(req.get("plan"))
        if not self.remote:
            raise WorkerError("bad_request", "request describes a remote job; load the model with remote=true")
        backend = make_remote_backend(self, req.get("id"), dry_run=True)
        try:
            self._execute(prepared, remote_backend=backend)
        except DryRunDone:
            pass
        return backend.captured


# The session code below is what nnsight serialises for NDIF: it must reach nothing but the
# model, plain data and these module-level functions (no Worker, no open files).

def _point(model, path, io, cached=None):
    """The live tensor of one hook point inside a trace (a tuple output's first element). Points
    inside attention share one access to the attention call's inputs, kept in `cached`."""
    if io == "logits":
        out = model.output
        return out.logits if hasattr(out, "logits") else out[0]
    target = _module(model, path)
    if io in ATTENTION_POINTS:
        # nnsight lets a trace reach a point once: the call's inputs are read once per module.
        cached = {} if cached is None else cached
        key = (path, "attention_call")
        if key not in cached:
            cached[key] = getattr(target.source, ATTENTION_CALL).inputs
        args, kwargs = cached[key]
        if io == "pattern":
            return _pattern(args, kwargs)
        if io == "scores":
            return _scores(args, kwargs)
        return args[1 if io == "rot_q" else 2].transpose(1, 2)  # [b, head, pos, d_head] -> [b, pos, head, d_head]
    value = target.input if io == "input" else target.output
    if isinstance(value, tuple):
        value = value[0]
    return value


def _module(model, path):
    target = model
    for part in path.split("."):
        target = target[int(part)] if part.isdigit() else getattr(target, part)
    return target


# The attention function's call inside every supported family's attention forward (transformers
# 5): attention_interface(self, query, key, value, mask, scaling=..., [sliding_window=...,
# softcap=...]). Its query and key are after rotary (and Qwen3's q/k norms); the pattern is
# computed from them as the eager implementation does, so it does not depend on which
# implementation (eager, sdpa, flash) the model was loaded with, here or on NDIF.
ATTENTION_CALL = "attention_interface_1"


ATTENTION_POINTS = ("pattern", "scores", "rot_q", "rot_k")


def _instrument_attention(model, ops):
    """Touches .source of every attention module a run reads inside, before the model starts: nnsight
    rewrites a module's forward on the first .source access, too late for a forward already running."""
    for path in sorted({op[4] for op in ops if op[5] in ATTENTION_POINTS}):
        _module(model, path).source


def _pattern(args, kwargs):
    """TransformerLens's hook_pattern [batch, head, query, key] from the attention call's inputs."""
    import torch
    return torch.softmax(_scores(args, kwargs).float(), dim=-1)


def _scores(args, kwargs):
    """TransformerLens's hook_attn_scores: q·k scaled, soft-capped (Gemma-2), hidden keys at -inf."""
    import torch
    q, k = args[1], args[2]  # [b, H, P, dh], [b, K, P, dh]
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)  # grouped-query attention
    scores = torch.matmul(q, k.transpose(-1, -2)) * kwargs.get("scaling", q.shape[-1] ** -0.5)
    softcap = kwargs.get("softcap")
    if softcap:
        scores = torch.tanh(scores / softcap) * softcap  # Gemma-2, before the mask as TransformerLens
    P, T = scores.shape[-2], scores.shape[-1]
    i = torch.arange(P, device=scores.device).unsqueeze(1) + (T - P)
    j = torch.arange(T, device=scores.device).unsqueeze(0)
    hidden = j > i
    window = kwargs.get("sliding_window")
    if window:
        hidden = hidden | (i - j >= window)  # key j is visible from query i when i - j < window
    return scores.masked_fill(hidden, float("-inf"))


def _head_view(tensor, spec):
    """A projection's output [b, p, width] as [b, p, head, d_head] (a view: writes reach the model)."""
    b, p = tensor.shape[0], tensor.shape[1]
    heads, chunk = spec["heads"], spec.get("chunk")
    if chunk is None:
        return tensor.view(b, p, heads, -1)
    parts, i, layout = chunk
    if layout == "outer":
        width = tensor.shape[-1] // parts
        return tensor[..., i * width:(i + 1) * width].view(b, p, heads, -1)
    per = tensor.view(b, p, heads, -1)
    width = per.shape[-1] // parts
    return per[..., i * width:(i + 1) * width]


def _summarise(model, summary, value, tokens):
    """A read's server-side summary (InterventionPlan.Summary): a few floats instead of the activation.
    unembed: each row's dot product with Σ c·W_U[:, t] (centred for LayerNorm models), through
    W_O per head (z) or W_out per neuron (mlp post); stripe: a pattern's mean at one diagonal
    offset per head; weights: Σ pattern·W per head and weight matrix; norm_scale: a norm's scale
    per row (centred for LayerNorm). (Losses are reductions: reduce_base / reduce_finish.)"""
    import torch
    kind, spec = next(iter(summary.items()))
    if kind == "unembed":
        W_U = _module(model, spec["_unembed"]).weight  # [vocab, d_model]
        direction = sum(float(c) * W_U[int(t)] for t, c in zip(spec["tokens"], spec["coefficients"]))
        if spec.get("center"):
            direction = direction - direction.mean()  # centre(x) . w == x . centre(w)
        through = spec.get("through", "output")
        if through == "output":
            return value @ direction
        W = _module(model, spec["_weight"]).weight
        back = W @ direction if spec["_conv1d"] else direction @ W  # [in]: W's input width
        if through == "heads":
            return (value * back.view(value.shape[-2], value.shape[-1])).sum(-1)  # [b, p, H]
        return value * back  # neurons: [b, p, d_mlp]
    if kind == "stripe":
        offset = int(spec)
        return torch.diagonal(value, offset=-offset, dim1=-2, dim2=-1).mean(-1)  # [b, H]
    if kind == "weights":
        return torch.einsum("bhij,kij->bhk", value, spec.to(value.dtype))
    return _norm_scale(value.float(), spec.get("center"), float(spec["eps"]))[1].squeeze(-1)  # norm_scale: [b, p]


def _view(tensor, per_head, n_heads):
    if isinstance(per_head, dict):
        return _head_view(tensor, per_head) if tensor.dim() == 3 else tensor
    if per_head and tensor.dim() == 3:
        b, p, hd = tensor.shape
        return tensor.view(b, p, n_heads, hd // n_heads)
    return tensor


def run_plan(model, n_heads, prepared, session_kw, lens=None):
    """One nnsight session holding one trace per run; returns the saved values per run."""
    import nnsight
    import torch
    with model.session(**session_kw):
        results = nnsight.save([])
        for tokens, ops, generate in prepared:
            if generate is not None:
                results.append(generate_run(model, n_heads, tokens, ops, generate))
                continue
            saved = {}
            bases = {}
            with model.trace(torch.tensor([tokens])):
                cached = {}
                _instrument_attention(model, ops)
                for order, _, kind, spec, path, io, per_head in ops:
                    key = (path, io)
                    if key not in cached:
                        cached[key] = _point(model, path, io, cached)
                    point = _view(cached[key], per_head, n_heads)
                    positions = spec.get("positions")
                    pos = slice(None) if positions is None else list(positions)
                    if kind == "write":
                        value = spec["value"]
                        index = (slice(None), pos) if spec.get("head") is None else (slice(None), pos, spec["head"])
                        if value[0] == "ref":
                            # The earlier run's whole activation: take the same cells of it.
                            source = _view(results[value[1]][value[2]], per_head, n_heads)[index]
                        else:
                            source = value[1]
                            if source.numel() == point[index].numel():
                                source = source.reshape(point[index].shape)
                        if spec.get("op", "set") == "add":
                            point[index] = point[index] + source
                        else:
                            point[index] = source
                    else:
                        value = point[:, pos] if positions is not None else point
                        if spec.get("reduce") is not None:
                            bases[read_name(spec)] = reduce_base(model, value, spec["reduce"], lens)
                            continue
                        columns = spec.get("columns")
                        if columns is not None:
                            value = value[..., list(columns)]
                        if spec.get("summary") is not None:
                            value = _summarise(model, spec["summary"], value, tokens)
                        saved[read_name(spec)] = value.detach().clone()
                nnsight.save(saved)
                nnsight.save(bases)
            # Reductions after the trace, still inside the session (so on NDIF's side): a pick may
            # refer to another read's base.
            for _, _, kind, spec, *_ in ops:
                if kind == "read" and spec.get("reduce") is not None:
                    saved[read_name(spec)] = reduce_finish(bases[read_name(spec)], spec, bases)
            results.append(saved)
    return results


# --------------------------------------------------------------------------------------------
# Reductions and generation (docstring above; the Swift engine's side is PlanReductions.swift and
# PlanGeneration.swift). Module-level functions of plain data, like run_plan.
# --------------------------------------------------------------------------------------------

def lens_spec(config):
    """How the logit lens decodes a residual row: centring (LayerNorm) or not (RMSNorm), and the
    final norm's eps (load adds the unembedding module, as HookMap resolved it). The norm's weight
    and bias are not applied: tlsh's (TransformerLens's) lens with process=false recomputes only the
    normalisation."""
    t = config.model_type
    if t == "gpt2":
        return {"layer_norm": True, "eps": float(config.layer_norm_epsilon)}
    if t == "gpt_neox":
        return {"layer_norm": True, "eps": float(config.layer_norm_eps)}
    return {"layer_norm": False, "eps": float(config.rms_norm_eps)}


def _norm_scale(x, center, eps):
    """A norm recomputed without its weight and bias: each row centred (LayerNorm) when `center`,
    and its scale sqrt(mean(x^2) + eps). Returns (the centred rows, the scale [..., 1])."""
    import torch
    if center:
        x = x - x.mean(dim=-1, keepdim=True)
    return x, torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def read_name(spec):
    return spec.get("key") or spec["hook"]


def check_reduction(i, read, reads):
    red = read.get("reduce")
    if red is None:
        return
    if not isinstance(red, dict):
        raise WorkerError("bad_request", f"run {i}: reduce must be an object")
    if red.get("decode") and read["hook"] == "logits":
        raise WorkerError("bad_request", f"run {i}: decode reads a residual activation, not the logits")
    pick, top_k = red.get("pick"), red.get("top_k")
    if pick is not None and top_k is not None:
        raise WorkerError("bad_request", f"run {i}: a read reduces with top_k or pick, not both")
    if (pick is not None or top_k is not None) and read.get("columns") is not None:
        raise WorkerError("bad_request", f"run {i}: columns selects from an unreduced read")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise WorkerError("bad_request", f"run {i}: top_k must be a whole number of at least 1")
    if pick is not None:
        other = pick.get("argmax_of") if isinstance(pick, dict) else None
        if other is not None and not any(read_name(r) == other and r.get("reduce") is not None for r in reads):
            raise WorkerError("bad_request", f"run {i}: pick argmax_of {other!r} names no reduced read of this run")
        if other is None and not (isinstance(pick, dict) and isinstance(pick.get("columns"), list)):
            raise WorkerError("bad_request", f"run {i}: pick is {{\"columns\": [...]}} or {{\"argmax_of\": NAME}}")


def check_generation(i, run):
    gen = run.get("generate")
    if gen is None:
        if any(w.get("prompt_only") for w in run.get("writes", [])):
            raise WorkerError("bad_request", f"run {i}: prompt_only writes belong to generation runs")
        return None
    if run.get("reads"):
        raise WorkerError("bad_request", f"run {i}: a generation run reads nothing; its result is the new tokens")
    n = gen.get("new_tokens")
    if not isinstance(n, int) or n < 0:
        raise WorkerError("bad_request", f"run {i}: new_tokens must be a whole number of 0 or more")
    for w in run.get("writes", []):
        if w.get("positions") is not None or (isinstance(w.get("value"), dict) and "run" in w["value"]):
            raise WorkerError("bad_request", f"run {i}: a generation's writes hold numbers for every position")
    return gen


def reduce_base(model, value, red, lens):
    """Positions already chosen: decode (logit lens), then log-softmax."""
    import torch
    x = value.detach().to(torch.float32)
    if red.get("decode"):
        head = _module(model, lens["unembed"])
        weight, bias = head.weight, head.bias
        x, scale = _norm_scale(x, lens["layer_norm"], lens["eps"])
        x = x * scale.reciprocal()  # as tlsh's LogitLens: times 1 / scale
        x = torch.nn.functional.linear(x.to(weight.dtype), weight, bias).to(torch.float32)
    if red.get("log_softmax"):
        x = torch.log_softmax(x, dim=-1)
    return x.clone()


def reduce_finish(base, spec, bases):
    """top_k, pick or columns of a base."""
    import torch
    red = spec["reduce"]
    n = base.shape[-1]
    if red.get("top_k") is not None:
        values, indices = torch.topk(base, min(int(red["top_k"]), n), dim=-1)
        return torch.stack([values, indices.to(values.dtype)], dim=-1)
    pick = red.get("pick")
    if pick is not None:
        rows = base.reshape(-1, n)
        if pick.get("argmax_of") is not None:
            other = bases[pick["argmax_of"]]
            cols = other.reshape(-1, other.shape[-1]).argmax(dim=-1)
        else:
            cols = torch.tensor(pick["columns"], dtype=torch.long, device=rows.device)
        if cols.numel() != rows.shape[0]:
            raise WorkerError("bad_request", f"pick gives {cols.numel()} columns for {rows.shape[0]} rows")
        v = rows.gather(1, cols.to(rows.device).view(-1, 1))
        rank = (rows > v).sum(dim=-1, keepdim=True).to(rows.dtype)
        return torch.cat([v, rank], dim=-1).reshape(tuple(base.shape[:-1]) + (2,))
    columns = spec.get("columns")
    return base[..., list(columns)] if columns is not None else base


def choose_token(last, sampling, generator, history):
    """The next token from one row of logits: greedy (the first largest) or sampled."""
    import torch
    temperature = float(sampling.get("temperature", 0) or 0)
    if sampling.get("greedy") or temperature == 0:
        return int(torch.argmax(last))
    logits = last.detach().to(torch.float64) / temperature
    penalty = float(sampling.get("freq_penalty", 0) or 0)
    if penalty:
        for h in history:
            if h < logits.numel():
                logits[h] -= penalty
    order = torch.argsort(logits, descending=True)
    keep = order.numel()
    if sampling.get("top_k"):
        keep = min(keep, int(sampling["top_k"]))
    order = order[:keep]
    probs = torch.softmax(logits[order], dim=-1)
    top_p = sampling.get("top_p")
    if top_p is not None and top_p < 1:
        cut = int((torch.cumsum(probs, dim=-1) < float(top_p)).sum()) + 1
        probs = probs[:cut] / probs[:cut].sum()
        order = order[:cut]
    return int(order[torch.multinomial(probs, 1, generator=generator)])


def generate_run(model, n_heads, tokens, ops, gen):
    """A generation run: one trace per new token over the whole sequence so far (no KV cache), the
    writes applied at every position (prompt_only: at the prompt's positions) in every trace, which
    equals the Swift engine's cached generation with its hooks."""
    import nnsight
    import torch
    sampling = gen.get("sampling") or {"greedy": True}
    generator = None
    if not sampling.get("greedy"):
        generator = torch.Generator().manual_seed(int(sampling.get("seed", 0)))
    eos = gen.get("eos")
    prompt_len = len(tokens)
    seq = list(tokens)
    new = []
    for _ in range(int(gen["new_tokens"])):
        with model.trace(torch.tensor([seq])):
            cached = {}
            for order, _, kind, spec, path, io, per_head in ops:
                key = (path, io)
                if key not in cached:
                    cached[key] = _point(model, path, io)
                point = _view(cached[key], per_head, n_heads)
                pos = slice(0, prompt_len) if spec.get("prompt_only") else slice(None)
                index = (slice(None), pos) if spec.get("head") is None else (slice(None), pos, spec["head"])
                source = spec["value"][1].to(point.dtype)
                if spec.get("op", "set") == "add":
                    point[index] = point[index] + source
                else:
                    point[index] = source
            last = nnsight.save(_point(model, "", "logits")[0, -1].detach().clone())
        t = choose_token(last, sampling, generator, seq)
        new.append(t)
        seq.append(t)
        if eos is not None and t == eos:
            break
    return {"generated": torch.tensor(new, dtype=torch.float32)}


class DryRunDone(Exception):
    pass


def make_remote_backend(worker, request_id, dry_run=False):
    """nnsight's RemoteBackend, with its status display replaced by protocol status lines."""
    from nnsight.intervention.backends.remote import RemoteBackend

    api_key = os.environ.get("NDIF_API_KEY", "")
    if not api_key and not dry_run:
        raise WorkerError("missing_key", "NDIF needs an API key: set NDIF_API_KEY (get one at https://login.ndif.us)")

    class StatusLines:
        enabled = False

        def update(self, response):
            worker.emit({"id": request_id, "status": response.status.value, "message": response.description or ""})

        def refresh(self):
            pass

    class TlshRemoteBackend(RemoteBackend):
        def request(self, request, tracer):
            if not dry_run:
                return super().request(request, tracer)
            blob = self._serialize(tracer)
            headers = {"nnsight-version": "(set by nnsight)", "ndif-api-key": "(NDIF_API_KEY)" if api_key else "(missing)"}
            self.captured = {"url": f"{self.host}/request", "websocket": f"{self.ws_host}/subscribe",
                             "model_key": request.model_key, "compress": request.compress,
                             "payload_bytes": len(blob), "headers": sorted(headers)}
            raise DryRunDone()

    model_key = worker.model_key or worker.model.to_model_key()
    backend = TlshRemoteBackend(model_key, host=worker.host, api_key=api_key or None)
    backend.display = StatusLines()
    backend.captured = None
    return backend


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------

def main():
    out = sys.stdout
    # Only protocol lines go to stdout: anything a library prints goes to stderr.
    sys.stdout = sys.stderr

    def emit(obj):
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        out.flush()

    worker = Worker(emit)
    ops = {"hello": worker.hello, "load": worker.load, "execute": worker.execute, "request": worker.request}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as e:
            emit({"id": None, "ok": False, "kind": "bad_request", "error": f"not a JSON request: {e}"})
            continue
        rid = req.get("id")
        op = req.get("op")
        if op == "shutdown":
            emit({"id": rid, "ok": True, "result": None})
            return
        handler = ops.get(op)
        if handler is None:
            emit({"id": rid, "ok": False, "kind": "bad_request", "error": f"unknown op {op!r}; ops: {', '.join(sorted(ops))}, shutdown"})
            continue
        try:
            emit({"id": rid, "ok": True, "result": handler(req)})
        except WorkerError as e:
            emit({"id": rid, "ok": False, "kind": e.kind, "error": str(e)})
        except Exception as e:  # noqa: BLE001 - report, keep serving
            kind = "remote_error" if type(e).__name__ == "RemoteError" else "internal"
            traceback.print_exc(file=sys.stderr)
            emit({"id": rid, "ok": False, "kind": kind, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
