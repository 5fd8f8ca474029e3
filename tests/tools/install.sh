#!/usr/bin/env bash
# Builds the test ground's components from package registries (Go module proxy, npm)
# and caches each one outside the clone, keyed by version:
#   ${KLSB_CACHE:-~/.cache/kubectl-longhorn-systembackup}/<component>-<version>/
# A second run finds the cached binary and returns at once.
#
# usage: tests/tools/install.sh <component> [version]
#   kube-apiserver | kube-controller-manager | etcd | crds <longhorn-version> | krew | s3s-fs | azurite | cron-oracle
#   | bundle-oracle <longhorn-version> | backupstore-oracle <longhorn-version>
#   | longhorn-manager <longhorn-version> | longhorn-engine <longhorn-version> | cargo-machete | cargo-fuzz
# Prints the path of the installed artefact on stdout (logs go to stderr).
set -euo pipefail

CACHE="${KLSB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-longhorn-systembackup}"
KUBERNETES_VERSION="${KLSB_KUBERNETES_VERSION:-v1.33.13}"
ETCD_VERSION="${KLSB_ETCD_VERSION:-v3.5.21}"
KREW_VERSION="${KLSB_KREW_VERSION:-v0.5.0}"
# s3s-fs 0.15.0 and later need Rust 1.96; 0.14.1 is the newest that builds with 1.95.
S3S_FS_VERSION="${KLSB_S3S_FS_VERSION:-0.14.1}"
AZURITE_VERSION="${KLSB_AZURITE_VERSION:-3.35.0}"
CARGO_MACHETE_VERSION="${KLSB_CARGO_MACHETE_VERSION:-0.9.2}"
CARGO_FUZZ_VERSION="${KLSB_CARGO_FUZZ_VERSION:-0.13.2}"

