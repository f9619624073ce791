#!/usr/bin/env python3
"""Measures the reply of dla and induction plans with server-side summaries against the same reads
sent back whole, through the worker (in-process) on a fixture model. docs/REMOTE.md quotes it.

    PYTHON tools/nnsight_worker/measure_analyses.py [FAMILY]   # PYTHON: one with nnsight, torch, transformers
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "Sources", "TLInterp", "Resources"))
import tlsh_nnsight_worker as W  # noqa: E402

family = sys.argv[1] if len(sys.argv) > 1 else "llama-a"
d = os.path.join(root, "Tests/Fixtures/families", family, "hf")
meta = json.load(open(os.path.join(root, "Tests/Fixtures/families", family, "meta.json")))
toks=meta["interp"]["clean"]; t1=meta["interp"]["t1"]; t2=meta["interp"]["t2"]
w=W.Worker(lambda o: None); info=w.load({"model": d}); L=info["n_layers"]
u={"tokens":[t1,t2],"coefficients":[1,-1],"center":False}
def reads(summ, neurons=True):
    r=[("blocks.0.hook_resid_pre","output")]
    for l in range(L):
        r+= [(f"blocks.{l}.attn.hook_z","heads"),(f"blocks.{l}.hook_attn_out","output")]
        if neurons and l==L-1: r.append((f"blocks.{l}.mlp.hook_post","neurons"))
        r.append((f"blocks.{l}.hook_mlp_out","output"))
    out=[{"hook":h,"positions":[-1], **({"summary":{"unembed":dict(u,through=t)}} if summ else {})} for h,t in r]
    final = {"hook": f"blocks.{L-1}.hook_resid_post", "positions": [-1]}
    if summ:  # the final norm's scale (llama: RMSNorm, not centred)
        final["summary"] = {"norm_scale": {"center": False, "eps": 1e-6}}
    return out + [final]
for name, plan in [("dla plan (summaries)", reads(True)), ("same reads, vectors", reads(False)),
                   ("dla plan, no neurons", reads(True, False)), ("vectors, no neurons", reads(False, False))]:
    p={"runs":[{"tokens":toks,"reads":plan}]}
    r=w.execute({"plan":p}); del r["stats"]
    print(f"{name}: request {len(json.dumps(p, separators=(',',':')))} B, reply {len(json.dumps(r, separators=(',',':')))} B")
# induction / detect
P=len(toks)
rep=[1]+toks[:6]+toks[:6]
pat=[{"hook":f"blocks.{l}.attn.hook_pattern"} for l in range(L)]
for name, rd in [("induction stripes", [dict(x, summary={"stripe":5}) for x in pat]), ("whole patterns", pat)]:
    p={"runs":[{"tokens":rep,"reads":rd}]}
    r=w.execute({"plan":p}); del r["stats"]
    print(f"{name}: reply {len(json.dumps(r, separators=(',',':')))} B")
