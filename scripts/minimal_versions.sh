#!/usr/bin/env bash
# Builds ripcord (every feature) against the lowest versions its dependency
# requirements allow (`-Z minimal-versions`), in a scratch copy so the
# repository's Cargo.lock is untouched. Needs a nightly toolchain.
#
# Two crates in async-std's tree declare lower bounds they do not build with
# (async-global-executor 2.4.0 fails to compile on current rustc;
# async-channel 2.3.0 needs concurrent-queue >= 2.5 but asks for 2.2). They
# are not ripcord's dependencies, so they are raised here, by name, after the
# minimal resolution; everything else stays at its minimum. A failure
# anywhere else means a lower bound in Cargo.toml is too low: raise it there.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$scratch"
cd "$scratch"
cargo +nightly update -Z minimal-versions --quiet
cargo +nightly update --quiet -p async-global-executor --precise 2.4.1
cargo +nightly update --quiet -p concurrent-queue --precise 2.5.0
export CARGO_TARGET_DIR=${MINIMAL_VERSIONS_TARGET:-$OLDPWD/target/minimal-versions}
cargo +nightly check -p ripcord --all-features
cargo +nightly check -p ripcord --no-default-features
echo "minimal_versions.sh: ripcord builds with its minimal dependency versions"
