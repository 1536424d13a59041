#!/usr/bin/env bash
# Proves a deployment works, right after `terraform apply`:
#
#   scripts/smoke.sh              # reads `terraform -chdir=examples/quickstart output -raw smoke_env`
#   scripts/smoke.sh smoke.env    # or a file that output was written to (cloudbuild-apply.yaml)
#
# It checks that the three functions are ACTIVE; then the whole path of a
# notification, on a channel made for the run: it imports a channel with a
# random token (`watchrelay channel import`, the CLI on PATH or this
# checkout's through go), posts a valid notification of it to Receive at its
# own URL and at the custom domain's, whose certificate must be ACTIVE
# (200: Receive read Firestore and published), pulls its event from a
# temporary subscription of the topic filtered to it, and reads Sync's log
# line for it ("sync skipped": Pub/Sub pushed it to Sync with the push
# account's token through Sync's ingress); that Sync refuses an
# unauthenticated push (401 or 403, or 404 where its ingress admits
# internal traffic only); that the scheduler job runs Renew and Renew's pass
# logs its summary; that the topic exists; that the composite indexes are
# READY; that the TTL policy on channels.deleteAt is ACTIVE. On the way
# out, also after a failure half way (the EXIT trap), it deletes the channel's
# record and the subscription. Every failure is printed with its fix; it
# exits 1 if any check failed, 2 if it could not start. What settles after
# an apply (IAM grants, logs, a new load balancer) is retried for
# SMOKE_TIMEOUT seconds (default 300), every SMOKE_POLL seconds (default 10).
#
# It needs gcloud, curl and the watchrelay CLI (or go), and the roles of
# terraform/roles.tf (logging.viewer to read the logs, pubsub.admin for the
# subscription, datastore.owner for the channel). The channel and its watch
# are named smoke-<random>: no watch of that id exists, so Sync reads
# nothing, and terraform/monitoring.tf leaves ids of that prefix out of the
# strays, sync-failure and resync metrics, so no alert fires because of a
# run. The push sent to Sync unauthenticated is a watchrelay.watch.started.v1
# event, which Sync would acknowledge (204) without doing anything, were it
# public.
set -uo pipefail

