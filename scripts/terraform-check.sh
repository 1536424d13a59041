#!/usr/bin/env bash
# The offline Terraform checks of `make test`: the google provider built from
# the Go module proxy into a cache outside the tree (scripts/
# terraform-provider.sh, reused when present), then fmt, init without a
# backend, validate, `terraform test` on mock providers, and tflint with the
# bundled terraform ruleset. Nothing here reaches a registry or Google Cloud.
# The tests pass the source hash as a variable, so no dist/function.zip is
# needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${WATCHRELAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/watchrelay}

step() { echo "== $*"; }

step "provider (scripts/terraform-provider.sh)"
# The machine's own TF_CLI_CONFIG_FILE may name a missing file: ours wins.
TF_CLI_CONFIG_FILE=$(bash scripts/terraform-provider.sh | tail -1)
export TF_CLI_CONFIG_FILE
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

step "terraform fmt -check -recursive terraform"
terraform fmt -check -recursive -diff terraform

step "terraform init -backend=false"
terraform -chdir=terraform init -backend=false -input=false -no-color >/dev/null

step "terraform validate"
terraform -chdir=terraform validate -no-color

step "terraform test"
log=$(mktemp)
status=0
terraform -chdir=terraform test -no-color >"$log" 2>&1 || status=$?
cat "$log"
rm -f "$log"
if [ "$status" -ne 0 ]; then
  echo "terraform test failed" >&2
  exit "$status"
fi

step "tflint (recommended preset)"
tflint=$cache/bin/tflint
if [ ! -x "$tflint" ]; then
  GOBIN=$cache/bin go install github.com/terraform-linters/tflint@v0.64.0
fi
# The terraform ruleset is bundled in tflint: --init is not needed and no
# plugin is downloaded.
"$tflint" --chdir=terraform --config=.tflint.hcl --no-color
echo "terraform: all checks passed"