log() { echo "install.sh: $*" >&2; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed; install Go >= 1.24 (https://go.dev/dl) and make sure the Go module proxy (GOPROXY) is reachable"
}

# done_marker DIR: the build is complete only when DIR/.complete exists, so an
# interrupted build is redone instead of being trusted. A build from this checkout's
# own sources (the oracles) writes a key (hash of its sources and pins) into the
# marker, and a different key means rebuild.
is_complete() { [[ -f "$1/.complete" && ( -z "${2:-}" || "$(cat "$1/.complete")" == "$2" ) ]]; }
mark_complete() { printf '%s' "${2:-}" > "$1/.complete"; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ORACLES="$HERE/../oracle"

# gobuild WORKDIR MODULE@VERSION: prepares a wrapper module in WORKDIR.
wrapper_module() {
  local work="$1" name="$2"
  rm -rf "$work"; mkdir -p "$work"
  (cd "$work" && go mod init "example.local/$name" >/dev/null 2>&1)
}

# install_kubernetes_command NAME: builds k8s.io/kubernetes/cmd/NAME (kube-apiserver,
# kube-controller-manager) at $KUBERNETES_VERSION from the Go module proxy.
install_kubernetes_command() {
  local name="$1" v="$KUBERNETES_VERSION" dir="$CACHE/$1-$KUBERNETES_VERSION"
  if is_complete "$dir"; then echo "$dir/$name"; return; fi
  need_go
  log "building $name $v from the Go module proxy (first time only; 5-15 min on 2 cores)"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local staging="v0.${v#v1.}"
  local work="$dir/src"
  wrapper_module "$work" "$name"
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
    go get "k8s.io/kubernetes/cmd/$name@$v" >&2
    CGO_ENABLED=0 go build -trimpath -o "$dir/$name" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
      "k8s.io/kubernetes/cmd/$name" >&2
  ) || die "could not build k8s.io/kubernetes/cmd/$name@$v (wrapper module left in $work)"
  rm -rf "$work"
  mark_complete "$dir"
  echo "$dir/$name"
}

install_kube_apiserver() { install_kubernetes_command kube-apiserver; }

# The ground runs only its garbage collector: what deletes the objects whose owner is gone
# (a RecurringJob's CronJob, a SystemRestore's Job), as in every cluster.
install_kube_controller_manager() { install_kubernetes_command kube-controller-manager; }

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
# (longhorn/longhorn-manager:k8s/generate_code.sh@v1.12.0).
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

# s3s-fs (crates.io, Apache-2.0) is the S3 server of the tests. MinIO is not used: it
# is AGPLv3, which this project's package policy marks not-to-use (docs/testing.md).
install_s3s_fs() {
  local v="$S3S_FS_VERSION" dir="$CACHE/s3s-fs-$S3S_FS_VERSION"
  if is_complete "$dir"; then echo "$dir/bin/s3s-fs"; return; fi
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed; install Rust (>= 1.92) with rustup"
  log "building s3s-fs $v from crates.io (first time only; about 2 min on 2 cores)"
  mkdir -p "$dir"
  # A private target directory: the caller's CARGO_TARGET_DIR must not receive (or
  # keep) this build.
  CARGO_TARGET_DIR="$dir/target" cargo install --locked --quiet --features binary \
      --version "=$v" --root "$dir" s3s-fs >&2 \
    || CARGO_TARGET_DIR="$dir/target" cargo install --quiet --features binary \
      --version "=$v" --root "$dir" s3s-fs >&2 \
    || die "could not build s3s-fs $v from crates.io (cargo install s3s-fs --features binary --version $v)"
  rm -rf "$dir/target"
  [[ -x "$dir/bin/s3s-fs" ]] || die "cargo install finished but $dir/bin/s3s-fs is missing"
  mark_complete "$dir"
  echo "$dir/bin/s3s-fs"
}

# install_cargo_tool NAME VERSION: a cargo subcommand built from crates.io into
# $CACHE/NAME-VERSION/bin/NAME.
install_cargo_tool() {
  local name="$1" v="$2" dir="$CACHE/$1-$2"
  if is_complete "$dir"; then echo "$dir/bin/$name"; return; fi
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed; install Rust with rustup"
  log "building $name $v from crates.io (first time only; 1-3 min on 2 cores)"
  mkdir -p "$dir"
  CARGO_TARGET_DIR="$dir/target" cargo install --locked --quiet --version "=$v" \
      --root "$dir" "$name" >&2 \
    || die "could not build $name $v from crates.io (cargo install $name --version $v)"
  rm -rf "$dir/target"
  [[ -x "$dir/bin/$name" ]] || die "cargo install finished but $dir/bin/$name is missing"
  mark_complete "$dir"
  echo "$dir/bin/$name"
}

# cargo-machete (crates.io, MIT) finds dependencies no source file uses: part of the
# quality gate of tests/tools/test.sh.
install_cargo_machete() { install_cargo_tool cargo-machete "$CARGO_MACHETE_VERSION"; }

# cargo-fuzz, for the campaigns of tests/tools/fuzz.sh (not part of the test command:
# it replays the saved corpus on stable).
install_cargo_fuzz() { install_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION"; }

# longhorn_manager_gomod VERSION: path of longhorn-manager's go.mod from the proxy.
longhorn_manager_gomod() {
  local v="$1" tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/longhorn/longhorn-manager@$v" 2>/dev/null) \
    | python3 -c 'import sys,json; d=json.load(sys.stdin); print(d["GoMod"]) if "GoMod" in d and "Error" not in d else sys.exit(1)' \
    || { rmdir "$tmp"; die "the Go module proxy does not serve github.com/longhorn/longhorn-manager@$v; served: v1.8.1 v1.9.0 v1.10.0 v1.11.1 v1.12.0"; }
  rmdir "$tmp"
}

# copy_replaces GOMOD: copies every replace directive of GOMOD into the module in the
# current directory (longhorn-manager replaces the k8s.io staging modules, and since
# v1.11 beszel; a module importing it must do the same).
copy_replaces() {
  local args
  args="$(go mod edit -json "$1" | python3 -c '
import sys, json
d = json.load(sys.stdin)
for r in d.get("Replace") or []:
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    new = r["New"]["Path"] + ("@" + r["New"]["Version"] if r["New"].get("Version") else "")
    print("-replace=" + old + "=" + new)
')"
  # shellcheck disable=SC2086 # one argument per line, no spaces inside
  [[ -z "$args" ]] || go mod edit $args
}

# The bundle oracle: restore's decode loop built against one Longhorn release's types.
install_bundle_oracle() {
  local v="${1:?bundle-oracle needs a Longhorn version, e.g. v1.12.0}" dir="$CACHE/bundle-oracle-$1"
  local src="$ORACLES/bundle/main.go" key
  [[ -f "$src" ]] || die "missing $src"
  # Like Longhorn's restore, the oracle runs the external unzip.
  command -v unzip >/dev/null 2>&1 || die "unzip is not installed; the bundle oracle runs it as Longhorn's restore does (apt-get install unzip)"
  key="$(sha256sum "$src" | cut -c1-64) longhorn-manager@$v"
  if is_complete "$dir" "$key"; then echo "$dir/bundle-oracle"; return; fi
  need_go
  log "building bundle-oracle against longhorn-manager $v from the Go module proxy (first time only)"
  local gomod goline work="$dir/src"
  gomod="$(longhorn_manager_gomod "$v")"
  goline="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  wrapper_module "$work" bundle-oracle
  cp "$src" "$work/main.go"
  (
    cd "$work"
    go mod edit -go="$goline"
    copy_replaces "$gomod"
    go mod edit -require="github.com/longhorn/longhorn-manager@$v"
    go mod tidy >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.longhornVersion=$v" -o "$dir/bundle-oracle" . >&2
  ) || die "could not build bundle-oracle against longhorn-manager@$v (wrapper module left in $work)"
  rm -rf "$work"
  mark_complete "$dir" "$key"
  echo "$dir/bundle-oracle"
}

# backupstore pins. Each Longhorn release pins github.com/longhorn/backupstore (no tags,
# pseudo-versions only) in its go.mod. The Go module proxy does not serve every pin; a
# pin that cannot be downloaded is replaced by the nearest usable one below.
# Usable = `go mod download github.com/longhorn/backupstore@<pin>` succeeds. Checked:
#   usable: 20250227220202-651bd33886fe (v1.8.1's pin), 20250804022317-794abf817297
#           (v1.10.0's and v1.9.2's), 20251009075049-1b6c3422a333 (v1.10.1's),
#           20260722010828-e5f4ddc47e4d (v1.12.1's, aws-sdk-go-v2)
#   403:    20250513044119-966fecd6b927 (v1.9.0), 20260127053626-a9fd84935804 (v1.11.0),
#           20260306105805-ea08687ca2cd (v1.11.1), 20260512085050-2a21a780e44c (v1.12.0)
#   .info served but no checksum-database record (unusable):
#           20250608034139-079a7cc0a3c7 (v1.8.2), 20250624115502-f6e828377c27 (v1.7.4)
# systembackup/system_backup.go is the same code in all four usable pins (only the
# errors package changed), so a fallback differs from the real pin in drivers only.
backupstore_fallback() {
  case "$1" in
    # 966fecd6b927 is 403. 794abf817297 is what the v1.9 branch moved to (v1.9.2) and
    # v1.10.0 pins; same aws-sdk-go v1 S3 driver as v1.9.0's pin.
    v1.9.0) echo v0.0.0-20250804022317-794abf817297 ;;
    # ea08687ca2cd (and v1.11.0's a9fd84935804) are 403. Both are after backupstore
    # moved S3 to aws-sdk-go-v2 (Nov 2025), so the nearest usable pin with the same S3
    # SDK is v1.12.1's e5f4ddc47e4d, not v1.10.1's 1b6c3422a333 (aws-sdk-go v1).
    v1.11.1) echo v0.0.0-20260722010828-e5f4ddc47e4d ;;
    # 2a21a780e44c is 403; e5f4ddc47e4d is the v1.12 branch's next pin (v1.12.1).
    v1.12.0) echo v0.0.0-20260722010828-e5f4ddc47e4d ;;
    *) return 1 ;;
  esac
}

