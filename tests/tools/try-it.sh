#!/usr/bin/env bash
# Try the plugin without a Longhorn cluster (README "Try it"): builds and starts the
# test ground (a real kube-apiserver + etcd with Longhorn's CRDs, longhorn-manager's own
# controllers and webhooks for the chosen release, and a simulator for engines and
# replicas, seeded with a small install), walks through
#   create → wait → list → describe → local bundle uploaded → inspect → download → delete
# with the plugin through real kubectl, then keeps the ground up until Ctrl-C and
# prints the export line to use it from another shell.
#
# usage: tests/tools/try-it.sh [--longhorn-version vX.Y.Z] [--volumes N] [--no-wait]
#   --no-wait   stop after the walkthrough instead of keeping the ground up
set -euo pipefail
cd "$(dirname "$0")/../.."

version="${LONGHORN_VERSION:-v1.12.0}"
volumes=3
stay=yes
while [[ $# -gt 0 ]]; do
  case "$1" in
    --longhorn-version) version="$2"; shift 2 ;;
    --volumes) volumes="$2"; shift 2 ;;
    --no-wait) stay=no; shift ;;
    *) echo "try-it.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v cargo >/dev/null || { echo "try-it.sh: error: cargo is not installed; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "try-it.sh: error: kubectl is not on PATH; install kubectl (https://kubernetes.io/docs/tasks/tools/)" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${KLSB_CACHE:-$HOME/.cache/kubectl-longhorn-systembackup}/target}"

echo "==> Building the control plane and longhorn-manager $version from the Go module proxy (cached after the first run)" >&2
tests/tools/install.sh etcd >/dev/null
tests/tools/install.sh kube-apiserver >/dev/null
tests/tools/install.sh kube-controller-manager >/dev/null
tests/tools/install.sh crds "$version" >/dev/null
tests/tools/install.sh longhorn-manager "$version" >/dev/null
tests/tools/install.sh longhorn-engine "$version" >/dev/null
echo "==> Building the plugin and the test ground" >&2
cargo build --locked --quiet --bin kubectl-longhorn-systembackup -p longhorn-ground --bin longhorn-ground

work="$(mktemp -d)"
ground_pid=""
cleanup() {
  if [[ -n "$ground_pid" ]] && kill -0 "$ground_pid" 2>/dev/null; then
    kill -INT "$ground_pid" 2>/dev/null || true
    wait "$ground_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> Starting the test ground with Longhorn $version and $volumes volumes" >&2
"$CARGO_TARGET_DIR/debug/longhorn-ground" up --longhorn-version "$version" --volumes "$volumes" >"$work/ground.out" 2>"$work/ground.err" &
ground_pid=$!
for _ in $(seq 1 600); do
  grep -q '^export KUBECONFIG=' "$work/ground.out" 2>/dev/null && break
  kill -0 "$ground_pid" 2>/dev/null || { cat "$work/ground.err" >&2; echo "try-it.sh: error: the test ground did not start" >&2; exit 1; }
  sleep 0.1
done
eval "$(grep '^export KUBECONFIG=' "$work/ground.out")"
mount_path="$(sed -n 's/^# --mount-path //p' "$work/ground.out")"

# The plugin on PATH as krew would install it, so kubectl finds it.
mkdir -p "$work/bin"
ln -s "$CARGO_TARGET_DIR/debug/kubectl-longhorn-systembackup" "$work/bin/kubectl-longhorn"
ln -s "$CARGO_TARGET_DIR/debug/kubectl-longhorn-systembackup" "$work/bin/kubectl_complete-longhorn"
export PATH="$work/bin:$PATH"

step() { printf '\n$ %s\n' "$*" >&2; "$@"; }
cd "$work"
step kubectl longhorn systembackup create demo --wait
step kubectl longhorn systembackup list
step kubectl longhorn systembackup describe demo
step kubectl longhorn systembackup create offline --local --upload --mount-path "$mount_path" --volume-backup-policy disabled --wait
step kubectl longhorn systembackup inspect offline.zip
step kubectl longhorn systembackup list
step kubectl longhorn systembackup download demo --mount-path "$mount_path"
step kubectl longhorn systembackup delete demo --yes
step kubectl longhorn systembackup list

if [[ "$stay" == yes ]]; then
  cat >&2 <<TEXT

The test ground stays up until you press Ctrl-C. From another shell:
  export KUBECONFIG=$KUBECONFIG
  export PATH=$work/bin:\$PATH
  kubectl longhorn systembackup --help
  kubectl longhorn systembackup download NAME --mount-path $mount_path
TEXT
  wait "$ground_pid"
fi
