#!/usr/bin/env bash
# Installs the tlsh kernelspec (signal and message interrupt modes) into a temporary prefix and runs the
# Python kernel tests against it.
#   tools/kernel_tests/run.sh [TLSH_BINARY] [pytest args...]
# Env: PYTHON (default /work/venv-kernel/bin/python, else python3) with jupyter_kernel_test, jupyter_client,
#      pytest, nbclient, nbformat installed; TLSH_KERNEL_ECHO=0 to test the real language instead of --echo
#      (then set TLSH_KERNEL_SAMPLES=tlsh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="${1:-$root/.build/debug/tlsh}"
shift || true
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x /work/venv-kernel/bin/python ]; then python=/work/venv-kernel/bin/python; else python=python3; fi
fi
[ -x "$binary" ] || { echo "run.sh: no tlsh binary at $binary (build it: swift build --product tlsh)" >&2; exit 2; }

prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
echo_flag=()
name=tlsh-test
if [ "${TLSH_KERNEL_ECHO:-1}" = 1 ]; then echo_flag=(--echo); fi
"$binary" kernel install --prefix "$prefix" --name "$name" "${echo_flag[@]}"
"$binary" kernel install --prefix "$prefix" --name "$name-message" --interrupt-mode message "${echo_flag[@]}"

export JUPYTER_PATH="$prefix/share/jupyter"
export JUPYTER_RUNTIME_DIR="$prefix/runtime"
export TLSH_KERNEL_NAME="$name"
export TLSH_KERNEL_NAME_MESSAGE="$name-message"
export TLSH_KERNEL_BINARY="$binary"
cd "$here"
if [ $# -eq 0 ]; then set -- .; fi
exec "$python" -m pytest -q -p no:cacheprovider "$@"