# backupstore's own dependency github.com/longhorn/go-common-libs (it uses only the
# types in its backup/ package, identical in the served versions) is pinned by every
# usable backupstore pin at a version the proxy does not serve (c86a06c781f5,
# 2c0bac610814, 21a84065aa86: 403). Where that happens the oracle replaces it with the
# go-common-libs that the Longhorn release itself pins, or the nearest served one.
# Served: 20250215052214-151615b29f8e (v1.8.1's), 20250921030719-16313e7f30b3
# (v1.10.0's), 20260512083219-bb6c10ce1050 (v1.12.0's); v1.9.0's 74041234ac93 and
# v1.11.1's ae36fc92e72e are 403.
common_libs_fallback() {
  case "$1" in
    v1.8.1) echo v0.0.0-20250215052214-151615b29f8e ;;
    v1.9.0|v1.10.0) echo v0.0.0-20250921030719-16313e7f30b3 ;;
    v1.11.1|v1.12.0) echo v0.0.0-20260512083219-bb6c10ce1050 ;;
    *) return 1 ;;
  esac
}

# module_usable MODULE@VERSION: the proxy serves it (zip, go.mod and checksum record).
module_usable() {
  local tmp ok=0
  tmp="$(mktemp -d)"
  (cd "$tmp" && go mod download -json "$1" 2>/dev/null) \
    | python3 -c 'import sys,json; d=json.load(sys.stdin); sys.exit(0 if "Dir" in d and "Error" not in d else 1)' || ok=1
  rmdir "$tmp"
  return $ok
}

