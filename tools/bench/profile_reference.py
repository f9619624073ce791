#!/usr/bin/env python3
"""Where TransformerLens's time goes on the benchmark's 1024-token forward: the share spent in
matrix products (which no engine can do faster than the machine's GEMM rate) against the rest.

    /path/to/venv/bin/python tools/bench/profile_reference.py [--model DIR] [--threads 2] [--runs 3]

Prints, per run, the wall time and the self CPU time of the matrix-product operators (aten::mm,
addmm, bmm, baddbmm, ...) as torch.profiler reports them, then their medians as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402  (tools/bench/reference.py: the same loading and tokens as the benchmark)

PRODUCTS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(os.path.expanduser("~/.cache"), "tlsh-bench", "gpt2-small-random-seed0"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    model = reference.load_tl(args.model)
    tokens = torch.tensor([reference.lcg_tokens(1024, model.cfg.d_vocab)])
    model(tokens)  # warm-up
    walls, products = [], []
    for _ in range(args.runs):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            model(tokens)
            walls.append(time.perf_counter() - t0)
        # Self time: a product's own kernel time, not the einsum/matmul wrappers that call it.
        products.append(sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in PRODUCTS) / 1e6)
        print(f"wall {walls[-1]:.3f} s, matrix products {products[-1]:.3f} s "
              f"({100 * products[-1] / walls[-1]:.0f}%)", file=sys.stderr)
    print(json.dumps({"wall_s": statistics.median(walls), "products_s": statistics.median(products)}))


if __name__ == "__main__":
    main()
