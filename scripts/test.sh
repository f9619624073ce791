#!/usr/bin/env bash
# Runs every test of tlsh on a Debian machine, installing what it needs first:
#   1. the Swift suites in a release build (numeric goldens from TransformerLens 3.9, tokenizer,
#      hub downloads against a local server, rendering, language, REPL, kernel, fuzzing);
#   2. the Jupyter protocol suites (jupyter_kernel_test and our own) against the built kernel, with
#      the echo test language and with the real tlsh language;
#   3. the tutorial notebooks, executed headless through nbclient.
#   The nnsight parity tests (docs/REMOTE.md) run when TLSH_NNSIGHT_PYTHON, or the environment that
#   `tlsh backend setup nnsight` makes, imports nnsight; otherwise they skip and print why. Under
#   TLSH_CI_NNSIGHT=1 (.ci/run sets it) this script runs that setup first and sets TLSH_NNSIGHT_REQUIRED=1, so there they must run.
# Usage: scripts/test.sh            (CI runs this through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

python="$(scripts/python-env.sh)"
export PYTHON="$python" TLHUB_REFERENCE_PYTHON="$python"
export TLSH_FUZZ_ITERATIONS="${TLSH_FUZZ_ITERATIONS:-1500}"
echo "== module graph (declared dependencies equal imports)"
python3 tools/checks/imports.py
echo "== swift test (release)"
swift build -c release --build-tests -Xswiftc -enable-testing 2>&1 | grep -v "prohibited flag" | tail -3
if [ "${TLSH_CI_NNSIGHT:-}" = "1" ]; then
  # CI proves the nnsight backend against a real local nnsight: the setup command the users run
  # (CPU torch where download.pytorch.org answers, PyPI's torch otherwise: about 3 minutes, 5.6 GB),
  # then the parity tests must run rather than skip.
  echo "== nnsight environment (tlsh backend setup nnsight)"
  .build/release/tlsh backend setup nnsight
  export TLSH_NNSIGHT_REQUIRED=1
fi
swift test -c release -Xswiftc -enable-testing --skip-build 2>&1 | grep -v "prohibited flag"

tlsh="$(pwd)/.build/release/tlsh"

echo "== kernel protocol suite (echo language)"
TLSH_KERNEL_ECHO=1 TLSH_KERNEL_SAMPLES=echo tools/kernel_tests/run.sh "$tlsh"
echo "== kernel conformance suite (tlsh language)"
TLSH_KERNEL_ECHO=0 TLSH_KERNEL_SAMPLES=tlsh tools/kernel_tests/run.sh "$tlsh" test_jupyter_kernel_test.py
echo "== tutorial notebooks (nbclient)"
"$python" tools/notebooks/notebooks.py check --tlsh "$tlsh"