# backupstore_pin VERSION: prints "<pin> <note>" for a Longhorn release.
backupstore_pin() {
  local v="$1" gomod pin fallback
  gomod="$(longhorn_manager_gomod "$v")"
  pin="$(awk '$1=="github.com/longhorn/backupstore" && $2 ~ /^v/ {print $2; exit}' "$gomod")"
  [[ -n "$pin" ]] || die "longhorn-manager@$v does not require github.com/longhorn/backupstore"
  if module_usable "github.com/longhorn/backupstore@$pin"; then echo "$pin (longhorn-manager@$v's own pin)"; return; fi
  fallback="$(backupstore_fallback "$v")" \
    || die "the Go module proxy does not serve github.com/longhorn/backupstore@$pin (pinned by longhorn-manager@$v) and install.sh has no fallback for $v; add one to backupstore_fallback"
  module_usable "github.com/longhorn/backupstore@$fallback" \
    || die "neither $pin (pinned by longhorn-manager@$v) nor the fallback $fallback of github.com/longhorn/backupstore is served"
  echo "$fallback (fallback: longhorn-manager@$v pins $pin, which the Go module proxy does not serve)"
}

# common_libs_replace LONGHORN-VERSION BACKUPSTORE-PIN: prints the go-common-libs
# version to replace backupstore's requirement with, or nothing when it is served.
common_libs_replace() {
  local gomod want tmp
  tmp="$(mktemp -d)"
  gomod="$(cd "$tmp" && go mod download -json "github.com/longhorn/backupstore@$2" | python3 -c 'import sys,json; print(json.load(sys.stdin)["GoMod"])')"
  rmdir "$tmp"
  want="$(awk '$1=="github.com/longhorn/go-common-libs" && $2 ~ /^v/ {print $2; exit}' "$gomod")"
  [[ -z "$want" ]] && return 0
  module_usable "github.com/longhorn/go-common-libs@$want" && return 0
  common_libs_fallback "$1" \
    || die "backupstore@$2 requires github.com/longhorn/go-common-libs@$want, which the Go module proxy does not serve, and install.sh has no fallback for Longhorn $1; add one to common_libs_fallback"
}

