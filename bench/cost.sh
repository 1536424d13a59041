#!/usr/bin/env bash
# Prints the cost model's two tables (bench/README.md, "Cost model"): per
# 1,000,000 notifications and per 100,000 renewals, from the counts measured
# by the benchmarks and the list prices, so the arithmetic can be rerun
# with other counts or prices: bash bench/cost.sh sync_reads=1 p_read=0.06
# Every name=value argument overrides one input below; an unknown name or a
# value that is not a number is refused. bench/cost_test.go checks that the
# tables in bench/README.md are what this prints with no argument.
set -euo pipefail

# The inputs, each as bench/README.md gives it. Counts per notification or
# per renewal; times in seconds; prices in USD.
defaults=(
  # Load: notifications a day (the model's day), spread evenly.
  per_day=1000000
  # Receive: measured by BenchmarkReceiveFirestore and BenchmarkReceiveOutage
  # (healthy, median); its size from terraform/variables.tf. recv_writes is
  # the second column's, when Receive still recorded a quiet channel's
  # delivery (at most hourly: one write a notification at this load); now
  # it writes nothing (the third column).
  recv_reads=1 recv_writes=1 recv_s=0.0102 recv_cpu=1 recv_gib=0.25 recv_conc=80
  # Sync, now: BenchmarkIsolated (fs-reads, fs-writes, held-ms-p50); its
  # size from terraform/sync.tf.
  sync_reads=2 sync_writes=2 sync_s=2.029 sync_cpu=1 sync_gib=0.5 sync_conc=80
  # Sync before (main b7a90a3, issue 19): 6 reads, 4 writes, held 2.07 s.
  old_sync_reads=6 old_sync_writes=4 old_sync_s=2.07
  # Sync with the debounce not held: the request's own work, what
  # BenchmarkIsolated held beyond the 2 s debounce, in the push request and
  # again in the read a Cloud Tasks task schedules.
  debounce=2 nohold_requests=2 nohold_tasks=1
  # Pub/Sub per notification: the notification published, delivered to
  # Sync and to the one subscriber; the change published, delivered to the
  # subscriber and, filtered out, to Sync (still a billed delivery).
  ps_ops=6 ps_bytes=1000
  # Renewals: BenchmarkPass and BenchmarkBacklog (reads, writes), before
  # the 6.8 reads; a deployed pass's rate (10 calls/s, 2 a renewal)
  # on Renew's platform CPU for 256M; Receive's read and write of the new
  # channel's sync message, which Receive publishes and Sync is pushed.
  ren_reads=4.005 ren_writes=8.001 old_ren_reads=6.8 ren_rate=5
  ren_cpu=0.167 ren_gib=0.25 ren_recv_reads=1 ren_recv_writes=0.995
  ren_requests=2 ren_ps_ops=6
  # Prices (USD): Firestore per 100,000 documents (us-central1), Cloud Run
  # (request-based billing, tier 1) per million requests, vCPU-second and
  # GiB-second, its rounding of billable time; Pub/Sub per TiB; Cloud Tasks
  # per million operations.
  p_read=0.03 p_write=0.09 p_req=0.40 p_vcpu=0.000024 p_gib=0.0000025
  round_s=0.1 p_tib=40 p_task=0.40
  # Output: 0 leaves the renewal table out.
  renewals=1
)

