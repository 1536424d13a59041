#!/usr/bin/env bash
# Lints what review would otherwise catch by eye: staticcheck on the Go code
# (pinned, from the Go module proxy, so every machine runs the same checks)
# and shellcheck on the shell scripts (Debian's package, installed when
# missing). `go vet` and `go mod tidy -diff` run with the tests
# (scripts/test-go.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2
echo "== staticcheck ./... ($staticcheck)"
go run "$staticcheck" ./...
if ! command -v shellcheck >/dev/null; then
  echo "== installing shellcheck (Debian)"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq shellcheck >/dev/null; }
fi
echo "== shellcheck scripts/ bench/ .ci/run"
shellcheck scripts/*.sh bench/*.sh .ci/run
echo "lint: clean"
