#!/usr/bin/env bash
# Runs the seeded mutation fuzzers (Tests/TLFuzzTests) and the reliability tests.
#   tools/fuzz/run.sh                 bounded run, as in CI (about 2 minutes in a debug build)
#   tools/fuzz/run.sh long            one hour per target budget, 10^6 inputs cap, a fresh seed
#   TLSH_FUZZ_ITERATIONS=N TLSH_FUZZ_SECONDS=S TLSH_FUZZ_SEED=K tools/fuzz/run.sh   any budget
# Per-target numbers are printed ("fuzz <target>: N inputs ...") and appended to tools/fuzz/reports.log.
# After a crash, tools/fuzz/last-input-<target> holds the input that caused it (see docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${1:-}" == "long" ]]; then
    export TLSH_FUZZ_ITERATIONS="${TLSH_FUZZ_ITERATIONS:-1000000}"
    export TLSH_FUZZ_SECONDS="${TLSH_FUZZ_SECONDS:-3600}"
    export TLSH_FUZZ_SEED="${TLSH_FUZZ_SEED:-$(date +%s)}"
    echo "fuzz seed $TLSH_FUZZ_SEED (rerun with TLSH_FUZZ_SEED=$TLSH_FUZZ_SEED to replay)"
fi
swift test --filter TLFuzzTests
