#!/usr/bin/env python3
"""Measures what the reductions save: reply bytes (one JSON line from the worker) of loss and lens
plans with server-side reductions against the full tensors they replace, on a fixture model.
Prints one line per plan (docs/REMOTE.md quotes them).

    PYTHON tools/nnsight_worker/measure_reductions.py [MODEL_DIR]   # PYTHON: one with nnsight, torch, transformers
"""
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests/Fixtures/families/llama-a/hf")
worker = os.path.join(root, "Sources", "TLInterp", "Resources", "tlsh_nnsight_worker.py")
proc = subprocess.Popen([sys.executable, worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def call(obj):
    proc.stdin.write(json.dumps(obj) + "\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        reply = json.loads(line)
        if "status" not in reply:
            return reply, len(line)


call({"op": "hello", "id": 1})
loaded, _ = call({"op": "load", "id": 2, "model": model})
L = loaded["result"]["n_layers"]
tokens = [0, 320, 369, 366, 83, 227, 0, 320, 369, 366, 83, 227]
P = len(tokens)


def run(name, reads):
    reply, size = call({"op": "execute", "id": 3, "plan": {"runs": [{"tokens": tokens, "reads": reads}]}})
    assert reply["ok"], reply
    print(f"| {name} | {size:,} B |")


rows = [f"blocks.{l}.hook_resid_pre" for l in range(L)] + [f"blocks.{L - 1}.hook_resid_post"]


def lens(k, positions):
    reads = []
    for h in rows:
        reads.append({"hook": h, "positions": positions, "key": h, "reduce": {"decode": True, "log_softmax": True, "top_k": k}})
        reads.append({"hook": h, "positions": positions, "key": h + " track",
                      "reduce": {"decode": True, "log_softmax": True, "pick": {"argmax_of": rows[-1]}}})
    return reads


print(f"| plan ({P} tokens, {len(rows)} lens rows) | reply |\n|---|---|")
run("loss: full logits", [{"hook": "logits"}])
run("loss: log-softmax, pick the next tokens", [{"hook": "logits", "positions": list(range(P - 1)),
                                                 "reduce": {"log_softmax": True, "pick": {"columns": tokens[1:]}}}])
run("lens k=1, last position: top 1 and track per row", lens(1, [P - 1]))
run("lens k=3, every position", lens(3, list(range(P))))
run("lens: full decoded rows, every position", [{"hook": h, "key": h, "reduce": {"decode": True, "log_softmax": True}} for h in rows])
proc.stdin.write(json.dumps({"op": "shutdown", "id": 9}) + "\n")
proc.stdin.flush()
