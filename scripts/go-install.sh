#!/usr/bin/env bash
# Installs the Go toolchain of the Cloud Builds (cloudbuild.yaml's tests,
# cloudbuild-apply.yaml's smoke test) into DEST/go, default
# /workspace/.tools/go. The archive is checked against the SHA-256 that
# go.dev publishes for it (https://go.dev/dl/?mode=json&include=all) before
# anything is unpacked: a mirror, a proxy or go.dev itself serving other
# bytes stops the build here instead of running them. The version and its
# checksum live together, here only, so neither can change without the
# other; both builds call this script, since a Cloud Build file cannot
# include another's steps.
#
#   scripts/go-install.sh [DEST]
set -euo pipefail

version=1.26.0
sha256=aac1b08a0fb0c4e0a7c1555beb7b59180b05dfc5a3d62e40e9de90cd42f88235 # go1.26.0.linux-amd64.tar.gz

dest=${1:-/workspace/.tools}
archive=go${version}.linux-amd64.tar.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

curl -fsSL -o "$tmp/$archive" "https://go.dev/dl/$archive"
if ! (cd "$tmp" && printf '%s  %s\n' "$sha256" "$archive" | sha256sum --check --strict --quiet -); then
  echo "go-install: $archive does not have go.dev's published SHA-256 $sha256; nothing was unpacked" >&2
  exit 1
fi
mkdir -p "$dest"
tar -C "$dest" -xzf "$tmp/$archive"
"$dest/go/bin/go" version
