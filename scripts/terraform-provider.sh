#!/usr/bin/env bash
# Builds the Terraform providers the module uses, hashicorp/google and
# hashicorp/time, from the Go module proxy into a filesystem mirror outside
# the tree, and writes a Terraform CLI config that installs providers from
# that mirror only (no registry, no network). Reused when present. Prints the
# CLI config path on its last line.
set -euo pipefail
cache=${WATCHRELAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/watchrelay}
mirror=$cache/terraform-mirror
rc=$cache/terraformrc
# Terraform names platforms as Go does: GOOS_GOARCH, of the machine that runs
# terraform, so the host's, whatever GOOS/GOARCH a shell exports.
platform=$(go env GOHOSTOS)_$(go env GOHOSTARCH)

# provider NAME VERSION MODULE@MODULE_VERSION [NOTE]: the provider release
# VERSION (what versions.tf constrains), built from that Go module version.
provider() {
  local name=$1 version=$2 module=$3 note=${4:-}
  local dir=$mirror/registry.terraform.io/hashicorp/$name/$version/$platform
  local bin=$dir/terraform-provider-${name}_v$version
  [ -x "$bin" ] && return
  echo "building terraform-provider-$name $version ($module) from the Go module proxy$note" >&2
  mkdir -p "$dir"
  local tmp start
  tmp=$(mktemp -d)
  start=$(date +%s)
  env -u GOOS -u GOARCH GOFLAGS=-mod=mod GOBIN="$tmp" go install "$module"
  mv "$tmp/terraform-provider-$name" "$bin"
  rmdir "$tmp"
  echo "built in $(($(date +%s) - start))s: $bin" >&2
}

provider google 8.0.0 github.com/hashicorp/terraform-provider-google@v1.20.1-0.20260828184646-f3721fb45fa3 "; about 4 minutes cold"
# time_sleep: the wait for IAM before the first function build (iam_wait.tf).
provider time 0.14.2 github.com/hashicorp/terraform-provider-time@v0.14.2 "; about 30 seconds cold"

cat >"$rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/time"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
echo "$rc"
