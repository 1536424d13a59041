package scripts

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The whole path: a temporary channel, a notification of it posted to
// Receive, its event pulled from a temporary subscription, Sync's turn for
// it in Sync's log; and whatever happens, the channel and the subscription
// deleted on the way out.
func TestSmokePath(t *testing.T) {
	t.Parallel()
	runCases(t, []smokeCase{{
		// Every step in order: a subscription filtered to the channel's
		// watch, the import with the token on stdin, the post with that
		// token, the pull, Sync's log, then both deleted.
		name: "whole path", env: smokeEnv, rules: healthy(),
		want: []string{
			"ok    Receive at " + runURL + " answered a notification of channel smoke-",
			"ok    the notification's event reached topic watchrelay-events",
			"ok    Sync took the event's turn through its push subscription (no such watch)",
			"smoke: 11 passed, 0 failed",
		},
		calls: func(t *testing.T, calls []string) {
			id := cleanedUp(t, calls)
			order(t, calls, "gcloud pubsub subscriptions create", "watchrelay channel import", "X-Goog-Channel-ID: "+id,
				"gcloud pubsub subscriptions pull", `jsonPayload.message="sync skipped" AND jsonPayload.watch="`+id+`"`,
				"gcloud pubsub subscriptions delete", "-X DELETE")
			if c := find(calls, "gcloud pubsub subscriptions create"); !strings.Contains(c, `--message-filter=attributes.watch_id = "`+id+`"`) || !strings.Contains(c, "--topic=watchrelay-events") {
				t.Errorf("the subscription is not of the topic, filtered to the watch %s: %s", id, c)
			}
			imp := find(calls, "watchrelay channel import")
			for _, f := range []string{"--id " + id, "--token -", "--resource-id " + id, "--kind calendar.events", "--watch " + id, "--expiration 20"} {
				if !strings.Contains(imp, f) {
					t.Errorf("the import lacks %q: %s", f, imp)
				}
			}
			// The token reaches the CLI on stdin, never on its command
			// line, and it is the one posted to Receive.
			post := find(calls, "curl -sS -o")
			token := post[strings.Index(post, "X-Goog-Channel-Token: ")+len("X-Goog-Channel-Token: "):]
			token = token[:strings.Index(token, " ")]
			if len(token) < 32 || strings.Contains(imp, token) {
				t.Errorf("the channel's token %q is short, or on the import's command line: %s", token, imp)
			}
			if c := find(calls, "stdin of watchrelay: "); c != "stdin of watchrelay: "+token {
				t.Errorf("the CLI read %q on stdin, want the token %q", c, token)
			}
			// The access token of the delete is in a header file.
			if n := count(calls, "ya29."); n != 0 {
				t.Errorf("the access token is on %d command lines", n)
			}
		},
	}, {
		// A 503 while grants propagate, then 200: retried.
		name: "receive 503 then 200", env: smokeEnv, timeout: "60",
		rules: but(receive(answer{Code: "503", Out: "receive: unavailable, retry later\n"}, answer{Code: "200"})),
		want:  []string{"ok    Receive at " + runURL + " answered a notification of channel smoke-", "smoke: 11 passed, 0 failed"},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "X-Goog-Channel-ID"); n != 2 {
				t.Errorf("Receive was posted %d times, want 2 (a 503 is retried)", n)
			}
			cleanedUp(t, calls)
		},
	}, {
		// 5xx to the end: it fails, looks for no event, and cleans up.
		name: "receive 503", env: smokeEnv,
		rules: but(receive(answer{Code: "503", Out: "receive: unavailable, retry later\n"})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + " answered 503 for 0s: it cannot reach Firestore or Pub/Sub",
			`      fix: read why: gcloud logging read 'resource.type="cloud_run_revision" AND resource.labels.service_name="watchrelay-receive" AND severity>=ERROR'`,
			"may still be propagating: run this again in a few minutes",
			"smoke: 8 passed, 1 failed",
			"smoke: deleted subscription watchrelay-events-smoke-",
			"smoke: deleted channel smoke-",
		},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "subscriptions pull") + count(calls, "sync skipped"); n != 0 {
				t.Errorf("looked for an event Receive never published (%d calls)", n)
			}
			cleanedUp(t, calls)
		},
	}, {
		// 204: Receive does not know a channel just imported.
		name: "receive does not know the channel", env: smokeEnv,
		rules: but(receive(answer{Code: "204"})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + " answered 204: it does not know channel smoke-",
			"      fix: Receive reads database (default): its WATCHRELAY_DATABASE must name it",
		},
		calls: func(t *testing.T, calls []string) { cleanedUp(t, calls) },
	}, {
		// Receive's own 403 to the channel's own token.
		name: "receive refuses the token", env: smokeEnv,
		rules: but(receive(answer{Code: "403", Out: "receive: channel token does not match\n"})),
		exit:  1,
		want:  []string{"FAIL  Receive at " + runURL + " refused the channel's own token (403: receive: channel token does not match)"},
		calls: func(t *testing.T, calls []string) { cleanedUp(t, calls) },
	}, {
		// Cloud Run's 403 is not Receive's: Receive is not public.
		name: "receive not public", env: smokeEnv,
		rules: but(receive(answer{Code: "403", Out: iam403})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + ": Cloud Run refused the call (403) before Receive saw it: Receive is not public",
			"      fix: public_receive = true (the default)",
			`eval "$(terraform -chdir=examples/quickstart output -raw receive_public_command)"`,
		},
	}, {
		// A 400: the deployed code is not this checkout's.
		name: "receive refuses the headers", env: smokeEnv,
		rules: but(receive(answer{Code: "400", Out: "receive: missing header: X-Goog-Resource-Uri\n"})),
		exit:  1,
		want: []string{
			"FAIL  Receive at " + runURL + " refused the notification as malformed (400: receive: missing header: X-Goog-Resource-Uri)",
			"      fix: the deployed code parses notifications otherwise than this checkout: scripts/package.sh, then terraform apply",
		},
	}, {
		// Receive said 200 but nothing reached the topic: it fails, and
		// cleans up.
		name: "event never arrives", env: smokeEnv,
		rules: but(gcloud(out(""), "pubsub subscriptions pull")),
		exit:  1,
		want: []string{
			"ok    Receive at " + runURL + " answered a notification of channel smoke-",
			"FAIL  the notification's event did not reach watchrelay-events-smoke-",
			"smoke: 10 passed, 1 failed",
		},
		calls: func(t *testing.T, calls []string) { cleanedUp(t, calls) },
	}, {
		// Another watch's event on the subscription is not ours.
		name: "another event arrives", env: smokeEnv,
		rules: but(gcloud(out("smoke-000000000000\n"), "pubsub subscriptions pull")),
		exit:  1,
		want:  []string{"FAIL  the notification's event did not reach watchrelay-events-smoke-"},
	}, {
		// The event is on the topic, but Sync never logged its turn: the
		// push did not reach it.
		name: "sync never takes its turn", env: smokeEnv,
		rules: but(gcloud(out(""), "logging read", "sync skipped")),
		exit:  1,
		want: []string{
			"ok    the notification's event reached topic watchrelay-events",
			"FAIL  Sync logged no turn for watch smoke-",
			"      fix: the push subscription's account needs roles/run.invoker on Sync",
		},
		calls: func(t *testing.T, calls []string) { cleanedUp(t, calls) },
	}, {
		// Sync accepts an unauthenticated call: it fails, and cleans up.
		name: "sync accepts an unauthenticated call", env: allIngress,
		rules: but(sync(answer{Code: "204"})),
		exit:  1,
		want: []string{
			"FAIL  Sync at " + syncURL + " answered an unauthenticated push 204: Sync is public",
			"smoke: 10 passed, 1 failed",
			"smoke: deleted subscription watchrelay-events-smoke-",
			"smoke: deleted channel smoke-",
		},
		calls: func(t *testing.T, calls []string) { cleanedUp(t, calls) },
	}, {
		// The import failed: nothing is posted, and the half it may have
		// written is deleted all the same.
		name: "import fails", env: smokeEnv,
		rules: but(rule{Tool: "watchrelay", Answers: []answer{{Err: "channel import: rpc error: code = PermissionDenied\n", Exit: 1}}}),
		exit:  1,
		want: []string{
			"FAIL  cannot import the channel smoke-",
			"(roles/datastore.owner)",
			"smoke: 8 passed, 1 failed",
		},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "X-Goog-Channel-ID"); n != 0 {
				t.Errorf("Receive was posted %d times without a channel", n)
			}
			cleanedUp(t, calls)
		},
	}, {
		// No subscription could be made: the rest runs, and there is none
		// to delete.
		name: "subscription refused", env: smokeEnv,
		rules: but(gcloud([]answer{{Err: "ERROR: (gcloud.pubsub.subscriptions.create) PERMISSION_DENIED: User not authorized\n", Exit: 1}}, "pubsub subscriptions create")),
		exit:  1,
		want: []string{
			"FAIL  cannot make the subscription watchrelay-events-smoke-",
			"ok    Sync took the event's turn",
			"smoke: 10 passed, 1 failed",
			"smoke: deleted channel smoke-",
		},
		calls: func(t *testing.T, calls []string) {
			if n := count(calls, "subscriptions delete") + count(calls, "subscriptions pull"); n != 0 {
				t.Errorf("a subscription never made was used or deleted (%d calls)", n)
			}
		},
	}, {
		// The delete itself fails: said, with where the record is; the
		// checks' verdict stands.
		name: "channel delete fails", env: smokeEnv,
		rules: but(deleteChannel(answer{Code: "403", Out: `{"error":{"code":403}}`})),
		want: []string{
			"smoke: 11 passed, 0 failed",
			"smoke: could not delete channel smoke-",
			"/documents/channels/smoke-",
		},
	}})
}

