#!/usr/bin/env bash
# Runs the two-thread race tests under AddressSanitizer (and LeakSanitizer)
# for many rounds. Exits non-zero on any sanitizer report or test failure.
# Usage: scripts/asan.sh [ROUNDS] [OTHER_ROUNDS]
#   ROUNDS: rounds per oneshot race (default 1,000,000)
#   OTHER_ROUNDS: rounds per race of the other stress files
#   (tests/*_stress.rs; default 100,000, as their races are heavier)
# Convention (ARCHITECTURE.md): every `tests/*_stress.rs` (two-thread races,
# rounds from RIPCORD_STRESS_ROUNDS) and every `tests/faults_*.rs`
# (fault injection: panicking and re-entrant user code) runs here.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-1000000}
other_rounds=${2:-100000}
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export RUSTFLAGS="-Zsanitizer=address -Cdebug-assertions=on"
export RUSTDOCFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/asan-target
others=()
for t in tests/*_stress.rs; do
  name=$(basename "$t" .rs)
  [[ $name == oneshot_stress ]] || others+=(--test "$name")
done
faults=()
for t in tests/faults_*.rs; do
  [[ -e $t ]] && faults+=(--test "$(basename "$t" .rs)")
done

status=0
echo "asan.sh: oneshot races, ${rounds} rounds per scenario, on $host"
RIPCORD_STRESS_ROUNDS=$rounds \
  cargo +nightly test --release --all-features --target "$host" --test oneshot_stress 2>&1 | tee "$log" || status=$?
if [[ $status -eq 0 && ${#others[@]} -gt 0 ]]; then
  echo "asan.sh: token and shutdown races, ${other_rounds} rounds per scenario"
  RIPCORD_STRESS_ROUNDS=$other_rounds \
    cargo +nightly test --release --all-features --target "$host" "${others[@]}" 2>&1 | tee -a "$log" || status=$?
fi
if [[ $status -eq 0 && ${#faults[@]} -gt 0 ]]; then
  echo "asan.sh: fault-injection suites"
  cargo +nightly test --release --all-features --target "$host" "${faults[@]}" 2>&1 | tee -a "$log" || status=$?
fi
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$log"; then
  echo "asan.sh: sanitizer report above" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "asan.sh: tests failed (exit $status)" >&2
  exit "$status"
fi
echo "asan.sh: clean"
