#!/usr/bin/env bash
# Coverage-guided fuzzing campaigns (docs/reliability.md, "Fuzzing"): runs each fuzz
# target of fuzz/ with nightly Rust and cargo-fuzz (installed by install.sh, cached),
# for SECONDS each (default 600), growing fuzz/corpus/<target>/, then minimises the
# corpus. A crash stops the campaign and leaves its input in fuzz/artifacts/<target>/;
# once fixed, copy that input into fuzz/corpus/<target>/ so that tests/fuzz_corpus.rs
# replays it on stable in every test run.
#
# usage: tests/tools/fuzz.sh [SECONDS] [TARGET...]   (targets: bundle_reader cron kubeconfig)
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-600}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(bundle_reader cron kubeconfig)
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: error: SECONDS must be a whole number, not $seconds" >&2; exit 2; }
rustup run nightly rustc --version >/dev/null 2>&1 \
  || { echo "fuzz.sh: error: cargo-fuzz needs nightly Rust: rustup toolchain install nightly" >&2; exit 1; }
fuzz="$(tests/tools/install.sh cargo-fuzz)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${KLSB_CACHE:-$HOME/.cache/kubectl-longhorn-systembackup}/fuzz-target}"
export PATH="$(dirname "$fuzz"):$PATH"
cd fuzz
for target in "${targets[@]}"; do
  echo "fuzz.sh: $target for ${seconds}s" >&2
  # -rss_limit_mb: a reader must stay within bounded memory whatever the input.
  cargo +nightly fuzz run --release "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
  cargo +nightly fuzz cmin --release "$target" "corpus/$target"
done
