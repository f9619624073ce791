#!/usr/bin/env python3
"""PyTorch checkpoint fixtures for tlsh's restricted .bin reader (Tests/Fixtures/pytorch).

Run with the reference venv:  /work/venv-ref/bin/python tools/goldens/pytorch_checkpoints.py

Writes, with torch.save (zip format) and safetensors:
  tensors.bin           F32, F16 and BF16 tensors, a transposed (strided) view, a sliced view with a
                        storage offset, two tensors sharing one storage, a bool buffer, a 0-d and an
                        empty tensor; expected.safetensors holds the same tensors, contiguous, in F32
                        (exact: F16/BF16 widen to F32 without rounding)
  sharded/              pytorch_model.bin.index.json + two shards of tensors.bin's float tensors
  legacy.bin            the same state dict in torch's legacy (pre-1.6, non-zip) format: refused
  malicious/*.bin       zip archives whose data.pkl calls os.system, builtins.eval (via STACK_GLOBAL),
                        builds an object with INST, or holds a non-tensor value: all refused, and
                        none of them is ever executed by tlsh
  pythia-a-bin/         Tests/Fixtures/families/pythia-a/hf re-saved as pytorch_model.bin only (what
                        many Pythia revisions publish); served by the fake hub as a @step3000 revision
"""
import collections
import io
import json
import os
import pickle
import shutil
import zipfile

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures")
OUT = os.path.join(ROOT, "pytorch")


def state_dict():
    g = torch.Generator().manual_seed(17)
    base = torch.randn(6, 5, generator=g)
    shared = torch.randn(20, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(2, 3, 4, generator=g).half()
    sd["bf16"] = torch.randn(7, generator=g).bfloat16()
    sd["transposed"] = base.t()                       # strides (1, 5): not contiguous
    sd["sliced"] = base[2:5, 1:4]                     # offset 11, strides (5, 1): not contiguous
    sd["shared_a"] = shared[:8].view(2, 4)            # the same storage as shared_b
    sd["shared_b"] = shared[8:]                       # storage offset 8, contiguous
    sd["f16_transposed"] = torch.randn(3, 5, generator=g).half().t()
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["mask"] = torch.tril(torch.ones(3, 3, dtype=torch.bool))  # like GPT-NeoX's attention.bias buffer
    return sd


def rewrite_pickle(src, dst, payload):
    """Copies a torch.save archive, replacing its data.pkl with `payload`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("/data.pkl"):
                data = payload
            zout.writestr(item.filename, data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "sharded"))
    os.makedirs(os.path.join(OUT, "malicious"))
    sd = state_dict()
    torch.save(sd, os.path.join(OUT, "tensors.bin"))
    expected = {k: v.float().contiguous() for k, v in sd.items() if v.dtype != torch.bool}
    save_file(expected, os.path.join(OUT, "expected.safetensors"))

    torch.save(sd, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)

    floats = [k for k in sd if sd[k].dtype != torch.bool]
    half = len(floats) // 2
    shards = {"pytorch_model-00001-of-00002.bin": floats[:half], "pytorch_model-00002-of-00002.bin": floats[half:]}
    weight_map = {}
    for name, keys in shards.items():
        torch.save(collections.OrderedDict((k, sd[k]) for k in keys), os.path.join(OUT, "sharded", name))
        weight_map.update({k: name for k in keys})
    with open(os.path.join(OUT, "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1, sort_keys=True)

    # Malicious pickles inside otherwise valid archives. Written opcode by opcode, so that building
    # the fixture runs nothing either.
    good = os.path.join(OUT, "tensors.bin")
    payloads = {
        # os.system("echo pwned > /tmp/tlsh-pwned") via GLOBAL + REDUCE
        "os_system.bin": b"\x80\x02cos\nsystem\nX\x1b\x00\x00\x00echo pwned > /tmp/tlsh-pwned\x85R.",
        # builtins.eval via protocol-4 STACK_GLOBAL
        "eval.bin": b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x0e1 + 1 and None\x85R.",
        # INST opcode (builds an instance of any class)
        "inst.bin": b"\x80\x02(X\x01\x00\x00\x00xisubprocess\nPopen\n.",
        # a state dict whose value is an int, not a tensor
        "not_tensor.bin": pickle.dumps({"w": 3}, protocol=2),
        # a top-level list instead of a dict
        "not_dict.bin": pickle.dumps([1, 2], protocol=2),
    }
    for name, payload in payloads.items():
        rewrite_pickle(good, os.path.join(OUT, "malicious", name), payload)
    with open(os.path.join(OUT, "malicious", "truncated.bin"), "wb") as f:
        f.write(open(good, "rb").read()[:300])

    src = os.path.join(ROOT, "families", "pythia-a", "hf")
    dst = os.path.join(OUT, "pythia-a-bin")
    os.makedirs(dst)
    for name in ("config.json", "generation_config.json"):
        shutil.copy(os.path.join(src, name), dst)
    weights = load_file(os.path.join(src, "model.safetensors"))
    torch.save(collections.OrderedDict(sorted(weights.items())), os.path.join(dst, "pytorch_model.bin"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
