#!/usr/bin/env python3
"""Engine benchmark: tlsh against TransformerLens 3.9 and HF transformers on the same random
GPT-2-small weights, on this machine, with 2 threads each.

    python3 tools/bench/run.py [--python /path/to/venv/bin/python] [--tlsh .build/release/tlsh]
                               [--rounds 3] [--repeats 3] [--matmul auto|none|high,medium]

The machine's speed drifts (on a shared host, by up to 2x from one minute to the next), so every
round takes the tasks one at a time and runs each in tlsh, then TransformerLens, then HF, each in a
fresh process: the three meet the same minute. Each round also measures the machine's limits
(streaming bandwidth, sgemm rate) just before its tasks. The table shows the median over rounds of
each process's median, and each ratio as the median of the per-round ratios with their range.
Peak resident memory is measured in separate processes that load the model and run
run_with_cache on 1024 tokens once. Without a usable --python (torch, transformers,
transformer-lens==3.9.0), the Python columns are skipped with a message; the weights then have
to be given with --model.

This script itself needs only the Python standard library.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TASKS = ["load", "forward11", "cache11", "forward1024", "cache1024", "patch", "generate40"]
LABELS = {
    "load": "load + process",
    "forward11": "forward, 11 tokens",
    "cache11": "run_with_cache, 11 tokens",
    "forward1024": "forward, 1024 tokens",
    "cache1024": "run_with_cache, 1024 tokens",
    "patch": "resid_post patch sweep (12 layers x 11 positions)",
    "generate40": "greedy generation, 40 tokens",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def python_side_problem(python: str | None) -> str | None:
    """None when `python` can run the reference side, else why not."""
    if not python:
        return "no --python given"
    if not os.path.exists(python):
        return f"{python} does not exist"
    probe = subprocess.run([python, "-c", "import torch, transformers, transformer_lens"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"{python} cannot import torch, transformers and transformer_lens ({last})"
    return None


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for k in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
        env[k] = str(threads)
    # torch's OpenMP threads spin while they wait for each other; on a shared host, when the other
    # thread has lost its core, each wait lasts a time slice (GPT-2 small forward: HF 1356 ms
    # spinning, 130 ms passive, at load 2). PASSIVE unless the caller set a policy (see
    # PERFORMANCE.md, "Scaling curves"); tlsh's own threads are not OpenMP and ignore it.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def run_json(cmd: list[str], env: dict, measure_rss: bool = False) -> tuple[dict, int]:
    """Runs `cmd`, parses the last stdout line as JSON; returns it and the child's peak RSS (KiB)."""
    log("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    lines = [l for l in out.strip().splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=os.environ.get("TLSH_BENCH_PYTHON"),
                    help="interpreter of a venv with torch, transformers, transformer-lens==3.9.0")
    ap.add_argument("--tlsh", default=os.path.join(ROOT, ".build", "release", "tlsh"))
    ap.add_argument("--model", help="HF GPT-2 directory to use instead of making random weights")
    ap.add_argument("--cache-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tlsh-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per task inside each process")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    ap.add_argument("--json", help="also write all measurements here")
    ap.add_argument("--matmul", default="auto",
                    help="also time tlsh at these reduced matmul precisions (comma-separated: high, medium; "
                         "'auto' = both where the CPU has AMX-BF16, 'none' = skip)")
    args = ap.parse_args()
    tasks = args.tasks.split(",")

    problem = python_side_problem(args.python)
    if problem:
        log(f"SKIPPING the TransformerLens and HF columns: {problem}.\n"
            "  Make one with: python3 -m venv ~/venv-tl && ~/venv-tl/bin/pip install transformer-lens==3.9.0\n"
            "  and pass --python ~/venv-tl/bin/python.")
    sides = [] if problem else ["tl", "hf"]
    ref = os.path.join(HERE, "reference.py")

    model = args.model
    if not model:
        model = os.path.join(args.cache_dir, "gpt2-small-random-seed0")
        if not os.path.exists(os.path.join(model, "model.safetensors")):
            if problem:
                raise SystemExit("no weights: making the random GPT-2-small weights needs the Python side "
                                 f"({problem}); or pass --model DIR")
            os.makedirs(model, exist_ok=True)
            log(f"making random GPT-2-small weights in {model}")
            subprocess.run([args.python, ref, "make-weights", model, "--seed", "0"], check=True)
    if not os.path.exists(args.tlsh):
        raise SystemExit(f"{args.tlsh} not found: build it with `swift build -c release --product tlsh`")

    env = thread_env(args.threads)
    env["TLSH_BENCH_REPEATS"] = str(args.repeats)
    env.pop("TLSH_MATMUL", None)
    out_dir = tempfile.mkdtemp(prefix="tlsh-bench-")
    env["TLSH_BENCH_OUT"] = out_dir
    reduced = reduced_precisions(args.matmul)
    runs: dict[str, list[dict]] = {"tlsh": [], **{s: [] for s in sides}, **{f"tlsh-{p}": [] for p in reduced}}
    round_limits: list[dict] = []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        round_limits.append(run_json([args.tlsh, "bench", model, "stream,gemm,weightbytes"], env)[0])
        for key in runs:
            runs[key].append({})
        for task in tasks:
            runs["tlsh"][-1].update(run_json([args.tlsh, "bench", model, task], env)[0])
            for p in reduced if task != "load" else []:  # their patch grids and tokens are not the ones compared
                runs[f"tlsh-{p}"][-1].update(run_json([args.tlsh, "bench", model, task],
                                                      {**env, "TLSH_MATMUL": p, "TLSH_BENCH_OUT": tempfile.mkdtemp()})[0])
            for side in sides:
                cmd = [args.python, ref, "run", side, model, "--tasks", task, "--repeats", str(args.repeats),
                       "--threads", str(args.threads), "--out", out_dir]
                runs[side][-1].update(run_json(cmd, env)[0])

    memory: dict[str, int] = {}
    if not args.no_memory:
        memory["tlsh"] = run_json([args.tlsh, "bench", model, "cache1024once"], env, measure_rss=True)[1]
        for side in sides:
            memory[side] = run_json([args.python, ref, "run", side, model, "--tasks", "cache1024", "--repeats", "1",
                                     "--threads", str(args.threads)], env, measure_rss=True)[1]

    med = {s: {t: statistics.median([run[t] for run in rs if t in run]) for t in tasks if any(t in run for run in rs)}
           for s, rs in runs.items()}
    checks = compare_outputs(out_dir, sides)
    limits = {k: statistics.median([l[k] for l in round_limits if k in l]) for k in round_limits[0]} if round_limits else {}
    report = {"model": model, "threads": args.threads, "rounds": args.rounds, "repeats": args.repeats,
              "machine": machine_description(), "median_s": med, "peak_rss_kib": memory, "limits": limits,
              "round_limits": round_limits,
              "checks": checks, "runs": runs}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    print(markdown(report, tasks, sides))
    if reduced:
        print(reduced_markdown(report, [t for t in tasks if t != "load"], sides, reduced))


