#!/usr/bin/env bash
# Runs ripcord's tests under Miri with several scheduling seeds.
# Installs the Miri component on the nightly toolchain when it is missing.
# Usage: scripts/miri.sh [SEEDS]   (default 4 seeds)
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=${1:-4}
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri.sh: installing miri and rust-src on nightly"
  rustup component add --toolchain nightly miri rust-src
fi
cargo +nightly miri setup >/dev/null

# Test binaries that run under Miri. Runtime-driven tests (tokio, async-std,
# smol reactors) and the loom models are covered elsewhere.
tests=(oneshot_sync oneshot_drops oneshot_wakers oneshot_alloc oneshot_stress oneshot_no_std)
for t in tests/cancel_*.rs tests/shutdown_*.rs tests/time_*.rs; do
  [[ -e $t ]] && tests+=("$(basename "$t" .rs)")
done
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/miri-target
for ((seed = 0; seed < seeds; seed++)); do
  echo "miri.sh: seed $seed"
  MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-seed=$seed -Zmiri-strict-provenance" \
    cargo +nightly miri test --all-features --lib "${args[@]}"
done
echo "miri.sh: all ${seeds} seeds passed"
