#!/usr/bin/env bash
# Runs watchrelay's benchmarks and prints their figures:
#   - Receive's hot path beside a bare 204 handler (receive/),
#   - a renew pass over 10,000 due watches against the simulator with 20 ms
#     of latency per call under 100 calls/s (renew/; about 4 minutes).
# Pass a smaller count for a quick look: bench/run.sh 1000
set -euo pipefail
cd "$(dirname "$0")/.."
watches=${1:-10000}
echo "== Receive hot path"
go test ./receive -run '^$' -bench 'Receive|Bare' -benchmem -count 5
echo "== Renew pass over $watches due watches"
go test ./renew -run '^$' -bench 'Pass$' -benchtime 1x -timeout 60m -renew.watches "$watches"
