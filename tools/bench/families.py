#!/usr/bin/env python3
"""Family benchmark (issues 17 and 22): tlsh and TransformerLens 3.9 side by side, in one run, on
random-weight models of real 0.4B-1B shapes per family, 2 threads each.

    python3 tools/bench/families.py --python /work/venv-ref/bin/python [--shapes pythia-410m,...]
                                    [--tasks load,forward11,forward128,patchlayers,generate20]
                                    [--rounds 1] [--json out.json]

For each shape: the first run writes a seeded random Hugging Face directory (BF16 safetensors, to
halve disk and load bytes; both sides compute in Float32) under --cache-dir; then each round runs
`tlsh bench DIR TASKS` and this script's `tl` side (HookedTransformer.from_pretrained on the
directory, default processing) one after the other, each in a fresh process, so both meet the
same minute of this shared machine. Tasks: load + process; forward on 11 and 128 tokens (forwardN
takes any N: the prompt-length series); `patchlayers`, the resid_post patch sweep per layer with
every position patched at once, and `patch`, the tutorial's sweep over every layer x position (both
on 11 tokens, clean and corrupted runs included, TransformerLens's generic_activation_patch; `patch`
is L x 11 forwards, too slow for 1B shapes on a busy 2-core host); greedy generation of N tokens
(generateN) with a KV cache. Token ids come from the same LCG on both sides (reference.py:lcg_tokens).
Peak RSS is each process's ru_maxrss. The host is reported (load average before and after).

The directories are named without family words: TransformerLens picks some architectures by
substrings of a local path. TransformerLens knows Gemma-2 only by official name, so its config is
its google/gemma-2-2b entry with the layer count resized (as tools/goldens/families.py does).

This orchestrating process needs only the standard library; `make` and `tl` run under --python.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# What every Pythia size shares (GPT-NeoX: partial rotary, parallel attention and MLP, untied).
PYTHIA = dict(vocab_size=50304, rotary_pct=0.25, rotary_emb_base=10000, use_parallel_residual=True,
              max_position_embeddings=2048, tie_word_embeddings=False, hidden_act="gelu", layer_norm_eps=1e-5)
# Hugging Face configs of the real models (their config.json sizes); `layers` shortens a model that
# would not fit TransformerLens's Float32 copy plus HF's on this machine.
SHAPES = {
    "pythia-160m": dict(arch="gpt_neox", dir="fbench-f", params="162M", config=dict(
        PYTHIA, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)),
    "pythia-410m": dict(arch="gpt_neox", dir="fbench-a", params="405M", config=dict(
        PYTHIA, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)),
    "pythia-1b": dict(arch="gpt_neox", dir="fbench-b", params="1.01B", config=dict(
        PYTHIA, hidden_size=2048, num_hidden_layers=16, num_attention_heads=8, intermediate_size=8192)),
    "qwen2.5-0.5b": dict(arch="qwen2", dir="fbench-c", params="494M", config=dict(
        hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, intermediate_size=4864,
        vocab_size=151936, rope_theta=1000000.0, max_position_embeddings=32768, tie_word_embeddings=True,
        rms_norm_eps=1e-6, use_sliding_window=False)),
    "llama-3.2-1b": dict(arch="llama", dir="fbench-d", params="1.24B", config=dict(
        hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, intermediate_size=8192,
        vocab_size=128256, max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=32.0, low_freq_factor=1.0,
                             high_freq_factor=4.0, original_max_position_embeddings=8192))),
    # Gemma-2-2B's widths, vocabulary and caps with 6 of its 26 layers (1.06B parameters, 590M of
    # them the embedding): the full model in Float32 twice (TL + HF) would exceed this machine.
    "gemma-2-2b-6l": dict(arch="gemma2", dir="fbench-e", params="1.06B", config=dict(
        hidden_size=2304, num_hidden_layers=6, num_attention_heads=8, num_key_value_heads=4, head_dim=256,
        intermediate_size=9216, vocab_size=256000, max_position_embeddings=8192, query_pre_attn_scalar=256,
        sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0, rope_theta=10000.0)),
}
DEFAULT_SHAPES = ["pythia-160m", "pythia-410m", "qwen2.5-0.5b", "pythia-1b", "llama-3.2-1b", "gemma-2-2b-6l"]
TASKS = ["load", "forward11", "forward128", "patchlayers", "generate20"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- reference side (under --python)

def classes(arch: str):
    import transformers
    return {"gpt_neox": (transformers.GPTNeoXConfig, transformers.GPTNeoXForCausalLM),
            "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
            "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
            "gemma2": (transformers.Gemma2Config, transformers.Gemma2ForCausalLM)}[arch]


def make(shape: str, directory: str) -> None:
    """Seeded random weights (HF's own initialisation, std 0.02), saved as BF16, plus a placeholder
    word-level tokenizer (TransformerLens wants one; the benchmark passes ids)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    import transformers
    spec = SHAPES[shape]
    config_cls, model_cls = classes(spec["arch"])
    torch.manual_seed(0)
    config = config_cls(**spec["config"], initializer_range=0.02)
    model = model_cls(config).to(torch.bfloat16)
    model.save_pretrained(directory, safe_serialization=True)
    vocab = spec["config"]["vocab_size"]
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", bos_token="t1", eos_token="t2",
                                         pad_token="t3").save_pretrained(directory)


