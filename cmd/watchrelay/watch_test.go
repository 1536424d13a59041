package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// watch add runs a pass of its own against the emulators: a watch that
// failed or is gone on it exits 1 with Google's reason, so the person who
// added it knows now; one that a passing error left without a channel exits
// 0 and says the next pass tries again.
func TestWatchAddExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failure *googlesim.Failure
		code    int
		says    string // in the error
		state   store.WatchState
	}{
		// Google opens the channel: done.
		{"opened", nil, 0, "", store.WatchActive},
		// Bad credentials: failed, a person's to fix.
		{"failed", &googlesim.FailAuth, 1, "watch w1 is failed after its first pass: ", store.WatchFailed},
		// The calendar does not exist: gone.
		{"gone", &googlesim.FailNotFound, 1, "watch w1 is gone after its first pass: ", store.WatchGone},
		// Google had a bad moment: the next pass tries again.
		{"transient", &googlesim.FailBackend, 0, "", store.WatchActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, env := onEmulators(t)
			if tc.failure != nil {
				sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, *tc.failure)
			}
			_, err := run(t, env, "watch", "add", "--id", "w1", "--kind", "calendar.events", "--param", "calendarId=c1")
			if code := exitCode(err); code != tc.code || tc.code != 0 && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("watch add: %v (exit %d); want exit %d saying %q", err, code, tc.code, tc.says)
			}
			if tc.code == 1 && !errors.Is(err, errUnhealthy) {
				t.Errorf("watch add: %v, want errUnhealthy", err)
			}
			// The watch is stored whatever its first pass made of it.
			if w, err := cliStore(t, env).Watch(context.Background(), "w1"); err != nil || w.State != tc.state {
				t.Errorf("stored watch %+v, %v; want state %s", w, err, tc.state)
			}
		})
	}
}

// watch retry reads back its pass as watch add does: a cause not fixed
// exits 1 again.
func TestWatchRetryStillFailing(t *testing.T) {
	sim, env := onEmulators(t)
	sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailForbidden)
	if _, err := run(t, env, "watch", "add", "--id", "w1", "--kind", "drive.files", "--param", "fileId=f1"); exitCode(err) != 1 {
		t.Fatalf("watch add: %v, want exit 1", err)
	}
	if _, err := run(t, env, "watch", "retry", "w1"); exitCode(err) != 1 || !strings.Contains(err.Error(), "is failed after its first pass") {
		t.Errorf("watch retry with the cause not fixed: %v, want exit 1 with the reason", err)
	}
	sim.ClearFailures()
	if out, err := run(t, env, "watch", "retry", "w1"); err != nil {
		t.Errorf("watch retry once fixed: %v\n%s", err, out)
	}
}

// watch list --json leaves out the times a watch does not have: a new
// watch has no lease, no retry time.
func TestWatchListJSONLeavesOutUnsetTimes(t *testing.T) {
	_, env := onEmulators(t)
	addCalendarWatch(t, env)
	out, err := run(t, env, "watch", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "0001-01-01") || strings.Contains(out, "leaseUntil") || strings.Contains(out, "retryAt") {
		t.Errorf("watch list --json prints unset times:\n%s", out)
	}
	if !strings.Contains(out, `"channelExpiration"`) || !strings.Contains(out, `"createdAt"`) {
		t.Errorf("watch list --json lacks the times that are set:\n%s", out)
	}
}