timeout=${SMOKE_TIMEOUT:-300}
poll=${SMOKE_POLL:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() {
  echo "ok    $1"
  passed=$((passed + 1))
}
# fail WHAT FIX...: one line for what is wrong, then one per line of fix.
fail() {
  echo "FAIL  $1"
  shift
  local first=1 line
  for line in "$@"; do
    if [ "$first" = 1 ]; then echo "      fix: $line"; else echo "           $line"; fi
    first=0
  done
  failed=$((failed + 1))
}
die() {
  echo "smoke: $*" >&2
  exit 2
}
# The first line of a file, for quoting an error.
first_line() { head -n 1 "$1" | cut -c1-300; }
now() { date +%s; }
# An RFC 3339 UTC time N seconds ago, on GNU or BSD date.
ago() {
  local t=$(($(now) - $1))
  date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$t" +%Y-%m-%dT%H:%M:%SZ
}

# --- What to check: the smoke_env output, KEY=value or KEY='value' lines ----

if [ $# -ge 1 ]; then
  env_text=$(cat "$1") || die "cannot read $1"
else
  env_text=$(terraform -chdir="$root/examples/quickstart" output -raw smoke_env 2>"$work/tf.err") ||
    die "no smoke_env output ($(first_line "$work/tf.err")): run terraform apply in examples/quickstart/ first, or pass the file \`terraform output -raw smoke_env\` was written to"
fi
while IFS= read -r line; do
  case "$line" in
    SMOKE_[A-Z_]*=*)
      key=${line%%=*}
      value=${line#*=}
      value=${value#\'}
      value=${value%\'}
      printf -v "$key" '%s' "$value"
      ;;
  esac
done <<<"$env_text"
for key in SMOKE_PROJECT SMOKE_REGION SMOKE_RECEIVE SMOKE_RENEW SMOKE_SYNC SMOKE_SYNC_URL SMOKE_SYNC_INGRESS SMOKE_RECEIVE_URLS SMOKE_JOB SMOKE_TOPIC SMOKE_DATABASE SMOKE_INDEXES; do
  [ -n "${!key:-}" ] || die "$key is missing from smoke_env: apply this checkout's examples/quickstart/ first"
done
SMOKE_CERTIFICATE=${SMOKE_CERTIFICATE:-}
project=$SMOKE_PROJECT
region=$SMOKE_REGION
echo "smoke: watchrelay in $project ($region)"

# gc ARGS...: gcloud in the deployment's project; stdout to $work/out,
# stderr to $work/err.
gc() { gcloud "$@" --project="$project" --quiet >"$work/out" 2>"$work/err"; }
# log_until FILTER FORMAT [STOP_FILTER STOP_FORMAT]: reads Cloud Logging
# every $poll seconds, for at most $timeout, until FILTER has an entry (its
# FORMAT in $log_line), STOP_FILTER has one ($log_stop), or a read fails
# ($log_error).
log_until() {
  local deadline=$(($(now) + timeout))
  log_line="" log_stop="" log_error=""
  while :; do
    if ! gc logging read "$1" --limit=1 --format="$2"; then
      log_error=$(first_line "$work/err")
      return 0
    fi
    log_line=$(cat "$work/out")
    [ -z "$log_line" ] || return 0
    if [ -n "${3:-}" ] && gc logging read "$3" --limit=1 --format="$4"; then
      log_stop=$(cat "$work/out")
      [ -z "$log_stop" ] || return 0
    fi
    [ "$(now)" -lt "$deadline" ] || return 0
    sleep "$poll"
  done
}
# The fix for a gcloud call that failed on access rather than on the thing.
denied() { grep -qE 'PERMISSION_DENIED|does not have permission|status=\[403\]' "$work/err"; }
roles_fix="the account running this needs the roles of terraform/roles.tf (terraform output deployer_roles; docs/deploy.md)"

# --- The functions ACTIVE -----------------------------------------------------

for fn in "$SMOKE_RECEIVE" "$SMOKE_RENEW" "$SMOKE_SYNC"; do
  if ! gc functions describe "$fn" --v2 --region="$region" --format='value(state)'; then
    if denied; then
      fail "function $fn: $(first_line "$work/err")" "$roles_fix"
    else
      fail "function $fn: $(first_line "$work/err")" "terraform apply (in examples/quickstart/) creates it"
    fi
    continue
  fi
  state=$(cat "$work/out")
  case "$state" in
    ACTIVE) ok "function $fn is ACTIVE" ;;
    *)
      fail "function $fn is ${state:-in no state}" \
        "read why: gcloud functions describe $fn --v2 --region=$region --project=$project --format='value(stateMessages)'" \
        "a first build refused access to gcf-v2-sources-* or the image repository had grants not yet in force: raise iam_propagation_wait, then terraform apply again"
      ;;
  esac
done

# --- The custom domain's certificate ------------------------------------------

urls=$SMOKE_RECEIVE_URLS
if [ -n "$SMOKE_CERTIFICATE" ]; then
  domain_url=${SMOKE_RECEIVE_URLS##* }
  domain=${domain_url#https://}
  if ! gc compute ssl-certificates describe "$SMOKE_CERTIFICATE" --global --format='value(managed.status)'; then
    fail "certificate $SMOKE_CERTIFICATE: $(first_line "$work/err")" "terraform apply (in examples/quickstart/) creates it with receive_domain"
  elif [ "$(cat "$work/out")" = ACTIVE ]; then
    ok "certificate $SMOKE_CERTIFICATE for $domain is ACTIVE"
  else
    fail "certificate $SMOKE_CERTIFICATE for $domain is $(cat "$work/out"), so $domain_url cannot answer yet" \
      "point an A record of $domain at the address in \`terraform output receive_domain\` (ip_address); Google provisions the certificate once it resolves, within an hour" \
      "then: gcloud compute ssl-certificates describe $SMOKE_CERTIFICATE --global --project=$project --format='value(managed.domainStatus)' says ACTIVE"
    urls=${SMOKE_RECEIVE_URLS% *} # skip the domain until then
  fi
fi

# shellcheck source=scripts/smoke-path.sh
. "$root/scripts/smoke-path.sh"

# --- Sync is private: Cloud Run refuses an unauthenticated push -------------

# A push envelope as Pub/Sub sends it, of an event that is no notification:
# were Sync public, it would answer 204 and do nothing.
sync_push='{"message":{"attributes":{"ce-type":"watchrelay.watch.started.v1"},"data":"e30=","messageId":"smoke"},"subscription":"smoke"}'
sync_invokers="gcloud run services get-iam-policy $SMOKE_SYNC --region=$region --project=$project"
deadline=$(($(now) + timeout))
while :; do
  code=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 30 -X POST \
    -H 'Content-Type: application/json' --data-binary "$sync_push" "$SMOKE_SYNC_URL" 2>"$work/err") || code=000
  [ -n "$code" ] || code=000
  touch "$work/body"
  case "$code" in
    000 | 5*) [ "$(now)" -lt "$deadline" ] || break ;;
    *) break ;;
  esac
  sleep "$poll"
done
# Sync's own answers begin with "sync: " (or are empty: 204); Cloud Run's
# refusals are its HTML pages.
case "$code" in
  401 | 403)
    if grep -q '^sync: ' "$work/body"; then
      fail "Sync at $SMOKE_SYNC_URL answered an unauthenticated push itself ($code: $(first_line "$work/body")): Sync is public" \
        "only the push account may invoke it: remove every other roles/run.invoker member ($sync_invokers), then terraform apply"
    else
      ok "Sync at $SMOKE_SYNC_URL refused an unauthenticated push ($code): only the push account may invoke it"
    fi
    ;;
  404)
    if [ "$SMOKE_SYNC_INGRESS" != ALLOW_ALL ]; then
      ok "Sync at $SMOKE_SYNC_URL refused a push from outside (404, ingress $SMOKE_SYNC_INGRESS): only Pub/Sub's push reaches it"
    else
      fail "nothing answers at $SMOKE_SYNC_URL (404)" \
        "terraform apply (in examples/quickstart/); the sync_url output says where Sync is"
    fi
    ;;
  2* | 400 | 405)
    fail "Sync at $SMOKE_SYNC_URL answered an unauthenticated push $code: Sync is public, anyone may make it fetch and publish" \
      "only the push account may invoke it: remove every other roles/run.invoker member ($sync_invokers), then terraform apply;" \
      "the invoker IAM check must be on: gcloud run services update $SMOKE_SYNC --invoker-iam-check --region=$region --project=$project"
    ;;
  5*)
    if grep -q '^sync: ' "$work/body"; then
      fail "Sync at $SMOKE_SYNC_URL answered an unauthenticated push $code ($(first_line "$work/body")): Sync is public, and failing" \
        "only the push account may invoke it: remove every other roles/run.invoker member ($sync_invokers), then terraform apply;" \
        "read why it fails: gcloud logging read '$sync_logs AND severity>=ERROR' --project=$project --limit=5 --freshness=1h"
    else
      fail "Sync at $SMOKE_SYNC_URL answered $code for ${timeout}s, where Cloud Run should refuse an unauthenticated push" \
        "read why: gcloud logging read '$sync_logs AND severity>=ERROR' --project=$project --limit=5 --freshness=1h;" \
        "gcloud functions describe $SMOKE_SYNC --v2 --region=$region --project=$project says whether it is serving"
    fi
    ;;
  000)
    fail "no answer from $SMOKE_SYNC_URL for ${timeout}s: $(first_line "$work/err")" \
      "this machine must reach $SMOKE_SYNC_URL over HTTPS (Cloud Run answers a refusal even where ingress is internal); terraform output sync_url says where Sync is"
    ;;
  *)
    fail "Sync at $SMOKE_SYNC_URL answered $code to an unauthenticated push ($(first_line "$work/body")); Cloud Run should refuse it with 401 or 403" \
      "only the push account may invoke it: $sync_invokers lists who may; terraform apply restores that"
    ;;
