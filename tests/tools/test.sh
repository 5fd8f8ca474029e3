#!/usr/bin/env bash
# The one test command (README "Test"): installs what the tests need (cached under
# ~/.cache/kubectl-longhorn-systembackup), then runs every test: unit tests, and the
# end-to-end suite on the oldest and the newest supported Longhorn version, with
# longhorn-manager's own controllers and webhooks built for each (docs/testing.md),
# after the quality gate (fmt, clippy, cargo-machete).
#
#   tests/tools/test.sh                  v1.8.1 and v1.12.0 (what CI runs)
#   tests/tools/test.sh --all-versions   every supported version: v1.8.1 v1.9.0 v1.10.0 v1.11.1 v1.12.0
set -euo pipefail
cd "$(dirname "$0")/../.."

versions=(v1.8.1 v1.12.0)
case "${1:-}" in
  "") ;;
  --all-versions) versions=(v1.8.1 v1.9.0 v1.10.0 v1.11.1 v1.12.0) ;;
  *) echo "test.sh: error: unknown argument ${1}; use no argument (oldest and newest Longhorn) or --all-versions" >&2; exit 2 ;;
esac

command -v cargo >/dev/null || { echo "test.sh: error: cargo is not installed; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
command -v go >/dev/null || { echo "test.sh: error: Go is not installed; the test ground builds kube-apiserver, etcd and longhorn-manager from the Go module proxy: install Go >= 1.24" >&2; exit 1; }

# Build outputs live outside the clone so a second run (and CI on a fresh clone) is warm.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${KLSB_CACHE:-$HOME/.cache/kubectl-longhorn-systembackup}/target}"

started=$(date +%s)
timed() {  # timed COMPONENT [VERSION]: installs it and says how long that took
  local t0=$(date +%s)
  tests/tools/install.sh "$@" >/dev/null
  echo "test.sh: $* ready in $(( $(date +%s) - t0 ))s" >&2
}
timed etcd
timed kube-apiserver
timed kube-controller-manager
timed s3s-fs
timed azurite
for version in "${versions[@]}"; do
  timed crds "$version"
  timed bundle-oracle "$version"
  timed backupstore-oracle "$version"
  timed longhorn-manager "$version"
  timed longhorn-engine "$version"
done
machete=$(tests/tools/install.sh cargo-machete)
echo "test.sh: tools ready after $(( $(date +%s) - started ))s" >&2

# The quality gate (docs/testing.md): formatting, lints as errors, no unused dependency.
cargo fmt --all --check || { echo "test.sh: error: the sources are not formatted; run cargo fmt --all" >&2; exit 1; }
cargo clippy --locked --workspace --all-targets -- -D warnings
"$machete"

cargo build --locked --workspace --all-targets
cargo test --locked --workspace --lib --bins
for version in "${versions[@]}"; do
  t0=$(date +%s)
  echo "test.sh: end-to-end suite on Longhorn $version" >&2
  # The integration targets only: the unit tests (and their differential runs against
  # the Go oracles) do not depend on the Longhorn version and ran above.
  LONGHORN_VERSION="$version" cargo test --locked --workspace --test '*' -- --test-threads="${TEST_THREADS:-4}"
  echo "test.sh: Longhorn $version passed in $(( $(date +%s) - t0 ))s" >&2
done
echo "test.sh: all tests passed in $(( $(date +%s) - started ))s" >&2