def reduced_precisions(arg: str) -> list[str]:
    """The `set matmul=` values to time besides the default (AMX bf16 products; docs/PERFORMANCE.md)."""
    if arg == "none":
        return []
    if arg == "auto":
        try:
            flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
        except (OSError, StopIteration):
            flags = []
        return ["high", "medium"] if "amx_bf16" in flags else []
    return [p for p in arg.split(",") if p]


def reduced_markdown(rep: dict, tasks: list[str], sides: list[str], reduced: list[str]) -> str:
    med = rep["median_s"]
    names = {"tl": "TL", "hf": "HF"}
    cells = ["task", "tlsh (highest)"] + [f"tlsh matmul={p}" for p in reduced]
    cells += [f"{names[s]} ÷ {p}" for p in reduced for s in sides]
    lines = ["Opt-in reduced matmul precision (`set matmul=`), same rounds:", "", md_row(cells), "|" + "---|" * len(cells)]
    for t in tasks:
        row = [LABELS.get(t, t), fmt(med["tlsh"].get(t))] + [fmt(med[f"tlsh-{p}"].get(t)) for p in reduced]
        row += [fmt_ratio(ratios(rep, s, f"tlsh-{p}", t)) for p in reduced for s in sides]
        lines.append(md_row(row))
    return "\n".join(lines) + "\n"


def compare_outputs(out_dir: str, sides: list[str]) -> dict:
    """The patch grids and generated tokens must agree across engines, not just the timings."""
    def read(name):
        p = os.path.join(out_dir, name)
        return json.load(open(p)) if os.path.exists(p) else None
    checks = {}
    a, b = read("patch-tlsh.json"), read("patch-tl.json")
    if a is not None and b is not None:
        flat = lambda g: [x for row in g for x in row]
        checks["patch_max_abs_diff_vs_tl"] = max(abs(x - y) for x, y in zip(flat(a), flat(b)))
    g = {s: read(f"generate-{s}.json") for s in ["tlsh"] + sides + ["tl-full-forward"]}
    for s in sides + ["tl-full-forward"]:
        if g["tlsh"] is not None and g[s] is not None:
            checks[f"generate_same_tokens_as_{s.replace('-', '_')}"] = g["tlsh"] == g[s]
    return checks


