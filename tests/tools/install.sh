#!/usr/bin/env bash
# Builds the test ground's components from package registries (Go module proxy, npm)
# and caches each one outside the clone, keyed by version:
#   ${KLSB_CACHE:-~/.cache/kubectl-longhorn-systembackup}/<component>-<version>/
# A second run finds the cached binary and returns at once.
#
# usage: tests/tools/install.sh <component> [version]
#   kube-apiserver | etcd | crds <longhorn-version> | krew | minio | azurite | cron-oracle | all
# Prints the path of the installed artefact on stdout (logs go to stderr).
set -euo pipefail

CACHE="${KLSB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-longhorn-systembackup}"
KUBERNETES_VERSION="${KLSB_KUBERNETES_VERSION:-v1.33.13}"
ETCD_VERSION="${KLSB_ETCD_VERSION:-v3.5.21}"
KREW_VERSION="${KLSB_KREW_VERSION:-v0.4.3}"
MINIO_VERSION="${KLSB_MINIO_VERSION:-RELEASE.2025-10-15T17-29-55Z}"
AZURITE_VERSION="${KLSB_AZURITE_VERSION:-3.35.0}"

log() { echo "install.sh: $*" >&2; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed; install Go >= 1.24 (https://go.dev/dl) and make sure the Go module proxy (GOPROXY) is reachable"
}

# done_marker DIR: the build is complete only when DIR/.complete exists, so an
# interrupted build is redone instead of being trusted.
is_complete() { [[ -f "$1/.complete" ]]; }
mark_complete() { touch "$1/.complete"; }

# gobuild WORKDIR MODULE@VERSION: prepares a wrapper module in WORKDIR.
wrapper_module() {
  local work="$1" name="$2"
  rm -rf "$work"; mkdir -p "$work"
  (cd "$work" && go mod init "example.local/$name" >/dev/null 2>&1)
}

install_kube_apiserver() {
  local v="$KUBERNETES_VERSION" dir="$CACHE/kube-apiserver-$KUBERNETES_VERSION"
  if is_complete "$dir"; then echo "$dir/kube-apiserver"; return; fi
  need_go
  log "building kube-apiserver $v from the Go module proxy (first time only; 5-15 min on 2 cores)"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local staging="v0.${v#v1.}"
  local work="$dir/src"
  wrapper_module "$work" kas
  # Kubernetes' go.mod requires every staging module at v0.0.0 and replaces it with
  # ./staging/...; `go install` refuses that, so pin each one to its published v0.Y.Z.
  # The list of staging modules is read from that release's own go.mod.
  local mod
  mod="$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" | python3 -c 'import sys,json; print(json.load(sys.stdin)["GoMod"])')" \
    || die "the Go module proxy does not serve k8s.io/kubernetes@$v; set KLSB_KUBERNETES_VERSION to a served v1.33.x"
  local goline godebug
  goline="$(awk '$1=="go"{print $2; exit}' "$mod")"
  godebug="$(awk '$1=="godebug"{print $2; exit}' "$mod")"
  (
    cd "$work"
    go mod edit -go="$goline"
    [[ -n "$godebug" ]] && go mod edit -godebug="$godebug"
    for m in $(awk '$2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$mod"); do
      go mod edit -replace="$m=$m@$staging"
    done
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" >&2
    CGO_ENABLED=0 go build -trimpath -o "$dir/kube-apiserver" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
      k8s.io/kubernetes/cmd/kube-apiserver >&2
  )
  rm -rf "$work"
  mark_complete "$dir"
  echo "$dir/kube-apiserver"
}

install_etcd() {
  local v="$ETCD_VERSION" dir="$CACHE/etcd-$ETCD_VERSION"
  if is_complete "$dir"; then echo "$dir/etcd"; return; fi
  need_go
  log "building etcd $v from the Go module proxy (first time only)"
  local work="$dir/src"
  wrapper_module "$work" etcd
  (
    cd "$work"
    go get "go.etcd.io/etcd/server/v3@$v" >&2 || die "the Go module proxy does not serve go.etcd.io/etcd/server/v3@$v"
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3 >&2
  )
  rm -rf "$work"
  mark_complete "$dir"
  echo "$dir/etcd"
}

# Longhorn's CRDs from the longhorn-manager module zip. Since v1.9 k8s/crds.yaml is a
# Helm template: reverse the two template expressions generate_code.sh adds (the
# lines after `labels:` hold the CRD's own labels, so `labels:` alone is the reverse)
# (test-infrastructure.md §7.2).
install_crds() {
  local v="${1:?crds needs a Longhorn version, e.g. v1.12.1}" dir="$CACHE/longhorn-crds-$1"
  if is_complete "$dir"; then echo "$dir/crds.yaml"; return; fi
  need_go
  mkdir -p "$dir"
  local src
  src="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "github.com/longhorn/longhorn-manager@$v" 2>/dev/null | python3 -c 'import sys,json; print(json.load(sys.stdin)["Dir"])')" \
    || die "the Go module proxy does not serve github.com/longhorn/longhorn-manager@$v; pick a served Longhorn version (LONGHORN_VERSION)"
  [[ -f "$src/k8s/crds.yaml" ]] || die "github.com/longhorn/longhorn-manager@$v has no k8s/crds.yaml"
  sed -e 's/labels: {{- include "longhorn.labels" \. | nindent 4 }}/labels:/' \
      -e 's/{{ include "release_namespace" \. }}/longhorn-system/' \
      "$src/k8s/crds.yaml" > "$dir/crds.yaml.tmp"
  if grep -q '{{' "$dir/crds.yaml.tmp"; then die "k8s/crds.yaml of longhorn-manager@$v still holds Helm template expressions after reversal"; fi
  mv "$dir/crds.yaml.tmp" "$dir/crds.yaml"
  mark_complete "$dir"
  echo "$dir/crds.yaml"
}

install_krew() {
  local v="$KREW_VERSION" dir="$CACHE/krew-$KREW_VERSION"
  if is_complete "$dir"; then echo "$dir/bin"; return; fi
  need_go
  log "building krew $v from the Go module proxy (first time only)"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" CGO_ENABLED=0 go install "sigs.k8s.io/krew/cmd/krew@$v" >&2 \
    || die "could not build sigs.k8s.io/krew/cmd/krew@$v from the Go module proxy"
  GOBIN="$dir/bin" CGO_ENABLED=0 go install "sigs.k8s.io/krew/cmd/validate-krew-manifest@$v" >&2 \
    || die "could not build sigs.k8s.io/krew/cmd/validate-krew-manifest@$v from the Go module proxy"
  mv "$dir/bin/krew" "$dir/bin/kubectl-krew"
  mark_complete "$dir"
  echo "$dir/bin"
}

install_minio() {
  local v="$MINIO_VERSION" dir="$CACHE/minio-$MINIO_VERSION"
  if is_complete "$dir"; then echo "$dir/minio"; return; fi
  need_go
  log "building MinIO $v from the Go module proxy (first time only; several minutes)"
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 go install "github.com/minio/minio@$v" >&2 \
    || die "could not build github.com/minio/minio@$v from the Go module proxy"
  mark_complete "$dir"
  echo "$dir/minio"
}

install_azurite() {
  local v="$AZURITE_VERSION" dir="$CACHE/azurite-$AZURITE_VERSION"
  if is_complete "$dir"; then echo "$dir/node_modules/.bin/azurite-blob"; return; fi
  command -v npm >/dev/null 2>&1 || die "npm is not installed; install Node.js 20 with npm"
  log "installing azurite@$v from npm (first time only)"
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "azurite@$v" >&2) \
    || die "could not install azurite@$v from the npm registry"
  mark_complete "$dir"
  echo "$dir/node_modules/.bin/azurite-blob"
}