# The backupstore oracle: Longhorn's systembackup package at the pin of one release.
install_backupstore_oracle() {
  local v="${1:?backupstore-oracle needs a Longhorn version, e.g. v1.12.0}" dir="$CACHE/backupstore-oracle-$1"
  local src="$ORACLES/backupstore/main.go" key pinline pin libs
  [[ -f "$src" ]] || die "missing $src"
  # Rebuilt when the program or the pin rules below change.
  key="$(sha256sum "$src" | cut -c1-64) $(declare -f backupstore_pin backupstore_fallback common_libs_replace common_libs_fallback | sha256sum | cut -c1-16)"
  if is_complete "$dir" "$key"; then echo "$dir/backupstore-oracle"; return; fi
  need_go
  pinline="$(backupstore_pin "$v")"
  pin="${pinline%% *}"
  libs="$(common_libs_replace "$v" "$pin")"
  log "building backupstore-oracle for Longhorn $v with backupstore $pinline${libs:+, go-common-libs $libs} (first time only)"
  local work="$dir/src"
  wrapper_module "$work" backupstore-oracle
  cp "$src" "$work/main.go"
  (
    cd "$work"
    go mod edit -require="github.com/longhorn/backupstore@$pin"
    [[ -z "$libs" ]] || go mod edit -replace="github.com/longhorn/go-common-libs=github.com/longhorn/go-common-libs@$libs"
    go mod tidy >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.longhornVersion=$v -X main.backupstoreVersion=$pin" \
      -o "$dir/backupstore-oracle" . >&2
  ) || die "could not build backupstore-oracle with github.com/longhorn/backupstore@$pin (wrapper module left in $work)"
  rm -rf "$work"
  printf 'backupstore %s\ngo-common-libs %s\n' "$pinline" "${libs:-as backupstore requires it}" > "$dir/PIN"
  mark_complete "$dir" "$key"
  echo "$dir/backupstore-oracle"
}

# longhorn-manager's own code and the engine stand-in (tests/longhorn), built per Longhorn
# release from one wrapper module: longhorn-manager@<version>, its own replace block (the
# k8s.io staging modules, beszel) and, for pins the Go module proxy refuses, the served
# replacements of tests/longhorn/replacements.txt.
LONGHORN_SRC="$HERE/../longhorn"

# longhorn_replacements VERSION: "module served-version" per line for that release.
longhorn_replacements() {
  awk -v v="$1" '$1 == v {print $2, $3}' "$LONGHORN_SRC/replacements.txt"
}