def tl_side(shape: str, directory: str, tasks: list[str], repeats: int, threads: int) -> dict:
    import gc
    import torch
    import transformer_lens.loading_from_pretrained as tl_loading
    from transformer_lens import HookedTransformer, patching
    from reference import lcg_tokens, median_time
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    spec = SHAPES[shape]
    tl_loading.get_official_model_name = lambda name: name
    # TransformerLens's own entries for these models cap n_ctx at 2048 (its attention mask is
    # n_ctx x n_ctx per layer); a local directory would take max_position_embeddings (131072 for
    # Llama-3.2, 32768 for Qwen2.5) and make every forward pay for the giant mask.
    capped = tl_loading.convert_hf_model_config

    def cap_context(name, **kwargs):
        cfg = capped(name, **kwargs)
        cfg["n_ctx"] = min(cfg.get("n_ctx", 2048), 2048)
        return cfg
    tl_loading.convert_hf_model_config = cap_context
    if spec["arch"] == "gemma2":
        original = tl_loading.convert_hf_model_config

        def convert(name, **kwargs):
            if str(name) != directory:
                return original(name, **kwargs)
            cfg = original("google/gemma-2-2b", **kwargs)
            n = spec["config"]["num_hidden_layers"]
            cfg.update(n_layers=n, attn_types=(["local", "global"] * n)[:n])
            return cfg
        tl_loading.convert_hf_model_config = convert
    _, model_cls = classes(spec["arch"])
    results: dict[str, float] = {}

    def load():
        hf = model_cls.from_pretrained(directory, dtype=torch.float32)
        model = HookedTransformer.from_pretrained(directory, hf_model=hf, device="cpu", dtype=torch.float32)
        del hf
        gc.collect()
        model.eval()
        return model
    t0 = time.perf_counter()
    model = load()
    results["load"] = time.perf_counter() - t0
    vocab = model.cfg.d_vocab
    short = torch.tensor([lcg_tokens(11, vocab)])

    for task in tasks:
        if task == "load":
            continue
        if task.startswith("forward"):
            tokens = torch.tensor([lcg_tokens(int(task[len("forward"):]), vocab)])
            results[task] = median_time(repeats if tokens.shape[1] < 512 else max(1, repeats // 2), lambda: model(tokens))
        elif task == "patch":
            corrupt = torch.tensor([lcg_tokens(11, vocab, seed=2)])

            def sweep():
                _, clean_cache = model.run_with_cache(short)
                model(corrupt)
                return patching.generic_activation_patch(
                    model, corrupt, clean_cache, lambda logits: logits[0, -1, 1] - logits[0, -1, 2],
                    patching.layer_pos_patch_setter, "resid_post", index_axis_names=("layer", "pos"))
            model(short)  # warm-up forward only: a second sweep would double the run
            t = time.perf_counter()
            sweep()
            results[task] = time.perf_counter() - t
        elif task == "patchlayers":
            # tlsh's `patchlayers`: resid_post per layer, every position at once (one patched run
            # per layer), clean and corrupted runs included; no warm-up sweep.
            corrupt = torch.tensor([lcg_tokens(11, vocab, seed=2)])

            def whole_layer(corrupted_activation, index, clean_activation):
                corrupted_activation[...] = clean_activation
                return corrupted_activation
            model(short)
            t = time.perf_counter()
            _, clean_cache = model.run_with_cache(short)
            model(corrupt)
            patching.generic_activation_patch(model, corrupt, clean_cache, lambda logits: logits[0, -1, 1] - logits[0, -1, 2],
                                              whole_layer, "resid_post", index_axis_names=("layer",))
            results[task] = time.perf_counter() - t
        elif task.startswith("generate"):
            n = int(task[len("generate"):])
            results[task] = median_time(1, lambda: model.generate(short, max_new_tokens=n, do_sample=False, stop_at_eos=False,
                                                                  verbose=False, use_past_kv_cache=True, return_type="tokens"))
        else:
            raise SystemExit(f"unknown task {task}")
        log(f"tl {shape} {task}: {results[task]:.3f}s")
    return results


def hf_side(shape: str, directory: str, tasks: list[str], repeats: int, threads: int) -> dict:
    """HF transformers on the same directory in Float32: load, forwardN, generateN (greedy, KV
    cache, exactly N new tokens). The patch sweeps have no HF counterpart and are skipped."""
    import torch
    from reference import lcg_tokens, median_time
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    _, model_cls = classes(SHAPES[shape]["arch"])
    results: dict[str, float] = {}
    t0 = time.perf_counter()
    model = model_cls.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    results["load"] = time.perf_counter() - t0
    vocab = model.config.vocab_size
    short = torch.tensor([lcg_tokens(11, vocab)])

    for task in tasks:
        if task.startswith("forward"):
            tokens = torch.tensor([lcg_tokens(int(task[len("forward"):]), vocab)])
            results[task] = median_time(repeats if tokens.shape[1] < 512 else max(1, repeats // 2),
                                        lambda: model(tokens, use_cache=False).logits)
        elif task.startswith("generate"):
            n = int(task[len("generate"):])
            results[task] = median_time(1, lambda: model.generate(short, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                                                  attention_mask=torch.ones_like(short), pad_token_id=0))
        else:
            continue
        log(f"hf {shape} {task}: {results[task]:.3f}s")
    return results


# ---------------------------------------------------------------- orchestration (standard library)

def run_json(cmd: list[str], env: dict) -> tuple[dict, float]:
    """Runs `cmd`; returns the last JSON line of its stdout and its peak RSS in GB."""
    log("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), usage.ru_maxrss / 1024 / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    mk = sub.add_parser("make")
    mk.add_argument("shape")
    mk.add_argument("dir")
    for side in ["tl", "hf"]:  # the reference sides, each run in its own process
        p = sub.add_parser(side)
        p.add_argument("shape")
        p.add_argument("dir")
        p.add_argument("--tasks", default=",".join(TASKS))
        p.add_argument("--repeats", type=int, default=3)
        p.add_argument("--threads", type=int, default=2)
    ap.add_argument("--python", default=os.environ.get("TLSH_BENCH_PYTHON"))
    ap.add_argument("--tlsh", default=os.path.join(ROOT, ".build", "release", "tlsh"))
    ap.add_argument("--cache-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                        "tlsh-bench", "families"))
    ap.add_argument("--shapes", default=",".join(DEFAULT_SHAPES))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--no-hf", action="store_true", help="skip the HF transformers columns")
    args = ap.parse_args()
    if args.cmd == "make":
        return make(args.shape, args.dir)
    if args.cmd == "tl":
        print(json.dumps(tl_side(args.shape, args.dir, args.tasks.split(","), args.repeats, args.threads)))
        return
    if args.cmd == "hf":
        print(json.dumps(hf_side(args.shape, args.dir, args.tasks.split(","), args.repeats, args.threads)))
        return
    if not args.python:
        raise SystemExit("--python (a venv with torch, transformers and transformer-lens==3.9.0) is required")
    env = dict(os.environ, TQDM_DISABLE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # torch's spinning OpenMP waits cost a time slice each on a shared host (run.py's thread_env).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for k in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
        env[k] = str(args.threads)
    tasks = args.tasks.split(",")
    report = {"load_average_start": os.getloadavg(), "threads": args.threads, "shapes": {}}
    for shape in args.shapes.split(","):
        directory = os.path.join(args.cache_dir, SHAPES[shape]["dir"])
        if not os.path.exists(os.path.join(directory, "config.json")):
            os.makedirs(directory, exist_ok=True)
            subprocess.run([args.python, os.path.abspath(__file__), "make", shape, directory], env=env, check=True)
        rounds = []
        for _ in range(args.rounds):
            before = os.getloadavg()[0]
            tlsh, tlsh_rss = run_json([args.tlsh, "bench", directory, ",".join(tasks)],
                                      dict(env, TLSH_BENCH_REPEATS=str(args.repeats)))
            ref, tl_rss = run_json([args.python, os.path.abspath(__file__), "tl", shape, directory, "--tasks", ",".join(tasks),
                                    "--repeats", str(args.repeats), "--threads", str(args.threads)], env)
            hf, hf_rss = ({}, None) if args.no_hf else run_json(
                [args.python, os.path.abspath(__file__), "hf", shape, directory, "--tasks", ",".join(tasks),
                 "--repeats", str(args.repeats), "--threads", str(args.threads)], env)
            rounds.append({"tlsh": tlsh, "tl": ref, "hf": hf, "tlsh_peak_rss_gb": tlsh_rss, "tl_peak_rss_gb": tl_rss,
                           "hf_peak_rss_gb": hf_rss, "load_average": [before, os.getloadavg()[0]]})
        report["shapes"][shape] = {"params": SHAPES[shape]["params"], "rounds": rounds}
        print_shape(shape, SHAPES[shape]["params"], rounds, tasks)
    report["load_average_end"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


def print_shape(shape: str, params: str, rounds: list[dict], tasks: list[str]) -> None:
    print(f"\n{shape} ({params} parameters)")
    print("| task | tlsh | TransformerLens | HF transformers | TL / tlsh | HF / tlsh |\n|---|---|---|---|---|---|")
    for task in tasks:
        for r in rounds:
            a, b, c = r["tlsh"].get(task), r["tl"].get(task), r.get("hf", {}).get(task)
            if a is None or b is None:
                continue
            hf_time, hf_ratio = (f"{c:.3f} s", f"{c / a:.1f}x") if c is not None else ("—", "—")
            print(f"| {task} | {a:.3f} s | {b:.3f} s | {hf_time} | {b / a:.1f}x | {hf_ratio} |")
    for r in rounds:
        hf_rss = f"{r['hf_peak_rss_gb']:.2f} GB" if r.get("hf_peak_rss_gb") is not None else "—"
        print(f"| peak RSS | {r['tlsh_peak_rss_gb']:.2f} GB | {r['tl_peak_rss_gb']:.2f} GB | {hf_rss} | | |")
        print(f"(load average {r['load_average'][0]:.1f} -> {r['load_average'][1]:.1f})")
    sys.stdout.flush()

if __name__ == "__main__":
    main()
