# shellcheck shell=bash disable=SC2154
# Sourced by scripts/smoke.sh, whose variables (project, work, urls,
# timeout, poll, roles_fix, SMOKE_*) and functions (gc, ok, fail, now,
# first_line) it uses: the whole path of a notification, on a channel made
# for the run. It sets the EXIT trap that deletes what it made.

# --- The whole path: a temporary channel, a notification, its event, Sync ---

# A channel made for this run alone, on a watch no record has: Receive
# knows its token and answers 200 with its event published; a temporary
# subscription of the topic, filtered to the watch, pulls that event; Sync,
# pushed the same event by Pub/Sub (OIDC, ingress, its grant), finds no such
# watch and logs "sync skipped". Its ids begin "smoke-", which the strays,
# sync-failure and resync metrics leave out (terraform/monitoring.tf), so no
# alert fires because of a run. The exit trap deletes the channel's record
# and the subscription, also when a check fails half way.
suffix=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
channel=smoke-$suffix
channel_token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
subscription=$SMOKE_TOPIC-smoke-$suffix
firestore_doc="https://firestore.googleapis.com/v1/projects/$project/databases/$SMOKE_DATABASE/documents/channels/$channel"
made_channel="" made_subscription=""
cleanup() {
  if [ -n "$made_subscription" ]; then
    if gc pubsub subscriptions delete "$subscription"; then
      echo "smoke: deleted subscription $subscription"
    else
      echo "smoke: could not delete subscription $subscription ($(first_line "$work/err")); it expires after a day unused" >&2
    fi
  fi
  if [ -n "$made_channel" ]; then
    local code=000
    # The access token goes in a header file, not on a command line.
    if gc auth print-access-token; then
      printf 'Authorization: Bearer %s\n' "$(cat "$work/out")" >"$work/auth"
      code=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 30 -X DELETE -H @"$work/auth" "$firestore_doc" 2>"$work/err") || code=000
    fi
    case "$code" in
      200) echo "smoke: deleted channel $channel" ;;
      *) echo "smoke: could not delete channel $channel ($code; it expires within the hour): curl -X DELETE -H \"Authorization: Bearer \$(gcloud auth print-access-token)\" '$firestore_doc'" >&2 ;;
    esac
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Interrupted (Ctrl-C, a build's timeout): exit, so that the trap runs.
trap 'exit 130' INT TERM

# watchrelay runs the CLI: the one on PATH, or this checkout's through go.
watchrelay() {
  if command -v watchrelay >/dev/null; then
    command watchrelay "$@"
  else
    (cd "$root" && go run ./cmd/watchrelay "$@")
  fi
}

later=$(($(now) + 3600))
expiration=$(date -u -d "@$later" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$later" +%Y-%m-%dT%H:%M:%SZ)
if ! gc pubsub subscriptions create "$subscription" --topic="$SMOKE_TOPIC" \
  --message-filter="attributes.watch_id = \"$channel\"" --expiration-period=1d --ack-deadline=10; then
  fail "cannot make the subscription $subscription of $SMOKE_TOPIC: $(first_line "$work/err")" "$roles_fix (roles/pubsub.admin makes and deletes subscriptions)"
else
  made_subscription=1
fi
made_channel=1 # an import that failed half way may have written it
if ! GOOGLE_CLOUD_PROJECT=$project WATCHRELAY_DATABASE=$SMOKE_DATABASE WATCHRELAY_TOPIC=$SMOKE_TOPIC \
  watchrelay channel import --id "$channel" --token - --resource-id "$channel" --kind calendar.events \
  --expiration "$expiration" --watch "$channel" <<<"$channel_token" >"$work/out" 2>"$work/err"; then
  fail "cannot import the channel $channel: $(first_line "$work/err")" \
    "the watchrelay CLI (on PATH, or go to run this checkout's) writes to database $SMOKE_DATABASE with this machine's credentials: $roles_fix (roles/datastore.owner)"
  import_failed=1
fi

# post URL: a notification of the temporary channel, as Google sends it;
# sets code (000 when curl got no answer) and leaves the body in
# $work/body, curl's error in $work/err.
message=1
post() {
  message=$((message + 1))
  code=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 30 -X POST \
    -H "X-Goog-Channel-ID: $channel" \
    -H "X-Goog-Channel-Token: $channel_token" \
    -H "X-Goog-Message-Number: $message" \
    -H "X-Goog-Resource-ID: $channel" \
    -H 'X-Goog-Resource-State: exists' \
    -H "X-Goog-Resource-URI: https://www.googleapis.com/calendar/v3/calendars/$channel/events" \
    -H 'Content-Type:' --data-binary '' "$1" 2>"$work/err") || code=000
  [ -n "$code" ] || code=000
  touch "$work/body"
}

published=""
for url in $urls; do
  [ -z "${import_failed:-}" ] || break
  deadline=$(($(now) + timeout))
  while :; do
    post "$url"
    case "$code" in
      000 | 5*) [ "$(now)" -lt "$deadline" ] || break ;;
      *) break ;;
    esac
    sleep "$poll"
  done
  case "$code" in
    200)
      ok "Receive at $url answered a notification of channel $channel 200 (published)"
      published=1
      ;;
    204)
      fail "Receive at $url answered 204: it does not know channel $channel, which was just imported" \
        "Receive reads database $SMOKE_DATABASE: its WATCHRELAY_DATABASE must name it (terraform apply)"
      ;;
    403)
      if grep -q '^receive: ' "$work/body"; then
        fail "Receive at $url refused the channel's own token (403: $(first_line "$work/body"))" \
          "the deployed code checks tokens otherwise than this checkout: scripts/package.sh, then terraform apply"
      else
        fail "Receive at $url: Cloud Run refused the call (403) before Receive saw it: Receive is not public" \
          "public_receive = true (the default) lets anyone invoke it, as Google's push needs;" \
          "under domain-restricted sharing keep public_receive = false and run: eval \"\$(terraform -chdir=examples/quickstart output -raw receive_public_command)\""
      fi
      ;;
    401)
      fail "Receive at $url: Cloud Run asked for credentials (401): Receive is not public" \
        "public_receive = true (the default), or with public_receive = false: eval \"\$(terraform -chdir=examples/quickstart output -raw receive_public_command)\""
      ;;
    400)
      fail "Receive at $url refused the notification as malformed (400: $(first_line "$work/body"))" \
        "the deployed code parses notifications otherwise than this checkout: scripts/package.sh, then terraform apply"
      ;;
    404)
      fail "nothing answers at $url (404)" \
        "terraform apply (in examples/quickstart/); receive_url and the receive_domain output say where Receive is"
      ;;
    5*)
      fail "Receive at $url answered $code for ${timeout}s: it cannot reach Firestore or Pub/Sub" \
        "read why: gcloud logging read 'resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$SMOKE_RECEIVE\" AND severity>=ERROR' --project=$project --limit=5 --freshness=1h" \
        "right after a first apply its grants (roles/datastore.user, roles/pubsub.publisher) may still be propagating: run this again in a few minutes;" \
        "else database $SMOKE_DATABASE and topic $SMOKE_TOPIC must exist and match the function's WATCHRELAY_DATABASE and WATCHRELAY_TOPIC (terraform apply)"
      ;;
    000)
      if [ -n "$SMOKE_CERTIFICATE" ] && [ "$url" = "${SMOKE_RECEIVE_URLS##* }" ]; then
        fail "no answer from $url for ${timeout}s: $(first_line "$work/err")" \
          "a new load balancer takes a few minutes to serve once its certificate is ACTIVE; the domain's A record must be the receive_domain output's ip_address"
      else
        fail "no answer from $url for ${timeout}s: $(first_line "$work/err")" \
          "this machine must reach $url over HTTPS; terraform output receive_url says where Receive is"
      fi
      ;;
    *)
      fail "Receive at $url answered $code to a notification of its channel ($(first_line "$work/body")); it should answer 200" \
        "scripts/package.sh, then terraform apply, deploys this checkout's Receive"
      ;;
  esac