# longhorn_key VERSION PACKAGE: a hash of what the build of PACKAGE depends on (its
# sources, the replacements, the build rules).
longhorn_key() {
  { cat "$LONGHORN_SRC/$2"/*.go; find "$LONGHORN_SRC/stubs" -type f | sort | xargs cat; longhorn_replacements "$1"
    declare -f longhorn_wrapper longhorn_build longhorn_commit; } | sha256sum | cut -c1-64
}

# refused_pins LOG: the module@version pins a failed `go mod` run could not fetch.
refused_pins() {
  grep -oE '[a-zA-Z0-9._/-]+@v[0-9][^: ]*: (reading https?://[^ ]+: (403|404|410)|verifying [^ ]+: [^ ]+: reading [^ ]+: (403|404|410)|invalid version)' "$1" \
    | sed -E 's/: .*//' | sort -u | tr '\n' ' '
}

# longhorn_wrapper VERSION WORK: the wrapper module in WORK, tidied.
longhorn_wrapper() {
  local v="$1" work="$2" gomod goline line
  gomod="$(longhorn_manager_gomod "$v")"
  goline="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  wrapper_module "$work" longhorn-ground
  cp -r "$LONGHORN_SRC/manager" "$LONGHORN_SRC/engine" "$LONGHORN_SRC/stubs" "$work/"
  (
    cd "$work"
    go mod edit -go="$goline"
    copy_replaces "$gomod"
    while read -r module served; do
      case "$served" in
        "") ;;
        ./*) go mod edit -replace="$module=$served" ;;  # a stub module of tests/longhorn/stubs
        *) go mod edit -replace="$module=$module@$served" ;;
      esac
    done < <(longhorn_replacements "$v")
    go mod edit -require="github.com/longhorn/longhorn-manager@$v"
    if ! go mod tidy > "$work/tidy.log" 2>&1; then
      cat "$work/tidy.log" >&2
      local refused
      refused="$(refused_pins "$work/tidy.log")"
      [[ -n "$refused" ]] && die "the Go module proxy refuses ${refused}(pinned by longhorn-manager@$v or one of its dependencies): add the nearest served version of each to tests/longhorn/replacements.txt (see docs/compatibility.md)"
      die "could not resolve the modules of longhorn-manager@$v (wrapper module left in $work)"
    fi
  )
}

# longhorn_commit VERSION: longhorn-manager's commit for a release, which Longhorn's build
# stamps into meta.GitCommit (SystemBackups carry it, and the engine's upload refuses an
# empty one). The proxy's .info names it (Origin.Hash) for most releases; for those whose
# .info has no Origin, this is the release tag's commit (its tree equals the module zip).
longhorn_commit() {
  local v="$1" work="$2" commit
  commit="$(cd "$work" && go mod download -json "github.com/longhorn/longhorn-manager@$v" | python3 -c 'import sys,json; print(json.load(sys.stdin).get("Origin",{}).get("Hash",""))')"
  if [[ -z "$commit" ]]; then
    case "$v" in
      v1.9.0) commit=8bb4d023b6d85475471091d3eedea02a7411bc5c ;;
      v1.10.0) commit=22af8fe21683753eb380348eb512a17ee87473a9 ;;
      *) die "the Go module proxy does not say which commit longhorn-manager@$v is; add it to longhorn_commit in install.sh" ;;
    esac
  fi
  echo "$commit"
}

# longhorn_build VERSION PACKAGE OUTPUT: builds ./PACKAGE of a fresh wrapper into OUTPUT.
longhorn_build() {
  local v="$1" package="$2" output="$3" work="$4" commit tags=""
  longhorn_wrapper "$v" "$work"
  commit="$(longhorn_commit "$v" "$work")"
  # API differences between releases, selected by build tags:
  # v1.11 gave the VolumeManager a snapshot limiter (tests/longhorn/manager/volume_manager*.go);
  # backupstore's CompareSnapshot took a block size from 794abf817297 (tests/longhorn/engine/compare*.go).
  local lhm_dir bs_dir
  lhm_dir="$(cd "$work" && go list -m -f '{{.Dir}}' github.com/longhorn/longhorn-manager)"
  bs_dir="$(cd "$work" && go list -m -f '{{.Dir}}' github.com/longhorn/backupstore)"
  grep -q 'func NewSnapshotConcurrentLimiter' "$lhm_dir"/controller/*.go && tags="$tags,lhm_snapshot_limiter"
  grep -q 'CompareSnapshot(id, compareID, volumeID string, blockSize int64)' "$bs_dir"/deltablock.go && tags="$tags,bs_block_size"
  tags="${tags#,}"
  (
    cd "$work"
    CGO_ENABLED=0 go build -trimpath -tags "$tags" -o "$output" \
      -ldflags "-s -w -X github.com/longhorn/longhorn-manager/meta.Version=$v -X github.com/longhorn/longhorn-manager/meta.GitCommit=$commit" \
      "./$package" >&2
  ) || die "could not build $package against longhorn-manager@$v (wrapper module left in $work)"
  rm -rf "$work"
}

need_longhorn_tools() {
  local missing=()
  for tool in zip unzip; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [[ ${#missing[@]} -eq 0 ]] || die "${missing[*]} not installed: longhorn-manager's system backup runs zip and its restore runs unzip (apt-get install zip unzip)"
  command -v unshare >/dev/null 2>&1 || die "unshare is not installed: the ground runs each longhorn-manager in a mount namespace of its own (apt-get install util-linux)"
}

# install_longhorn COMPONENT PACKAGE BINARY VERSION: builds tests/longhorn/PACKAGE for a
# Longhorn release into $CACHE/COMPONENT-VERSION/BINARY.
install_longhorn() {
  local component="$1" package="$2" binary="$3" v="${4:?$1 needs a Longhorn version, e.g. v1.12.0}"
  local dir="$CACHE/$component-$v" key
  key="$(longhorn_key "$v" "$package") longhorn-manager@$v"
  if is_complete "$dir" "$key"; then echo "$dir/$binary"; return; fi
  need_go
  log "building $component for Longhorn $v from the Go module proxy (first time only; the manager takes 5-10 min on 2 cores)"
  mkdir -p "$dir"
  rm -f "$dir/.complete"
  longhorn_build "$v" "$package" "$dir/$binary" "$dir/src"
  mark_complete "$dir" "$key"
  echo "$dir/$binary"
}

# longhorn-manager's controllers, webhooks and rollout (tests/longhorn/manager).
install_longhorn_manager() {
  need_longhorn_tools
  install_longhorn longhorn-manager manager longhorn-manager "${1:-}"
}

# The engine binary's backup-store commands (tests/longhorn/engine).
install_longhorn_engine() { install_longhorn longhorn-engine engine longhorn "${1:-}"; }

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
# The differential oracle (tests/oracle/differential): robfig/cron v1.2.0,
# time.ParseDuration, backupstore's system-backup URLs and sigs.k8s.io/yaml, answered
# in batch for the differential tests.
install_differential_oracle() {
  local src="$ORACLES/differential" dir="$CACHE/differential-oracle" stamp
  stamp="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -d' ' -f1)"
  if is_complete "$dir" "$stamp"; then echo "$dir/differential-oracle"; return; fi
  need_go
  log "building the differential oracle (robfig/cron, time, backupstore, sigs.k8s.io/yaml) from the Go module proxy"
  mkdir -p "$dir"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$dir/differential-oracle" . >&2) \
    || die "could not build tests/oracle/differential from the Go module proxy"
  mark_complete "$dir" "$stamp"
  echo "$dir/differential-oracle"
}

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

# One build per component and version at a time: tests running in parallel may ask for
# the same component on a cold cache; the second caller waits and then finds it built.
if [[ -n "${1:-}" ]] && command -v flock >/dev/null 2>&1; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.install-$1${2:+-$2}.lock"
  flock 9
fi

case "${1:-}" in
  kube-apiserver) install_kube_apiserver ;;
  kube-controller-manager) install_kube_controller_manager ;;
  etcd) install_etcd ;;
  crds) install_crds "${2:-}" ;;
  krew) install_krew ;;
  s3s-fs) install_s3s_fs ;;
  azurite) install_azurite ;;
  cron-oracle) install_cron_oracle ;;
  differential-oracle) install_differential_oracle ;;
  bundle-oracle) install_bundle_oracle "${2:-}" ;;
  backupstore-oracle) install_backupstore_oracle "${2:-}" ;;
  longhorn-manager) install_longhorn_manager "${2:-}" ;;
  longhorn-engine) install_longhorn_engine "${2:-}" ;;
  cargo-machete) install_cargo_machete ;;
  cargo-fuzz) install_cargo_fuzz ;;
  *) die "usage: install.sh kube-apiserver|kube-controller-manager|etcd|crds <version>|krew|s3s-fs|azurite|cron-oracle|differential-oracle|bundle-oracle <version>|backupstore-oracle <version>|longhorn-manager <version>|longhorn-engine <version>|cargo-machete|cargo-fuzz" ;;
esac
