#!/usr/bin/env python3
"""Scaling curves (issue 22): time and peak memory against parameter count and against prompt
length, for tlsh, TransformerLens 3.9 and HF transformers, side by side in one run, 2 threads each.

    python3 tools/bench/scaling.py --python /work/venv-ref/bin/python [--tlsh .build/release/tlsh]
        [--sizes small,medium,large,xl] [--lengths 16,64,256,1024] [--length-models small]
        [--llama] [--repeats 3] [--omp-wait-policy PASSIVE|unset] [--append]
        [--json docs/perf/scaling.json] [--plots docs/perf]

Every point is a fresh process per engine doing load + the task (a warm-up, then `--repeats`
timed runs, median), run one after another in the order tlsh, TransformerLens, HF so the three
meet the same minute of this shared machine. The process's resident high-water mark is the
point's peak memory: load + that task, with the model's weights, the framework and the
activations all counted (tlsh: ru_maxrss of a process per task; the Python engines: ru_maxrss
read inside one process right after forward and then after run_with_cache, see `worker`).

- Parameter sweep: GPT-2 small / medium / large / XL shapes (HF's seeded random initialisation,
  written by reference.py make-weights under --cache-dir), forward on 11 tokens. `--llama` adds
  the Llama-3.2-1B-shaped fbench-d of families.py as a separate row of the table (another
  architecture, so it is not on the GPT-2 curve).
- Prompt-length sweep: forward and run_with_cache (HF: output_hidden_states + output_attentions,
  as reference.py does) on 16 ... 1024 tokens of the --length-models.

Memory care: this host is shared. Before each reference process the script reads MemAvailable and
skips the point (recording why) when the process's estimated peak would not fit with 2 GiB to
spare; while a process runs, a watchdog ends it if MemAvailable falls under 1 GiB. The estimates
are multiples of the weights file measured here (TransformerLens holds HF's model and its own
processed copy during load).

The results go to --json (machine facts, load average before and after each point, versions);
then `tlsh bench-plot` draws the PNGs into --plots. This orchestrating process needs only the
standard library; `worker` runs under --python.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

ENGINES = {"tlsh": "tlsh", "tl": "TransformerLens 3.9", "hf": "HF transformers"}
# Parameter counts of GPT2LMHeadModel at each shape (tied embedding counted once), for labels
# when a directory is not there to count; the script counts the real file when it is.
SIZES = ["small", "medium", "large", "xl"]
# Peak resident memory of load + forward as a multiple of the Float32 weights file, plus a fixed
# overhead (the runtime, torch's libraries) in GiB: fitted to GPT-2 small, medium and large here
# (2026-12-07). tlsh keeps the weights a second time in panels; TransformerLens holds HF's model,
# the converted state dict and its own processed copy during load.
ESTIMATE = {"tlsh": (2.2, 0.3), "hf": (1.1, 0.8), "tl": (4.5, 1.3)}
SPARE_GIB = 2.0
WATCHDOG_GIB = 1.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def mem_available_gib() -> float:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return float("inf")


# ---------------------------------------------------------------- worker (under --python)

def worker(side: str, directory: str, tasks: list[str], tokens: int, repeats: int, threads: int) -> dict:
    """load, then each of `tasks` ("forward", "cache") on `tokens` LCG token ids: median seconds
    per task, and the process's resident high-water mark (MiB) right after each task. The mark only
    rises, so after "forward" it is load + forward's peak, and after a following "cache" it is
    load + run_with_cache's peak (a cache run needs at least what a forward does); one process
    gives both and saves a Python start-up (torch and TransformerLens imports) per point."""
    import resource
    import torch
    from reference import lcg_tokens, load_hf, load_tl, median_time
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    model = load_tl(directory) if side == "tl" else load_hf(directory)
    out = {"load_seconds": time.perf_counter() - t0}
    vocab = model.cfg.d_vocab if side == "tl" else model.config.vocab_size
    ids = torch.tensor([lcg_tokens(tokens, vocab)])
    for task in tasks:
        if task == "forward":
            body = (lambda: model(ids)) if side == "tl" else (lambda: model(ids, use_cache=False).logits)
        else:
            body = (lambda: model.run_with_cache(ids)) if side == "tl" else (
                lambda: model(ids, use_cache=False, output_hidden_states=True, output_attentions=True))
        out[task] = median_time(repeats, body)
        out[task + "_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# ---------------------------------------------------------------- orchestration (standard library)

def run_point(cmd: list[str], env: dict) -> tuple[dict | None, float, str | None]:
    """Runs `cmd` under the memory watchdog; returns its last JSON line, its peak RSS in MiB, and
    why it failed (None when it did not)."""
    log("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    killed = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if killed is None and mem_available_gib() < WATCHDOG_GIB:
            killed = f"ended by the watchdog: MemAvailable fell under {WATCHDOG_GIB} GiB"
            proc.kill()
        time.sleep(0.1)
    out = proc.stdout.read()
    code = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / 1024
    if killed or code != 0:
        return None, rss, killed or f"exit status {code}"
    lines = [l for l in out.strip().splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if lines else None), rss, None if lines else "no JSON on stdout"


def safetensors_parameters(directory: str) -> int:
    """The parameter count from the safetensors header (no torch needed)."""
    path = os.path.join(directory, "model.safetensors")
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        size = 1
        for d in entry["shape"]:
            size *= d
        total += size
    return total


def weights_gib(directory: str) -> float:
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)
               if f.endswith(".safetensors")) / 2**30


def versions(python: str, tlsh: str) -> dict:
    out = {"python_reference": None, "tlsh": None}
    probe = subprocess.run([python, "-c", "import json, sys, torch, transformers, transformer_lens, importlib.metadata as m; "
                            "print(json.dumps({'python': sys.version.split()[0], 'torch': torch.__version__, "
                            "'transformers': transformers.__version__, 'transformer_lens': m.version('transformer-lens')}))"],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        out["python_reference"] = json.loads(probe.stdout.strip().splitlines()[-1])
    v = subprocess.run([tlsh, "--version"], capture_output=True, text=True)
    out["tlsh"] = v.stdout.strip()
    try:
        out["tlsh_commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                            text=True).stdout.strip()
    except OSError:
        pass
    return out


def machine() -> dict:
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    total = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 2**20
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "memory_gib": round(total, 1), "os": platform.platform()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    wk = sub.add_parser("worker")
    wk.add_argument("side", choices=["tl", "hf"])
    wk.add_argument("dir")
    wk.add_argument("tasks", help="forward, cache or forward,cache")
    wk.add_argument("tokens", type=int)
    wk.add_argument("--repeats", type=int, default=3)
    wk.add_argument("--threads", type=int, default=2)
    ap.add_argument("--python", default=os.environ.get("TLSH_BENCH_PYTHON"))
    ap.add_argument("--tlsh", default=os.path.join(ROOT, ".build", "release", "tlsh"))
    ap.add_argument("--cache-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "tlsh-bench"))
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--size-tokens", type=int, default=11)
    ap.add_argument("--lengths", default="16,64,256,1024")
    ap.add_argument("--length-models", default="small", help="GPT-2 shapes of the prompt-length sweep")
    ap.add_argument("--max-length-medium", type=int, default=1024, help="longest prompt for shapes other than small")
    ap.add_argument("--llama", action="store_true", help="also time the Llama-3.2-1B-shaped fbench-d (forward, table only)")
    ap.add_argument("--engines", default="tlsh,tl,hf")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=os.path.join(ROOT, "docs", "perf", "scaling.json"))
    ap.add_argument("--omp-wait-policy", default="PASSIVE",
                    help="OMP_WAIT_POLICY of the Python engines ('unset' leaves torch's default, which spins: on a "
                         "busy host its 2 threads then wait for each other for whole time slices, 3-10x slower)")
    ap.add_argument("--append", action="store_true",
                    help="add this run's points to the existing --json (e.g. a size measured later) instead of replacing it")
    ap.add_argument("--plots", default=os.path.join(ROOT, "docs", "perf"), help="where tlsh bench-plot writes the PNGs ('' to skip)")
    args = ap.parse_args()
    if args.cmd == "worker":
        print(json.dumps(worker(args.side, args.dir, args.tasks.split(","), args.tokens, args.repeats, args.threads)))
        return
    if not args.python:
        raise SystemExit("--python (a venv with torch, transformers and transformer-lens==3.9.0) is required")
    engines = args.engines.split(",")
    env = dict(os.environ, TQDM_DISABLE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TLSH_BENCH_REPEATS=str(args.repeats))
    env.pop("TLSH_MATMUL", None)
    env.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy != "unset":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy
    for k in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
        env[k] = str(args.threads)

    def directory(shape: str) -> str:
        d = os.path.join(args.cache_dir, f"gpt2-{shape}-random-seed0")
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            os.makedirs(d, exist_ok=True)
            log(f"making random GPT-2 {shape} weights in {d}")
            subprocess.run([args.python, os.path.join(HERE, "reference.py"), "make-weights", d, "--seed", "0", "--shape", shape],
                           env=env, check=True)
        return d

    started = time.time()
    report = {"schema": "tlsh-scaling-1", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "threads": args.threads, "repeats": args.repeats, "omp_wait_policy": args.omp_wait_policy, "machine": machine(),
              "versions": versions(args.python, args.tlsh), "load_average_start": os.getloadavg(),
              "mem_available_gib_start": round(mem_available_gib(), 1), "points": []}
    if args.append and os.path.exists(args.json):
        earlier = json.load(open(args.json))
        report["points"] = earlier["points"]
        report["earlier_runs"] = earlier.pop("earlier_runs", []) + [{k: v for k, v in earlier.items() if k != "points"}]
        log(f"appending to {args.json} ({len(earlier['points'])} points measured before)")

    def measure(sweep: str, shape: str, d: str, tasks: list[str], tokens: int) -> None:
        """One point per engine and task: tlsh runs each task in its own process (it starts in
        milliseconds); a reference engine runs them in one process (see `worker`)."""
        params = safetensors_parameters(d)
        for engine in engines:
            points = [{"sweep": sweep, "model": f"gpt2-{shape}", "parameters": params, "tokens": tokens, "task": task,
                       "engine": ENGINES[engine], "seconds": None, "peak_rss_mib": None} for task in tasks]
            report["points"] += points
            factor, overhead = ESTIMATE[engine]
            need = factor * weights_gib(d) + overhead
            avail = mem_available_gib()
            for p in points:
                p["mem_available_gib"], p["estimated_peak_gib"] = round(avail, 1), round(need, 1)
            if need + SPARE_GIB > avail:
                for p in points:
                    p["skipped"] = f"would not fit: an estimated {need:.1f} GiB peak with {avail:.1f} GiB available"
                log(f"SKIP {engine} {shape} {tokens}: {points[0]['skipped']}")
                continue
            runs = [([args.tlsh, "bench", d, f"{task}{tokens}"], [p]) for task, p in zip(tasks, points)] if engine == "tlsh" \
                else [([args.python, os.path.abspath(__file__), "worker", engine, d, ",".join(tasks), str(tokens),
                        "--repeats", str(args.repeats), "--threads", str(args.threads)], points)]
            for cmd, group in runs:
                before = os.getloadavg()[0]
                out, rss, problem = run_point(cmd, env)
                for p in group:
                    p["load_average"] = [round(before, 2), round(os.getloadavg()[0], 2)]
                    if problem:
                        p["skipped"] = problem
                        log(f"FAILED {engine} {shape} {p['task']}{tokens}: {problem}")
                        continue
                    if engine == "tlsh":
                        p["seconds"], p["peak_rss_mib"] = out[f"{p['task']}{tokens}"], round(rss, 1)
                    else:
                        p["seconds"], p["peak_rss_mib"] = out[p["task"]], round(out[p["task"] + "_peak_rss_mib"], 1)
                        p["load_seconds"] = round(out["load_seconds"], 2)
                    log(f"{engine} {shape} {p['task']}{tokens}: {p['seconds']:.4f}s, {p['peak_rss_mib']:.0f} MiB")
        write(report)

    def write(rep: dict) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=1)

    # The prompt-length sweep first (small models, quick), then the sizes in increasing order, so
    # that a run cut short still has the cheap points.
    for shape in [m for m in args.length_models.split(",") if m and args.lengths]:
        d = directory(shape)
        for n in [int(x) for x in args.lengths.split(",") if x]:
            if shape != "small" and n > args.max_length_medium:
                continue
            measure("length", shape, d, ["forward", "cache"], n)
    for shape in [s for s in args.sizes.split(",") if s]:
        measure("parameters", shape, directory(shape), ["forward"], args.size_tokens)
    if args.llama:
        report["llama"] = llama_row(args, env)
    report["load_average_end"] = os.getloadavg()
    report["mem_available_gib_end"] = round(mem_available_gib(), 1)
    report["wall_seconds"] = round(time.time() - started, 1)
    write(report)
    print(markdown(report))
    if args.plots:
        subprocess.run([args.tlsh, "bench-plot", args.json, args.plots], check=True)


def llama_row(args, env: dict) -> dict:
    """forward on 11 tokens of the Llama-3.2-1B shape (families.py's fbench-d), each engine's peak RSS."""
    d = os.path.join(args.cache_dir, "families", "fbench-d")
    row = {"model": "llama-3.2-1b shape (fbench-d)", "parameters": safetensors_parameters(d), "tokens": args.size_tokens}
    fam = os.path.join(HERE, "families.py")
    for engine in args.engines.split(","):
        if engine == "tlsh":
            cmd = [args.tlsh, "bench", d, f"forward{args.size_tokens}"]
        else:
            cmd = [args.python, fam, engine, "llama-3.2-1b", d, "--tasks", f"forward{args.size_tokens}",
                   "--repeats", str(args.repeats), "--threads", str(args.threads)]
        factor, overhead = ESTIMATE[engine]
        need = factor * 2 * weights_gib(d) + overhead  # BF16 on disk, Float32 in memory
        if need + SPARE_GIB > mem_available_gib():
            row[engine] = {"skipped": f"would not fit: an estimated {need:.1f} GiB peak with {mem_available_gib():.1f} GiB available"}
            continue
        out, rss, problem = run_point(cmd, env)
        row[engine] = {"skipped": problem} if problem else {"seconds": out[f"forward{args.size_tokens}"], "peak_rss_mib": round(rss, 1)}
    return row


def markdown(rep: dict) -> str:
    """The numbers as two tables: the parameter sweep and the prompt-length sweep, with ratios."""
    pts = rep["points"]

    def get(sweep, model, task, tokens, engine):
        return next((p for p in pts if p["sweep"] == sweep and p["model"] == model and p["task"] == task
                     and p["tokens"] == tokens and p["engine"] == engine), None)

    def cell(p, key, scale=1.0, unit=""):
        return "—" if not p or p.get(key) is None else f"{p[key] * scale:.0f}{unit}" if scale != 1000 or p[key] >= 0.1 \
            else f"{p[key] * scale:.1f}{unit}"

    def ratio(a, b, key):
        return "—" if not a or not b or a.get(key) is None or b.get(key) is None else f"{b[key] / a[key]:.1f}×"

    out = ["| model | params | tlsh | TL | HF | TL ÷ tlsh | HF ÷ tlsh | peak tlsh | peak TL | peak HF | TL ÷ tlsh | HF ÷ tlsh |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    seen = []
    for p in pts:
        key = (p["sweep"], p["model"], p["task"], p["tokens"])
        if key in seen:
            continue
        seen.append(key)
        a, b, c = (get(*key, ENGINES[e]) for e in ["tlsh", "tl", "hf"])
        label = p["model"] if p["sweep"] == "parameters" else f"{p['model']} {p['task']} {p['tokens']} tok"
        out.append(f"| {label} | {p['parameters'] / 1e6:.0f}M | {cell(a, 'seconds', 1000, ' ms')} | {cell(b, 'seconds', 1000, ' ms')} | "
                   f"{cell(c, 'seconds', 1000, ' ms')} | {ratio(a, b, 'seconds')} | {ratio(a, c, 'seconds')} | "
                   f"{cell(a, 'peak_rss_mib', 1, ' MiB')} | {cell(b, 'peak_rss_mib', 1, ' MiB')} | {cell(c, 'peak_rss_mib', 1, ' MiB')} | "
                   f"{ratio(a, b, 'peak_rss_mib')} | {ratio(a, c, 'peak_rss_mib')} |")
    for p in pts:
        if p.get("skipped"):
            out.append(f"\n- skipped {p['engine']} {p['model']} {p['task']} {p['tokens']} tokens: {p['skipped']}")
    la0, la1 = rep["load_average_start"], rep.get("load_average_end", ["?"])
    out.append(f"\nLoad average {la0[0]:.1f} at the start, {la1[0]:.1f} at the end; {rep['machine']['cpu']}, "
               f"{rep['machine']['logical_cpus']} logical CPUs; {rep.get('wall_seconds', '?')} s in all.")
    return "\n".join(out)


if __name__ == "__main__":
    main()
