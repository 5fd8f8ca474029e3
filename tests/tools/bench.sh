#!/usr/bin/env bash
# Benchmarks of the speed and size goals (docs/benchmarks.md):
#   list  — `kubectl longhorn systembackup list` vs `kubectl get systembackups` on a
#           ground holding N Ready SystemBackups (goal: half kubectl's time or less);
#           also checks that `list` sends exactly one request (one paged LIST, no
#           discovery), from its -v=6 log
#   wait  — delay from a SystemBackup's status turning Ready to `wait`'s exit (goal
#           under 50 ms), RUNS times
#   start — `--help` start time and the release binary's size (goal ≤ 12 MB)
#
# usage: tests/tools/bench.sh [--system-backups N] [--wait-runs RUNS] [--out DIR]
# The plugin is built with the release profile (size-tuned, a few minutes the first
# time); the ground runs from the dev profile (the API server does the work measured).
# Needs hyperfine (Debian: apt-get install hyperfine; or cargo install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/../.."

count=200
runs=20
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --system-backups) count="$2"; shift 2 ;;
    --wait-runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

log() { echo "bench.sh: $*" >&2; }
die() { echo "bench.sh: error: $*" >&2; exit 1; }

if ! command -v hyperfine >/dev/null 2>&1; then
  log "hyperfine is missing; installing it from Debian's packages"
  if [[ "$(id -u)" == 0 ]]; then
    apt-get install -y hyperfine >&2 || { apt-get update >&2 && apt-get install -y hyperfine >&2; } || true
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get install -y hyperfine >&2 || true
  fi
  command -v hyperfine >/dev/null 2>&1 \
    || die "hyperfine is not installed and could not be installed here; install it with 'apt-get install hyperfine' (Debian/Ubuntu), 'brew install hyperfine' or 'cargo install hyperfine', then run this again"
fi
command -v kubectl >/dev/null 2>&1 || die "kubectl is not on PATH; it is the baseline (install kubectl >= 1.26)"

target_dir="${CARGO_TARGET_DIR:-target}"
log "building the plugin (release profile) and the bench ground (dev profile)"
cargo build --locked --release --bin kubectl-longhorn-systembackup >&2
cargo build --locked -p longhorn-ground --example bench_ground >&2
plugin="$target_dir/release/kubectl-longhorn-systembackup"
ground="$target_dir/debug/examples/bench_ground"
[[ -n "$out" ]] || out="$(mktemp -d)"
mkdir -p "$out"

# The plugin under its krew name, for the run through kubectl's plugin lookup.
links="$(mktemp -d)"
ground_pid=""
cleanup() {
  [[ -n "$ground_pid" ]] && kill "$ground_pid" 2>/dev/null && wait "$ground_pid" 2>/dev/null
  rm -rf "$links"
}
trap cleanup EXIT
ln -s "$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")" "$links/kubectl-longhorn"

log "starting the ground with $count Ready SystemBackups"
coproc GROUND { "$ground" serve "$count"; }
ground_pid=$GROUND_PID
kubeconfig="" namespace=""
while IFS= read -r line <&"${GROUND[0]}"; do
  case "$line" in
    KUBECONFIG=*) kubeconfig="${line#KUBECONFIG=}" ;;
    NAMESPACE=*) namespace="${line#NAMESPACE=}" ;;
    ready) break ;;
  esac
done
[[ -n "$kubeconfig" && -n "$namespace" ]] || die "the bench ground did not start (see above)"

listed="$("$plugin" --kubeconfig "$kubeconfig" -n "$namespace" list --no-headers | wc -l)"
[[ "$listed" == "$count" ]] || die "list shows $listed SystemBackups, expected $count"

# One paged LIST and no discovery: the -v=6 log has one request line.
requests="$("$plugin" --kubeconfig "$kubeconfig" -n "$namespace" list -v=6 2>&1 >/dev/null | grep -c ': requesting$' || true)"
request_line="$("$plugin" --kubeconfig "$kubeconfig" -n "$namespace" list -v=6 2>&1 >/dev/null | grep ': requesting$' | sed 's/.*http.url=\([^ ]*\).*/\1/' | head -1)"
log "list sent $requests request(s): GET $request_line"
[[ "$requests" == 1 ]] || die "list sent $requests requests; expected one paged LIST"
kubectl --kubeconfig "$kubeconfig" get systembackups -n "$namespace" >/dev/null # fills kubectl's discovery cache
kubectl_requests="$(kubectl --kubeconfig "$kubeconfig" get systembackups -n "$namespace" -v=6 2>&1 >/dev/null | grep -c 'round_trippers' || true)"
log "kubectl get (discovery cache warm) sent $kubectl_requests request(s)"

log "list: hyperfine"
hyperfine --shell=none --warmup 5 --runs 40 --export-json "$out/list.json" --export-markdown "$out/list.md" \
  -n "plugin list" "$plugin --kubeconfig $kubeconfig -n $namespace list" \
  -n "kubectl get systembackups" "kubectl --kubeconfig $kubeconfig get systembackups -n $namespace" \
  -n "kubectl longhorn systembackup list" "env PATH=$links:$PATH kubectl longhorn systembackup list --kubeconfig $kubeconfig -n $namespace" \
  >&2

kill "$ground_pid" 2>/dev/null; wait "$ground_pid" 2>/dev/null || true; ground_pid=""

log "start: hyperfine"
hyperfine --shell=none --warmup 5 --runs 50 --export-json "$out/help.json" --export-markdown "$out/help.md" \
  -n "plugin --help" "$plugin --help" >&2
size="$(stat -c %s "$plugin")"

log "wait: $runs runs"
wait_line="$("$ground" wait "$plugin" "$runs" | tail -1)"

python3 - "$out" "$count" "$size" "$requests" "$kubectl_requests" "$wait_line" <<'EOF'
import json, sys
out, count, size, requests, kubectl_requests, wait_line = sys.argv[1:]
lst = {r["command"]: r for r in json.load(open(f"{out}/list.json"))["results"]}
hlp = json.load(open(f"{out}/help.json"))["results"][0]
ms = lambda r: f'{r["mean"]*1000:.1f} ± {r["stddev"]*1000:.1f} ms (median {r["median"]*1000:.1f} ms)'
plugin, kubectl = lst["plugin list"], lst["kubectl get systembackups"]
print(f"list of {count} SystemBackups:")
for name, r in lst.items():
    print(f"  {name:36} {ms(r)}")
print(f"  plugin / kubectl: {plugin['mean']/kubectl['mean']:.2f} (goal <= 0.50)")
print(f"  requests: plugin {requests}, kubectl {kubectl_requests} (discovery cache warm)")
print(f"--help: {ms(hlp)}")
print(f"release binary: {int(size)/1e6:.2f} MB ({int(size)/2**20:.2f} MiB; goal <= 12 MB)")
print(wait_line)
EOF
log "hyperfine exports in $out"
