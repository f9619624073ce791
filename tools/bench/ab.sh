#!/bin/bash
# Alternating A/B timing of tlsh binaries on a shared machine, whose speed drifts: runs
# `tlsh bench MODEL TASKS` for each binary in turn, ROUNDS times, and prints per task the min and
# median of each binary's per-process medians.
#   tools/bench/ab.sh TASKS ROUNDS BINARY... (model: $TLSH_BENCH_MODEL or the harness's random GPT-2)
# e.g. tools/bench/ab.sh forward11,generate40 4 /tmp/tlsh-before .build/release/tlsh
set -euo pipefail
TASKS=$1; ROUNDS=$2; shift 2
MODEL=${TLSH_BENCH_MODEL:-${XDG_CACHE_HOME:-$HOME/.cache}/tlsh-bench/gpt2-small-random-seed0}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for _ in $(seq "$ROUNDS"); do
    for b in "$@"; do echo "$b $(TLSH_BENCH_REPEATS=${TLSH_BENCH_REPEATS:-3} "$b" bench "$MODEL" "$TASKS" 2>/dev/null | tail -1)"; done
done > "$OUT"
python3 - "$OUT" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    binary, measured = line.split(' ', 1)
    for task, seconds in json.loads(measured).items():
        rows.setdefault(task, {}).setdefault(binary, []).append(seconds)
for task, per in rows.items():
    print(task, '  '.join(f"{b}: min {min(v):.4f} med {sorted(v)[len(v) // 2]:.4f}" for b, v in per.items()))
PY
