#!/usr/bin/env bash
# Prints the size of the binary Cloud Functions would build from this
# package: a main that blank-imports the repository root and calls
# functions-framework-go's funcframework.Start, as the Go runtime's
# generated main does. It builds in a throwaway module (replace → this
# checkout), so go.mod needs no entry for funcframework's own imports, and
# lists any simulator, pstest or emulator package the function links.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/main.go" <<'GO'
package main

import (
	"log"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/watchrelay/watchrelay"
)

func main() {
	if err := funcframework.Start("8080"); err != nil {
		log.Fatal(err)
	}
}
GO
cd "$tmp"
go mod init wrapsize >/dev/null 2>&1
go mod edit -require=github.com/watchrelay/watchrelay@v0.0.0 -replace=github.com/watchrelay/watchrelay="$root"
cp "$root/go.sum" .
GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1
GOFLAGS=-mod=mod go build -o "$tmp/fn" .
bytes=$(stat -c %s "$tmp/fn")
echo "function binary: $bytes bytes ($(awk "BEGIN{printf \"%.1f\", $bytes/1048576}") MiB)"
fakes=$(go list -deps . | grep -E 'googlesim|/inproc|pstest|/emulator' || true)
echo "fakes linked: ${fakes:-none}"