def machine_description() -> str:
    model, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [f for f in ["avx2", "fma", "avx512f", "amx_tile"] if f in flags]
    mem = ""
    try:
        kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} logical CPUs ({' '.join(simd)}){mem}, load average {os.getloadavg()[0]:.1f} at the end"


def ratios(rep: dict, other: str, mine: str, task: str) -> list[float]:
    """other's time ÷ mine, per round (both measured in the same minute)."""
    return [o[task] / m[task] for o, m in zip(rep["runs"][other], rep["runs"][mine]) if task in o and task in m]


def fmt_ratio(rs: list[float]) -> str:
    """"2.1× (1.8–2.6)": the median of per-round ratios and their range; "—" when none."""
    if not rs:
        return "—"
    med = f"{statistics.median(rs):.1f}×"
    return med if len(rs) == 1 else f"{med} ({min(rs):.1f}–{max(rs):.1f})"


def md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def fmt(x: float | None) -> str:
    """Seconds as "12.3 ms" or "1.23 s"; "—" when not measured."""
    return "—" if x is None else (f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s")


def markdown(rep: dict, tasks: list[str], sides: list[str]) -> str:
    med = rep["median_s"]
    names = {"tl": "TransformerLens 3.9", "hf": "HF transformers"}
    cells = ["task", "tlsh"] + [names[s] for s in sides] + [f"{s.upper()} ÷ tlsh" for s in sides]
    lines = [md_row(cells), "|" + "---|" * len(cells)]
    for t in tasks:
        row = [LABELS.get(t, t), fmt(med["tlsh"].get(t))] + [fmt(med[s].get(t)) for s in sides]
        row += [fmt_ratio(ratios(rep, s, "tlsh", t)) for s in sides]
        lines.append(md_row(row))
    if rep["peak_rss_kib"]:
        m = rep["peak_rss_kib"]
        row = ["peak RSS, load + run_with_cache 1024"] + [f"{m[s] / 1024:.0f} MiB" for s in ["tlsh"] + sides]
        lines.append(md_row(row + [f"{m[s] / m['tlsh']:.2f}×" for s in sides]))
    out = "\n".join(lines) + "\n\n"
    out += (f"Machine: {rep['machine']}. Threads: {rep['threads']}; {rep['rounds']} rounds × {rep['repeats']} repeats, "
            "tasks interleaved; ratios are medians of per-round ratios (range in brackets).\n\n")
    lim = rep["limits"]
    if lim:
        bw, gemm, wb = lim.get("stream_GBps"), lim.get("gemm_GFLOPps"), lim.get("weight_bytes")
        out += (f"Limits measured by tlsh at the start of each round (medians): streaming read {bw:.1f} GB/s, "
                f"sgemm 2048³ {gemm:.1f} GFLOP/s, weights streamed per forward {wb / 1e6:.0f} MB.\n")
        per_round = list(zip(rep["round_limits"], rep["runs"]["tlsh"]))
        streaming = [run["forward11"] / (l["weight_bytes"] / (l["stream_GBps"] * 1e9))
                     for l, run in per_round if "forward11" in run and l.get("stream_GBps")]
        if streaming:
            floor = wb / (bw * 1e9)
            out += (f"- forward on 11 tokens: {med['tlsh']['forward11'] * 1000:.1f} ms; the weight-streaming time is "
                    f"{floor * 1000:.1f} ms; per round {fmt_ratio(streaming)} of it.\n")
        flops = lim.get("forward1024_flop", 0)
        shares = [flops / run["forward1024"] / 1e9 / l["gemm_GFLOPps"]
                  for l, run in per_round if "forward1024" in run and l.get("gemm_GFLOPps")]
        if shares and flops:
            rate = flops / med["tlsh"]["forward1024"] / 1e9
            out += (f"- forward on 1024 tokens: {flops / 1e9:.0f} GFLOP in {med['tlsh']['forward1024']:.2f} s = "
                    f"{rate:.1f} GFLOP/s; per round {', '.join(f'{100 * x:.0f}%' for x in shares)} of that round's sgemm rate.\n")
    for k, v in rep["checks"].items():
        out += f"- check {k}: {v}\n"
    return out


if __name__ == "__main__":
    main()
