#!/usr/bin/env bash
# Builds this host's release archive (binary + LICENSE) and writes a krew manifest
# that lists exactly that archive with its real sha256.
#
# usage: krew/release.sh [--version vX.Y.Z] [--out DIR] [--manifest FILE] [--name longhorn|longhorn-systembackup]
#   --version   plugin version (default: v + the Cargo.toml version)
#   --out       where the archive goes (default: dist/)
#   --manifest  where the manifest goes (default: plugin.yaml at the top of the repo)
#   --name      krew plugin name (default: longhorn, invoked as `kubectl longhorn systembackup …`)
#   --profile   cargo profile (default: release, tuned for size in Cargo.toml)
# Only the host target (x86_64 Linux here) can be built on our machines; the other
# platforms are built on their own runners by .github/workflows/release.yml and
# added to the krew-index manifest by krew-release-bot from krew/.krew.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

version="v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
out=dist
manifest=plugin.yaml
name=longhorn
profile=release
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --manifest) manifest="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    *) echo "release.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$name" in
  longhorn|longhorn-systembackup) ;;
  *) echo "release.sh: --name must be longhorn or longhorn-systembackup" >&2; exit 2 ;;
esac

target="$(rustc -vV | sed -n 's/^host: //p')"
case "$target" in
  x86_64-unknown-linux-*) os=linux; arch=amd64 ;;
  aarch64-unknown-linux-*) os=linux; arch=arm64 ;;
  x86_64-apple-darwin) os=darwin; arch=amd64 ;;
  aarch64-apple-darwin) os=darwin; arch=arm64 ;;
  *) echo "release.sh: host $target is not a krew platform this script knows" >&2; exit 1 ;;
esac

bin=kubectl-longhorn-systembackup
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --locked --profile "$profile" --bin "$bin"
profile_dir="$profile"; [[ "$profile" == dev ]] && profile_dir=debug

archive_name="$bin-$version-$target.tar.gz"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$target_dir/$profile_dir/$bin" "$stage/$bin"
cp LICENSE "$stage/LICENSE"
# Reproducible archive: fixed order, owner and time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' -C "$stage" -czf "$out/$archive_name" "$bin" LICENSE
sha256="$(sha256sum "$out/$archive_name" | cut -d' ' -f1)"
size="$(stat -c %s "$stage/$bin")"

repo="${RELEASE_REPOSITORY:-https://github.com/kubectl-longhorn-systembackup/kubectl-longhorn-systembackup}"
case "$name" in
  longhorn) usage="kubectl longhorn systembackup" ;;
  longhorn-systembackup) usage="kubectl longhorn-systembackup" ;;
esac
cat > "$manifest" <<YAML
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: $name
spec:
  version: $version
  homepage: $repo
  shortDescription: Longhorn system backups, restores and schedules
  description: |
    Create, list, describe, wait for, delete and restore Longhorn system backups
    (SystemBackup and SystemRestore custom resources), schedule them with
    RecurringJobs, and build the system-backup bundle on your machine when
    longhorn-manager cannot, uploading it to the backup target for Longhorn
    to list and restore, with kubectl-style flags and output.
    Usage: $usage --help
  caveats: |
    Shell completion of "$usage …" needs one more link,
    which krew cannot install (kubernetes-sigs/krew#812):
      ln -s "\$(command -v kubectl-${name//-/_})" "\$(dirname "\$(command -v kubectl-${name//-/_})")/kubectl_complete-${name//-/_}"
  platforms:
  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $repo/releases/download/$version/$archive_name
    sha256: $sha256
    bin: $bin
YAML
echo "release.sh: $out/$archive_name (sha256 $sha256, binary $size bytes) and $manifest" >&2