esac

# --- The scheduler job runs Renew, whose pass logs its summary ---------------

renew_log="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$SMOKE_RENEW\""
# A minute of slack for this machine's clock: a scheduled pass that close
# proves the same.
since=$(ago 60)
if ! gc scheduler jobs run "$SMOKE_JOB" --location="$region"; then
  if denied; then
    fail "cannot run the scheduler job $SMOKE_JOB: $(first_line "$work/err")" "$roles_fix"
  else
    fail "cannot run the scheduler job $SMOKE_JOB: $(first_line "$work/err")" "terraform apply (in examples/quickstart/) creates it"
  fi
else
  log_until "$renew_log AND jsonPayload.message=\"renew pass done\" AND timestamp>=\"$since\"" 'value(jsonPayload.summary)' \
    "$renew_log AND jsonPayload.message=\"renew pass could not run\" AND timestamp>=\"$since\"" 'value(jsonPayload.error)'
  summary=$log_line pass_error=$log_stop
  if [ -n "$summary" ]; then
    ok "the job $SMOKE_JOB ran Renew; its pass: $summary"
  elif [ -n "$log_error" ]; then
    fail "cannot read Renew's log: $log_error" "$roles_fix (roles/logging.viewer reads logs)"
  elif [ -n "$pass_error" ]; then
    fail "Renew ran but its pass could not run: $pass_error" \
      "right after a first apply Renew's Firestore grant may still be propagating: run this again in a few minutes;" \
      "else read: gcloud logging read '$renew_log AND severity>=ERROR' --project=$project --limit=5 --freshness=1h"
  else
    status=""
    if gc scheduler jobs describe "$SMOKE_JOB" --location="$region" --format='value(status.code,status.message)'; then
      status=$(cat "$work/out")
    fi
    code=${status%%[!0-9]*}
    message=${status#"$code"}
    message=${message#"${message%%[![:space:]]*}"}
    case "${code:-0}" in
      7 | 16)
        fail "Cloud Scheduler could not invoke Renew (status $code${message:+: $message})" \
          "the scheduler account needs roles/run.invoker on Renew, which terraform apply grants; a new grant can take minutes: run this again" \
          "the job's OIDC audience must be Renew's URL (terraform apply)"
        ;;
      5)
        fail "Renew's URL answered the scheduler 404 (status 5${message:+: $message})" "terraform apply points the job at Renew's URL"
        ;;
      4)
        fail "Renew did not answer the scheduler within its attempt deadline (status 4)" \
          "a pass longer than renew_timeout_seconds: raise it (renew_attempt_deadline follows), or lower renew_qps' load"
        ;;
      0)
        fail "no pass of Renew logged its summary for ${timeout}s after the job ran" \
          "logs can lag: read gcloud logging read '$renew_log' --project=$project --limit=5 --freshness=1h;" \
          "gcloud scheduler jobs describe $SMOKE_JOB --location=$region --project=$project says when the job last ran and how it ended"
        ;;
      *)
        fail "the job $SMOKE_JOB failed (status $code${message:+: $message})" \
          "read Renew's errors: gcloud logging read '$renew_log AND severity>=ERROR' --project=$project --limit=5 --freshness=1h"
        ;;
    esac
  fi
