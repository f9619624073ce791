#!/usr/bin/env bash
# Installs what building and testing tlsh needs on Debian: the C libraries behind the
# system-library targets, a font for PNG text, Python for the kernel and notebook tests.
# Idempotent and quiet; run as root (or with sudo available).
set -euo pipefail
packages=(libopenblas-dev libzmq3-dev libedit-dev libfreetype-dev zlib1g-dev libssl-dev fonts-dejavu-core pkg-config python3 python3-venv)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: Swift 6 is not on PATH; install it from swift.org (or use the swift:6 image) and rerun" >&2
  exit 1
fi