# The cron oracle (tests/oracle/cron): Longhorn's cron parser, robfig/cron v1.2.0, as a
# small program that writes tests/fixtures/cron-cases.json. Rebuilt when its sources change.
install_cron_oracle() {
  local here src dir stamp
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  src="$here/../oracle/cron"
  dir="$CACHE/cron-oracle-v1.2.0"
  stamp="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | { sha256sum 2>/dev/null || shasum -a 256; } | cut -d' ' -f1)"
  if is_complete "$dir" && [[ "$(cat "$dir/.complete")" == "$stamp" ]]; then echo "$dir/cron-oracle"; return; fi
  need_go
  log "building the cron oracle (github.com/robfig/cron v1.2.0) from the Go module proxy"
  mkdir -p "$dir"
  rm -f "$dir/.complete"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$dir/cron-oracle" . >&2) \
    || die "could not build tests/oracle/cron (needs github.com/robfig/cron v1.2.0 from the Go module proxy)"
  echo "$stamp" > "$dir/.complete"
  echo "$dir/cron-oracle"
}

case "${1:-}" in
  kube-apiserver) install_kube_apiserver ;;
  etcd) install_etcd ;;
  crds) install_crds "${2:-}" ;;
  krew) install_krew ;;
  minio) install_minio ;;
  azurite) install_azurite ;;
  cron-oracle) install_cron_oracle ;;
  *) die "usage: install.sh kube-apiserver|etcd|crds <version>|krew|minio|azurite|cron-oracle" ;;
esac
