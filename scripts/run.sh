#!/usr/bin/env bash
# The main job: installs what tlsh needs, builds it (release), and runs the tutorials on the
# embedded default model — no network needed.
# Usage: scripts/run.sh [FILE.tl ...]   (default: examples/01-basic.tl … 06-steering.tl)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product tlsh 2>&1 | grep -v "prohibited flag" | tail -1
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(examples/0*.tl)
for f in "${files[@]}"; do
  echo
  echo "━━━ $f"
  .build/release/tlsh "$f"
done
