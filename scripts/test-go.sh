#!/usr/bin/env bash
# Runs go mod tidy -diff (go.mod and go.sum must already be what tidy
# makes: a direct import marked indirect, or a leftover requirement, fails),
# go vet and every Go test. The emulator tests start the Firestore and
# Pub/Sub emulator jars themselves (internal/testing/emulator); under CI=true they
# fail rather than skip when Java or the jars are missing. The output keeps
# one line per test and per package, so skips and emulator runs show.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== go mod tidy -diff"
go mod tidy -diff
echo "== go vet ./..."
go vet ./...
echo "== go test -race ./..."
log=$(mktemp)
status=0
go test -race -count=1 -v -timeout 20m ./... >"$log" 2>&1 || status=$?
grep -E '^(\s*--- (PASS|FAIL|SKIP)|ok |FAIL|panic:|\S+_test\.go:[0-9]+:)' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "== go test failed; the full log follows"
  cat "$log"
fi
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
echo "go: $passed passed, $failed failed, $skipped skipped"
rm -f "$log"
exit "$status"
