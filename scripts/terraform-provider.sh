#!/usr/bin/env bash
# Builds the hashicorp/google Terraform provider from the Go module proxy into
# a filesystem mirror outside the tree, and writes a Terraform CLI config that
# installs providers from that mirror only (no registry, no network). Reused
# when present. Prints the CLI config path on its last line.
set -euo pipefail
version=8.0.0
module=github.com/hashicorp/terraform-provider-google
pseudo=v1.20.1-0.20260828184646-f3721fb45fa3
cache=${WATCHRELAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/watchrelay}
mirror=$cache/terraform-mirror
# Terraform names platforms as Go does: GOOS_GOARCH, of the machine that runs
# terraform, so the host's, whatever GOOS/GOARCH a shell exports.
dir=$mirror/registry.terraform.io/hashicorp/google/$version/$(go env GOHOSTOS)_$(go env GOHOSTARCH)
bin=$dir/terraform-provider-google_v$version
rc=$cache/terraformrc
if [ ! -x "$bin" ]; then
  echo "building terraform-provider-google $version ($pseudo) from the Go module proxy; about 4 minutes cold" >&2
  mkdir -p "$dir"
  tmp=$(mktemp -d)
  start=$(date +%s)
  env -u GOOS -u GOARCH GOFLAGS=-mod=mod GOBIN="$tmp" go install "$module@$pseudo"
  mv "$tmp/terraform-provider-google" "$bin"
  rmdir "$tmp"
  echo "built in $(( $(date +%s) - start ))s: $bin" >&2
fi
cat >"$rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/google"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
echo "$rc"
