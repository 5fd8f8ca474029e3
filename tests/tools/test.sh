#!/usr/bin/env bash
# The one test command (README "Test"): installs what the tests need (cached under
# ~/.cache/kubectl-longhorn-systembackup), then runs every test: unit tests, and the
# end-to-end suite on the oldest and the newest supported Longhorn version, after the
# quality gate (fmt, clippy, cargo-machete).
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v cargo >/dev/null || { echo "test.sh: error: cargo is not installed; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
command -v go >/dev/null || { echo "test.sh: error: Go is not installed; the test ground builds kube-apiserver and etcd from the Go module proxy: install Go >= 1.24" >&2; exit 1; }

# Build outputs live outside the clone so a second run (and CI on a fresh clone) is warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${KLSB_CACHE:-$HOME/.cache/kubectl-longhorn-systembackup}/target}"

started=$(date +%s)
tests/tools/install.sh etcd >/dev/null
tests/tools/install.sh kube-apiserver >/dev/null
tests/tools/install.sh s3s-fs >/dev/null
tests/tools/install.sh azurite >/dev/null
for version in v1.8.1 v1.12.0; do
  tests/tools/install.sh crds "$version" >/dev/null
  tests/tools/install.sh bundle-oracle "$version" >/dev/null
  tests/tools/install.sh backupstore-oracle "$version" >/dev/null
done
machete=$(tests/tools/install.sh cargo-machete)
echo "test.sh: tools ready after $(( $(date +%s) - started ))s" >&2

# The quality gate (docs/testing.md): formatting, lints as errors, no unused dependency.
cargo fmt --all --check || { echo "test.sh: error: the sources are not formatted; run cargo fmt --all" >&2; exit 1; }
cargo clippy --locked --workspace --all-targets -- -D warnings
"$machete"

cargo build --locked --workspace --all-targets
cargo test --locked --workspace --lib --bins
for version in v1.8.1 v1.12.0; do
  echo "test.sh: end-to-end suite on Longhorn $version" >&2
  LONGHORN_VERSION="$version" cargo test --locked --workspace --tests -- --test-threads="${TEST_THREADS:-4}"
done
echo "test.sh: all tests passed in $(( $(date +%s) - started ))s" >&2