args=()
for kv in "$@"; do
  name=${kv%%=*}
  value=${kv#*=}
  known=false
  for d in "${defaults[@]}"; do
    [ "${d%%=*}" = "$name" ] && known=true
  done
  if [ "$kv" = "$name" ] || ! $known; then
    echo "cost.sh: unknown input '$kv' (want name=value; names: ${defaults[*]%%=*})" >&2
    exit 2
  fi
  if ! [[ $value =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "cost.sh: $name=$value is not a number" >&2
    exit 2
  fi
  args+=("$kv")
done

vars=()
for kv in "${defaults[@]}" "${args[@]}"; do
  vars+=(-v "$kv")
done

awk "${vars[@]}" '
# n(x): x rounded to a whole number, with thousands separators.
function n(x,   s, out) {
  s = sprintf("%.0f", x)
  out = ""
  while (length(s) > 3) {
    out = "," substr(s, length(s) - 2) out
    s = substr(s, 1, length(s) - 3)
  }
  return s out
}
function usd(x) { return sprintf("$%.2f", x) }
# busy(rate, s, conc): the share of the day one instance is billed, or the
# instances billed at once past one. Request-based billing charges an
# instance while a request is active, its busy spells rounded up to
# round_s (half of it on average); arrivals at random (Poisson) keep it
# busy 1 - exp(-rate (s + round_s/2)) of the time. Past one instance,
# Cloud Run is assumed to pack conc requests on each. At concurrency 1
# every request is billed apart, rounded up to round_s.
function busy(rate, s, conc,   f) {
  if (conc == 1) {
    f = int(s / round_s - 1e-9) + 1
    return rate * f * round_s
  }
  f = 1 - exp(-rate * (s + round_s / 2))
  return (rate * s / conc > f) ? rate * s / conc : f
}
# model(col, rw, sr, sw, ss, sreq, tasks): one column of the notification
# table. rw: Receive writes; sr, sw: Sync reads and writes; ss: Sync
# request time; sreq: Sync requests; tasks: Cloud Tasks operations, all per
# notification.
function model(c, rw, sr, sw, ss, sreq, tasks,   k, day, rate, rb, sb) {
  k = 1000000 / per_day
  day = 86400
  rate = per_day / day
  R[c] = (recv_reads + sr) * 1e6
  W[c] = (rw + sw) * 1e6
  FSD[c] = R[c] / 1e5 * p_read + W[c] / 1e5 * p_write
  REQ[c] = (1 + sreq) * 1e6
  rb = busy(rate, recv_s, recv_conc) * day * k
  sb = busy(rate * sreq, ss, sync_conc) * day * k
  CPU[c] = rb * recv_cpu + sb * sync_cpu
  GIB[c] = rb * recv_gib + sb * sync_gib
  TASK[c] = tasks * 1e6
  CR[c] = REQ[c] / 1e6 * p_req + CPU[c] * p_vcpu + GIB[c] * p_gib + TASK[c] / 1e6 * p_task
  PSB[c] = ps_ops * (ps_bytes > 1000 ? ps_bytes : 1000) * 1e6
  PS[c] = PSB[c] / 2^40 * p_tib
  T[c] = FSD[c] + CR[c] + PS[c]
}
function row(label, a, b, c, d) { printf "| %s | %s | %s | %s | %s |\n", label, a, b, c, d }
BEGIN {
  model(1, 1, old_sync_reads, old_sync_writes, old_sync_s, 1, 0)
  model(2, recv_writes, sync_reads, sync_writes, sync_s, 1, 0)
  model(3, 0, sync_reads, sync_writes, sync_s, 1, 0)
  model(4, 0, sync_reads, sync_writes, sync_s - debounce, nohold_requests, nohold_tasks)
  print "| per 1,000,000 notifications, 1M a day | before (main b7a90a3) | Sync at 4 calls | now: and no Receive write | and the debounce not held |"
  print "|---|---|---|---|---|"
  row("Firestore reads", n(R[1]), n(R[2]), n(R[3]), n(R[4]))
  row("Firestore writes", n(W[1]), n(W[2]), n(W[3]), n(W[4]))
  row("Cloud Run requests", n(REQ[1]), n(REQ[2]), n(REQ[3]), n(REQ[4]))
  row("Cloud Run vCPU-s", n(CPU[1]), n(CPU[2]), n(CPU[3]), n(CPU[4]))
  row("Cloud Run GiB-s", n(GIB[1]), n(GIB[2]), n(GIB[3]), n(GIB[4]))
  row("Cloud Tasks operations", n(TASK[1]), n(TASK[2]), n(TASK[3]), n(TASK[4]))
  row("Pub/Sub bytes", n(PSB[1]), n(PSB[2]), n(PSB[3]), n(PSB[4]))
  row("Firestore", usd(FSD[1]), usd(FSD[2]), usd(FSD[3]), usd(FSD[4]))
  row("Cloud Run (and Cloud Tasks)", usd(CR[1]), usd(CR[2]), usd(CR[3]), usd(CR[4]))
  row("Pub/Sub", usd(PS[1]), usd(PS[2]), usd(PS[3]), usd(PS[4]))
  row("**total**", "**" usd(T[1]) "**", "**" usd(T[2]) "**", "**" usd(T[3]) "**", "**" usd(T[4]) "**")
  row("shares: Firestore / Cloud Run / Pub/Sub", \
    sprintf("%.0f / %.0f / %.0f %%", 100 * FSD[1] / T[1], 100 * CR[1] / T[1], 100 * PS[1] / T[1]), \
    sprintf("%.0f / %.0f / %.0f %%", 100 * FSD[2] / T[2], 100 * CR[2] / T[2], 100 * PS[2] / T[2]), \
    sprintf("%.0f / %.0f / %.0f %%", 100 * FSD[3] / T[3], 100 * CR[3] / T[3], 100 * PS[3] / T[3]), \
    sprintf("%.0f / %.0f / %.0f %%", 100 * FSD[4] / T[4], 100 * CR[4] / T[4], 100 * PS[4] / T[4]))

  # Renewals: the pass runs ren_rate renewals/s on one instance of
  # concurrency 1 (billed its whole run); Receive and Sync serve each new
  # channel sync message, counted here as if nothing else ran.
  if (!renewals) exit
  m = 100000
  secs = m / ren_rate
  for (c = 1; c <= 2; c++) {
    rr[c] = ((c == 1 ? old_ren_reads : ren_reads) + ren_recv_reads) * m
    ww[c] = (ren_writes + ren_recv_writes) * m
    fs[c] = rr[c] / 1e5 * p_read + ww[c] / 1e5 * p_write
    b = busy(ren_rate, recv_s, recv_conc) * secs
    cpu[c] = secs * ren_cpu + b * (recv_cpu + sync_cpu)
    gib[c] = secs * ren_gib + b * (recv_gib + sync_gib)
    rq[c] = ren_requests * m
    cr[c] = rq[c] / 1e6 * p_req + cpu[c] * p_vcpu + gib[c] * p_gib
    psb[c] = ren_ps_ops * (ps_bytes > 1000 ? ps_bytes : 1000) * m
    ps[c] = psb[c] / 2^40 * p_tib
    t[c] = fs[c] + cr[c] + ps[c]
  }
  print ""
  print "| per 100,000 renewals | before (main b7a90a3) | now |"
  print "|---|---|---|"
  printf "| Firestore reads (Renew and Receive) | %s | %s |\n", n(rr[1]), n(rr[2])
  printf "| Firestore writes | %s | %s |\n", n(ww[1]), n(ww[2])
  printf "| Cloud Run requests (Receive and Sync; passes apart) | %s | %s |\n", n(rq[1]), n(rq[2])
  printf "| Cloud Run vCPU-s | %s | %s |\n", n(cpu[1]), n(cpu[2])
  printf "| Cloud Run GiB-s | %s | %s |\n", n(gib[1]), n(gib[2])
  printf "| Pub/Sub bytes | %s | %s |\n", n(psb[1]), n(psb[2])
  printf "| Firestore | %s | %s |\n", usd(fs[1]), usd(fs[2])
  printf "| Cloud Run | %s | %s |\n", usd(cr[1]), usd(cr[2])
  printf "| Pub/Sub | %s | %s |\n", usd(ps[1]), usd(ps[2])
  printf "| **total** | **%s** | **%s** |\n", usd(t[1]), usd(t[2])
}'
