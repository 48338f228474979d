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

# Convention (ARCHITECTURE.md): every integration test file runs under Miri
# except the loom models (`tests/loom_*.rs`, which need `--cfg loom`). A test
# that drives a real runtime's reactor marks itself
# `#[cfg_attr(miri, ignore = "...")]`; a new `tests/<primitive>_*.rs` is
# picked up without editing this script.
tests=()
for t in tests/*.rs; do
  name=$(basename "$t" .rs)
  [[ $name == loom_* ]] && continue
  tests+=("$name")
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
