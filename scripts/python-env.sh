#!/usr/bin/env bash
# Creates (once) the virtual environment the kernel and notebook tests use, outside the repo,
# and prints its python path. PyPI packages: jupyter_kernel_test, jupyter_client, nbclient,
# nbformat, pytest, huggingface_hub (the hub tests check that Python and tlsh share one cache).
set -euo pipefail
venv="${TLSH_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/tlsh/test-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import jupyter_kernel_test, nbclient, pytest, huggingface_hub" 2>/dev/null; then
  echo "creating the test environment in $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check jupyter_kernel_test jupyter_client nbclient nbformat pytest huggingface_hub >&2
fi
echo "$venv/bin/python"