fi

# --- The topic ---------------------------------------------------------------

if gc pubsub topics describe "$SMOKE_TOPIC" --format='value(name)' && [ -s "$work/out" ]; then
  ok "topic $SMOKE_TOPIC exists"
elif denied; then
  fail "topic $SMOKE_TOPIC: $(first_line "$work/err")" "$roles_fix"
else
  fail "topic $SMOKE_TOPIC does not exist: $(first_line "$work/err")" "terraform apply (in examples/quickstart/) creates it (topic_name)"
fi

# --- The composite indexes and the TTL policy ----------------------------------

if ! gc firestore indexes composite list --database="$SMOKE_DATABASE" --format='value(name,state)'; then
  fail "cannot list the composite indexes of database $SMOKE_DATABASE: $(first_line "$work/err")" \
    "$roles_fix; the database must exist (terraform output database)"
else
  ours=$(grep -E '/collectionGroups/(watches|channels)/' "$work/out")
  total=$(grep -c . <<<"$ours")
  ready=$(grep -c 'READY' <<<"$ours")
  if [ "$ready" -ge "$SMOKE_INDEXES" ]; then
    ok "$ready composite indexes of watches/ and channels/ are READY"
  elif [ "$total" -ge "$SMOKE_INDEXES" ]; then
    fail "only $ready of $SMOKE_INDEXES composite indexes are READY (the rest: $(grep -v READY <<<"$ours" | awk '{print $NF}' | sort -u | paste -sd, -))" \
      "new indexes build for minutes, and Renew's queries fail until they are READY: run this again later;" \
      "an index in NEEDS_REPAIR: delete it (gcloud firestore indexes composite delete) and terraform apply"
  else
    fail "$total of the $SMOKE_INDEXES composite indexes of terraform/indexes.json exist in database $SMOKE_DATABASE" \
      "terraform apply (in examples/quickstart/) creates them"
  fi
fi

if ! gc firestore fields ttls list --database="$SMOKE_DATABASE" --format='value(name,ttlConfig.state)'; then
  fail "cannot list the TTL policies of database $SMOKE_DATABASE: $(first_line "$work/err")" "$roles_fix"
else
  ttl=$(grep -E '/collectionGroups/channels/fields/deleteAt[[:space:]]' "$work/out" | awk '{print $NF}')
  case "$ttl" in
    ACTIVE) ok "the TTL policy on channels.deleteAt is ACTIVE" ;;
    CREATING)
      fail "the TTL policy on channels.deleteAt is still CREATING: retired channels are not deleted yet" \
        "Firestore takes minutes to hours over a new policy: run this again later"
      ;;
    NEEDS_REPAIR)
      fail "the TTL policy on channels.deleteAt NEEDS_REPAIR" \
        "gcloud firestore fields ttls update deleteAt --collection-group=channels --enable-ttl --database='$SMOKE_DATABASE' --project=$project"
      ;;
    *)
      fail "no TTL policy on channels.deleteAt in database $SMOKE_DATABASE" "terraform apply (in examples/quickstart/) sets it"
      ;;
  esac
fi

echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
