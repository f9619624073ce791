#!/usr/bin/env python3
"""Measures how a patch sweep's plan grows with sweep size and what one job costs, through the
worker's own protocol: for resid_pre layer x pos and z layer x head sweeps on a fixture model,
the plan's JSON bytes, its runs, round trips (always 1) and wall time; and the per-trace cost from
a plan of empty traces. Prints a Markdown table (docs/REMOTE.md quotes it).

    PYTHON tools/nnsight_worker/measure.py [MODEL_DIR]   # PYTHON: one with nnsight, torch, transformers
"""
import json
import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests/Fixtures/families/llama-a/hf")

proc = subprocess.Popen([sys.executable, os.path.join(root, "Sources", "TLInterp", "Resources", "tlsh_nnsight_worker.py")], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
next_id = [0]


def call(op, **fields):
    next_id[0] += 1
    line = json.dumps(dict(fields, op=op, id=next_id[0]))
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    while True:
        reply = json.loads(proc.stdout.readline())
        if "status" not in reply:
            if not reply["ok"]:
                raise SystemExit(reply["error"])
            return reply["result"], len(line)


def patch_plan(hook, layers, cells, clean, corrupt, heads):
    """The plan tlsh's PatchPlan builds: a clean run reading each layer's activation (kept on the
    server), a corrupt run, one patched run per cell; every run reads one position's two logits."""
    metric = {"hook": "logits", "positions": [-1], "columns": [0, 1]}
    runs = [{"tokens": clean, "reads": [{"hook": f"blocks.{l}.{hook}", "keep": False} for l in range(layers)] + [metric]},
            {"tokens": corrupt, "reads": [metric]}]
    for l in range(layers):
        for c in range(cells):
            w = {"hook": f"blocks.{l}.{hook}", "op": "set", "value": {"run": 0, "hook": f"blocks.{l}.{hook}"}}
            if heads:
                w["head"] = c
            else:
                w["positions"] = [c]
            runs.append({"tokens": corrupt, "reads": [metric], "writes": [w]})
    return {"runs": runs}


info, _ = call("load", model=model)
L, H = info["n_layers"], info["n_heads"]
P = 12
clean, corrupt = list(range(1, P + 1)), list(range(20, 20 + P))
print(f"model {os.path.basename(os.path.dirname(model))}: {L} layers, {H} heads, {P} tokens; torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}")
print()
print("| sweep | cells | runs | plan JSON | reply | round trips | wall |")
print("|---|---|---|---|---|---|---|")
rows = []
for name, hook, heads, cells in [("resid_pre layer x pos (1 layer)", "hook_resid_pre", False, P),
                                 ("resid_pre layer x pos", "hook_resid_pre", False, P),
                                 ("z layer x head", "attn.hook_z", True, H)]:
    layers = 1 if "(1 layer)" in name else L
    plan = patch_plan(hook, layers, cells, clean, corrupt, heads)
    t = time.time()
    result, sent = call("execute", plan=plan)
    wall = time.time() - t
    reply = len(json.dumps(result))
    print(f"| {name} | {layers * cells} | {len(plan['runs'])} | {sent:,} B | {reply:,} B | 1 | {wall:.2f} s |")
    rows.append((len(plan["runs"]), sent, wall))

# Per-run cost: a plan of N runs that read only two logits.
for n in (1, 32):
    plan = {"runs": [{"tokens": clean, "reads": [{"hook": "logits", "positions": [-1], "columns": [0, 1]}]} for _ in range(n)]}
    t = time.time()
    call("execute", plan=plan)
    print(f"\n{n} forward(s) in one session: {time.time() - t:.3f} s")
per_run_bytes = (rows[1][1] - rows[0][1]) / max(1, rows[1][0] - rows[0][0])
print(f"\nplan bytes per patched run: {per_run_bytes:.0f}")
# What NDIF would receive: nnsight's serialised (zstd-compressed) session for the same plans,
# built by its RemoteBackend and not sent.
call("load", model=model, request_only=True, host="https://ndif.example.org")
print("\n| sweep | runs | NDIF request payload |")
print("|---|---|---|")
for name, hook, heads, cells, layers in [("resid_pre layer x pos (1 layer)", "hook_resid_pre", False, P, 1),
                                         ("resid_pre layer x pos", "hook_resid_pre", False, P, L),
                                         ("z layer x head", "attn.hook_z", True, H, L),
                                         ("resid_pre, 40 layers x 12 pos (synthetic: layers repeat)", "hook_resid_pre", False, P, 40)]:
    plan = patch_plan(hook, min(layers, L), cells, clean, corrupt, heads)
    if layers > L:  # more runs than the model has layers: repeat the patched runs
        plan["runs"] = plan["runs"][:2] + plan["runs"][2:] * (layers // L)
    req, _ = call("request", plan=plan)
    print(f"| {name} | {len(plan['runs'])} | {req['payload_bytes']:,} B |")
call("shutdown")