done

sync_logs="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$SMOKE_SYNC\""
if [ -n "$published" ] && [ -n "$made_subscription" ]; then
  deadline=$(($(now) + timeout))
  arrived="" pull_error=""
  while :; do
    if ! gc pubsub subscriptions pull "$subscription" --auto-ack --limit=10 --format='value(message.attributes.watch_id)'; then
      pull_error=$(first_line "$work/err")
    elif grep -qx "$channel" "$work/out"; then
      arrived=1
      break
    fi
    [ "$(now)" -lt "$deadline" ] || break
    sleep "$poll"
  done
  if [ -n "$arrived" ]; then
    ok "the notification's event reached topic $SMOKE_TOPIC"
  else
    fail "the notification's event did not reach $subscription in ${timeout}s${pull_error:+ ($pull_error)}" \
      "Receive answered 200, so it published: read gcloud logging read '$sync_logs' and Receive's errors; topic $SMOKE_TOPIC must be its WATCHRELAY_TOPIC (terraform apply)"
  fi
fi
if [ -n "$published" ]; then
  log_until "$sync_logs AND jsonPayload.message=\"sync skipped\" AND jsonPayload.watch=\"$channel\"" 'value(jsonPayload.reason)'
  turn=$log_line
  if [ -n "$turn" ]; then
    ok "Sync took the event's turn through its push subscription ($turn)"
  elif [ -n "$log_error" ]; then
    fail "cannot read Sync's log: $log_error" "$roles_fix (roles/logging.viewer reads logs)"
  else
    fail "Sync logged no turn for watch $channel in ${timeout}s: Pub/Sub's push did not reach it" \
      "the push subscription's account needs roles/run.invoker on Sync and the Pub/Sub service agent roles/iam.serviceAccountTokenCreator on it (terraform apply);" \
      "read: gcloud logging read '$sync_logs' --project=$project --limit=5 --freshness=1h; gcloud pubsub subscriptions describe on the push subscription"
  fi
fi
