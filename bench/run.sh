#!/usr/bin/env bash
# Runs watchrelay's benchmarks and prints their figures (bench/README.md says
# what each measures and keeps a table of them):
#   - Receive's hot path beside a bare 204 handler (receive/),
#   - Receive on the emulators behind fault proxies: healthy, with
#     Firestore or Pub/Sub refusing or hanging, and past its in-flight
#     bound (receive/; about a minute),
#   - a renew pass over 10,000 due watches against the simulator with 20 ms
#     of latency per call under 100 calls/s, on the memory store (first:
#     it needs no Java) and on Firestore (the emulator, started by the
#     benchmark; its RPCs and documents counted) (renew/; about 4 minutes
#     each at 10,000),
#   - Sync's cost of one notification storm: 200 notifications in 2 s, 50
#     of them edits, on the Firestore emulator and the simulator (changes/;
#     about 5 s per storm), and of one isolated notification (about 2.5 s
#     each),
#   - a first cursor of a 50,000-event calendar read at 2 s a page under
#     Renew's 30 s budget, and its re-baseline under Sync's 10 s (changes/;
#     about 90 s).
# Pass a smaller count for a quick look: bash bench/run.sh 1000
set -euo pipefail
cd "$(dirname "$0")/.."
watches=${1:-10000}
echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(getconf _NPROCESSORS_ONLN) cores, $(go version | cut -d' ' -f3-), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "== The deployed function's binary"
bash bench/size.sh
echo "== Receive hot path"
go test ./receive -run '^$' -bench 'Receive$|ReceiveWithoutPubsub|Bare' -benchmem -count 5
echo "== Receive under outages, on the emulators (started by the benchmark)"
# CI=true: fail, rather than skip, if the emulators cannot start.
CI=true go test ./receive -run '^$' -bench 'ReceiveOutage' -count 3
echo "== Renew pass over $watches due watches, memory store"
go test ./renew -run '^$' -bench 'Pass$' -benchtime 1x -timeout 60m \
	-renew.watches "$watches" -renew.store memory
echo "== Renew pass over $watches due watches, Firestore emulator"
# CI=true: fail, rather than skip, if the emulator cannot start.
CI=true go test ./renew -run '^$' -bench 'Pass$' -benchtime 1x -timeout 60m \
	-renew.watches "$watches" -renew.store firestore
echo "== Sync: one notification storm, Firestore emulator"
CI=true go test ./changes -run '^$' -bench 'Storm' -benchtime 5x
echo "== Sync: one isolated notification, Firestore emulator"
CI=true go test ./changes -run '^$' -bench 'Isolated' -benchtime 10x
echo "== Sync: the first cursor of a calendar longer than its budgets"
go test ./changes -run '^$' -bench Baseline -benchtime 1x -timeout 30m
