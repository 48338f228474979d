#!/usr/bin/env bash
# Runs the two-thread race tests under AddressSanitizer (and LeakSanitizer)
# for many rounds. Exits non-zero on any sanitizer report or test failure.
# Usage: scripts/asan.sh [ROUNDS]   (default 1,000,000 per scenario)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-1000000}
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export RUSTFLAGS="-Zsanitizer=address -Cdebug-assertions=on"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/asan-target
export RIPCORD_STRESS_ROUNDS=$rounds

tests=(--test oneshot_stress)
for t in tests/*_stress.rs; do
  name=$(basename "$t" .rs)
  [[ $name == oneshot_stress ]] || tests+=(--test "$name")
done

echo "asan.sh: ${rounds} rounds per scenario on $host"
status=0
cargo +nightly test --release --all-features --target "$host" "${tests[@]}" 2>&1 | tee "$log" || status=$?
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$log"; then
  echo "asan.sh: sanitizer report above" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "asan.sh: tests failed (exit $status)" >&2
  exit "$status"
fi
echo "asan.sh: clean"