// TestSmokeInterrupted: stopped half way (Ctrl-C, a build's timeout) while
// it waits for the event, the run still deletes the channel and the
// subscription.
func TestSmokeInterrupted(t *testing.T) {
	t.Parallel()
	cmd, dir := smokeCmd(t, smokeEnv, but(gcloud(out(""), "pubsub subscriptions pull")), "600")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); count(callsIn(dir), "subscriptions pull") == 0; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("never waited for the event:\n%s", output.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit %v, want 130", err)
	}
	calls := callsIn(dir)
	cleanedUp(t, calls)
	if !strings.Contains(output.String(), "smoke: deleted channel smoke-") {
		t.Errorf("output lacks the channel's deletion")
	}
	if t.Failed() {
		t.Logf("output:\n%s\ncalls:\n%s", output.String(), strings.Join(calls, "\n"))
	}
}

// cleanedUp checks that the run deleted the subscription it made and the
// channel it imported, after making them, and returns the channel's id.
func cleanedUp(t *testing.T, calls []string) string {
	t.Helper()
	id := smokeID.FindString(find(calls, "watchrelay channel import"))
	if id == "" {
		t.Fatalf("no channel imported")
	}
	order(t, calls, "gcloud pubsub subscriptions create watchrelay-events-"+id, "gcloud pubsub subscriptions delete watchrelay-events-"+id)
	order(t, calls, "watchrelay channel import --id "+id, "-X DELETE -H @")
	if n := count(calls, "-X DELETE"); n != 1 || count(calls, "/documents/channels/"+id) != 1 {
		t.Errorf("the channel %s was deleted %d times, want once", id, n)
	}
	return id
}

// order checks that a call holding each string comes after one holding the
// string before it.
func order(t *testing.T, calls []string, steps ...string) {
	t.Helper()
	i := 0
	for _, step := range steps {
		for i < len(calls) && !strings.Contains(calls[i], step) {
			i++
		}
		if i == len(calls) {
			t.Errorf("no call holding %q after the steps before it", step)
			return
		}
		i++
	}
}
