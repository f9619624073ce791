#!/usr/bin/env python3
"""Sanity-checks the committed golden fixtures: every file opens with safetensors.safe_open,
every golden tensor is F32, and the key/shape lists in meta.json / interp.json match the files.

Usage: /work/venv-ref/bin/python tools/goldens/check.py
"""
import json
import os
import sys

from safetensors import safe_open

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "golden")


def check_pair(tensors_path: str, json_path: str, keys_field: str, shapes_field: str) -> int:
    with open(json_path) as f:
        info = json.load(f)
    with safe_open(tensors_path, "pt") as f:
        keys = list(f.keys())
        assert sorted(keys) == sorted(info[keys_field]), f"{tensors_path}: key list differs from {json_path}"
        for key in keys:
            piece = f.get_slice(key)
            assert piece.get_dtype() == "F32", f"{tensors_path}:{key} is {piece.get_dtype()}"
            assert list(piece.get_shape()) == info[shapes_field][key], f"{tensors_path}:{key} shape"
    return len(keys)


def main() -> None:
    total = 0
    for name in sorted(os.listdir(ROOT)):
        model_dir = os.path.join(ROOT, name)
        if not os.path.isdir(model_dir):
            continue
        with safe_open(os.path.join(model_dir, "hf", "model.safetensors"), "pt") as f:
            hf_keys = len(list(f.keys()))
        n = check_pair(os.path.join(model_dir, "golden.safetensors"), os.path.join(model_dir, "meta.json"),
                       "golden_keys", "golden_shapes")
        line = f"{name}: hf {hf_keys} tensors, golden {n}"
        interp = os.path.join(model_dir, "interp.safetensors")
        if os.path.exists(interp):
            m = check_pair(interp, os.path.join(model_dir, "interp.json"), "keys", "shapes")
            line += f", interp {m}"
            total += m
        total += n
        print(line)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"ok: {total} golden tensors, {size / 1e6:.2f} MB in {ROOT}")
    if size >= 10e6:
        sys.exit("fixtures exceed 10 MB")


if __name__ == "__main__":
    main()
