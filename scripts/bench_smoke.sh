#!/usr/bin/env bash
# Smoke run of every benchmark in quick mode, so the benchmarks cannot rot:
# it proves they build (release) and run; its numbers are not meant to be read.
# Full runs: `cargo bench -p ripcord-bench` (about 6 minutes on 2 cores), or
# `RIPCORD_BENCH_OUT=docs/bench cargo bench -p ripcord-bench` to refresh docs/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RIPCORD_BENCH_QUICK=1
started=$SECONDS
cargo bench -p ripcord-bench --bench oneshot --bench tokens --bench report --bench memory --bench churn
echo "bench smoke run finished in $((SECONDS - started)) s (including the build)"
