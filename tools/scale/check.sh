#!/bin/sh
# The dtype=bf16 scale check (docs/PERFORMANCE.md): load a random Llama-shaped BF16 directory
# written by tools/scale/random_llama.py, run one 128-token forward and a per-layer resid_post patch
# sweep on 11 tokens, 2 threads; prints seconds per task and the process's peak RSS.
#   tools/scale/check.sh DIR [dtype]
DIR=$1; DTYPE=${2:-bf16}
TLSH_BENCH_DTYPE=$DTYPE TLSH_BENCH_REPEATS=1 /usr/bin/time -v .build/release/tlsh bench "$DIR" load,forward128once,forward11,patchlayers 2>&1 \
  | grep -E "load|forward|patch|Maximum resident|Elapsed|^\{"
