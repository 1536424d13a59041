package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// run runs the CLI with an environment and returns its stdout.
func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := realMain(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

// The demo runs on embedded defaults whatever the environment, and passes
// only when nothing was lost and nothing leaked.
func TestDemo(t *testing.T) {
	out, err := run(t, nil, "demo", "--short", "4s")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"watchrelay.watch.started.v1", "watchrelay.watch.renewed.v1", "watchrelay.watch.stopped.v1", "watchrelay.notification.v1",
		"gave up on 0;", " 0 lost;", "live channels at Google: 1, for 1 active webhook watches, 0 leaked",
		// Sync's change events, carrying what was edited, Gmail's too.
		"watchrelay.change.v1", `"Budget review (moved to 3pm)"`, `"messageAdded"`, "1 Gmail pushes"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// A channel leaks when it is live at Google but no active watch names it.
func TestLeaked(t *testing.T) {
	live := func(ids ...string) []googlesim.Channel {
		var cs []googlesim.Channel
		for _, id := range ids {
			cs = append(cs, googlesim.Channel{ID: id})
		}
		return cs
	}
	for _, tc := range []struct {
		name   string
		live   []googlesim.Channel
		active []store.Watch
		want   []string
	}{
		{"each active watch's channel: none", live("a", "b"), []store.Watch{{ChannelID: "a"}, {ChannelID: "b"}}, nil},
		{"a replaced channel not stopped", live("old", "new"), []store.Watch{{ChannelID: "new"}}, []string{"old"}},
		{"a removed watch's channel", live("a"), nil, []string{"a"}},
		{"a watch not served yet leaks nothing", nil, []store.Watch{{}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, leaked(tc.live, tc.active)); diff != "" {
				t.Errorf("leaked (-want +got):\n%s", diff)
			}
		})
	}
}

// onEmulators returns a simulated Google and the environment of a CLI run
// against the emulators, in a project of its own.
func onEmulators(t *testing.T) (*googlesim.Sim, map[string]string) {
	space := backend.New(t)
	sim, err := googlesim.Start(googlesim.Options{RetryBase: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim, map[string]string{
		"GOOGLE_CLOUD_PROJECT":    space.Project,
		"FIRESTORE_EMULATOR_HOST": space.Hosts.Firestore,
		"PUBSUB_EMULATOR_HOST":    space.Hosts.Pubsub,
		"WATCHRELAY_API_BASE_URL": sim.URL,
		// No Receive runs here: the sync goes nowhere, which Google
		// tolerates (it retries, then gives up).
		"WATCHRELAY_ADDRESS": "http://127.0.0.1:1/receive",
	}
}

// cliSpace is the space onEmulators made for env, which the CLI runs
// with env share.
func cliSpace(env map[string]string) backend.Space {
	return backend.Space{Project: env["GOOGLE_CLOUD_PROJECT"], Hosts: emulator.Hosts{
		Firestore: env["FIRESTORE_EMULATOR_HOST"], Pubsub: env["PUBSUB_EMULATOR_HOST"]}}
}

// cliStore opens the Firestore that CLI runs with env share.
func cliStore(t *testing.T, env map[string]string) *store.Firestore {
	t.Helper()
	return cliSpace(env).Firestore(t)
}

// addCalendarWatch adds watch w1 with the CLI, whose pass opens its
// channel, and returns the store and the watch as stored.
func addCalendarWatch(t *testing.T, env map[string]string) (*store.Firestore, store.Watch) {
	t.Helper()
	if _, err := run(t, env, "watch", "add", "--id", "w1", "--kind", "calendar.events", "--param", "calendarId=c1"); err != nil {
		t.Fatal(err)
	}
	fs := cliStore(t, env)
	w, err := fs.Watch(context.Background(), "w1")
	if err != nil || w.ChannelID == "" {
		t.Fatalf("watch after add: %+v, %v; want it served", w, err)
	}
	return fs, w
}

// Against the emulators, each command is its own process-like run sharing
// only Firestore: add opens the channel with a pass of its own, list shows
// it, rm stops it and the pass purges the watch.
func TestWatchCommandsOnEmulators(t *testing.T) {
	sim, env := onEmulators(t)
	if _, err := run(t, env, "watch", "add", "--id", "w1", "--kind", "calendar.events", "--param", "calendarId=c1", "--label", "tenant=acme"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, env, "watch", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ws []store.Watch
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(ws) != 1 || ws[0].ChannelID == "" || ws[0].State != store.WatchActive || ws[0].Labels["tenant"] != "acme" {
		t.Fatalf("after add: %+v", ws)
	}
	if live := sim.Live(); len(live) != 1 || live[0].ID != ws[0].ChannelID {
		t.Fatalf("live at Google: %+v, want the watch's channel %s", live, ws[0].ChannelID)
	}
	table, err := run(t, env, "watch", "list")
	if err != nil || !strings.Contains(table, "w1") || !strings.Contains(table, "calendarId=c1") {
		t.Errorf("list table: %v\n%s", err, table)
	}
	if _, err := run(t, env, "watch", "rm", "w1"); err != nil {
		t.Fatal(err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("after rm, live at Google: %+v", live)
	}
	out, _ = run(t, env, "watch", "list", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("after rm, list: %s", out)
	}
	// A bad watch is refused before anything is stored.
	if _, err := run(t, env, "watch", "add", "--kind", "calendar.nope"); err == nil {
		t.Error("unknown kind accepted")
	}
}

// channel import then channel stop: a channel made elsewhere is taken over
// and can be stopped through its API.
func TestChannelImportAndStop(t *testing.T) {
	_, env := onEmulators(t)
	// Unknown channel: stopping it is Google's 404, reported.
	if _, err := run(t, env, "channel", "stop", "--kind", "drive.files", "--id", "nope", "--resource-id", "r"); err == nil {
		t.Error("stopping an unknown channel reported success")
	}
	if _, err := run(t, env, "channel", "import", "--id", "ch-1", "--token", "s3cret", "--resource-id", "r-1",
		"--kind", "calendar.events", "--watch", "w-1", "--expiration", "2030-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	fs := cliStore(t, env)
	c, err := fs.Channel(context.Background(), "ch-1")
	if err != nil || c.State != store.ChannelActive || c.TokenHash != store.HashToken("s3cret") || c.ResourceID != "r-1" {
		t.Errorf("imported channel %+v, %v", c, err)
	}
	// An expired channel is refused, with the reason.
	if _, err := run(t, env, "channel", "import", "--id", "ch-3", "--token", "s3cret", "--resource-id", "r-1",
		"--kind", "calendar.events", "--watch", "w-1", "--expiration", "2020-01-01T00:00:00Z"); err == nil || !strings.Contains(err.Error(), "has passed") {
		t.Errorf("import of an expired channel: %v", err)
	}
	if _, err := fs.Channel(context.Background(), "ch-3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired channel stored: %v", err)
	}
	// Missing fields are named.
	if _, err := run(t, env, "channel", "import", "--id", "ch-2", "--expiration", "2030-01-01T00:00:00Z"); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("import without a token: %v", err)
	}
}

// serve's --channel takes the fields of channel import as key=value pairs,
// and refuses what channel import refuses: the same check runs for both.
func TestChannelSpec(t *testing.T) {
	const ok = "id=c,token=t,resource-id=r,kind=drive.files,watch=w"
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		{ok, true}, // docs/cli.md's form
		{ok + ",expiration=2030-01-01T00:00:00Z", true},                               // with an expiration
		{"id=c,token=t,resource-id=r,kind=drive.files", false},                        // no watch
		{ok + ",color=red", false},                                                    // unknown field
		{ok + ",expiration=tomorrow", false},                                          // bad date
		{ok + ",expiration=2020-01-01T00:00:00Z", false},                              // expired: nothing to take over
		{strings.Replace(ok, "id=c", "id=a/b", 1), false},                             // no Firestore document can have this id
		{strings.Replace(ok, "id=c", "id=__c__", 1), false},                           // nor this one
		{strings.Replace(ok, "id=c", "id="+strings.Repeat("c", 65), 1), false},        // over Google's 64 characters
		{strings.Replace(ok, "id=c", "id="+strings.Repeat("c", 64), 1), true},         // at the limit
		{strings.Replace(ok, "token=t", "token="+strings.Repeat("t", 257), 1), false}, // over Google's 256 characters
		{strings.Replace(ok, "token=t", "token=", 1), false},                          // empty token
		{strings.Replace(ok, "drive.files", "drive.nope", 1), false},                  // unknown kind
		{strings.Replace(ok, "drive.files", "calendar.events", 1), true},              // another known kind; params belong to the watch
	} {
		var specs channelSpecs
		if err := specs.Set(tc.spec); (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
}

// With no environment the store would die with the command: channel import
// refuses, and points to serve --channel, which imports into the serving
// process.
func TestChannelImportRefusedLocally(t *testing.T) {
	out, err := run(t, nil, "channel", "import", "--id", "ch-1", "--token", "s3cret", "--resource-id", "r-1",
		"--kind", "calendar.events", "--watch", "w-1", "--expiration", "2030-01-01T00:00:00Z")
	if err == nil || !strings.Contains(err.Error(), "serve --channel") {
		t.Errorf("import on embedded defaults: %v, want a refusal naming serve --channel", err)
	}
	if out != "" {
		t.Errorf("printed %q on refusal", out)
	}
}

// channel stop on a channel the store knows stops it at Google and records
// it stopped, with the deleteAt that lets the TTL policy remove it, and its
// watch no longer names it.
func TestChannelStopRecordsIt(t *testing.T) {
	sim, env := onEmulators(t)
	fs, w := addCalendarWatch(t, env)
	ctx := context.Background()
	c, err := fs.Channel(ctx, w.ChannelID)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if _, err := run(t, env, "channel", "stop", "--kind", "calendar.events", "--id", c.ID, "--resource-id", c.ResourceID); err != nil {
		t.Fatal(err)
	}
	if live := sim.Live(); len(live) != 0 {
		t.Errorf("live at Google after stop: %+v", live)
	}
	c, err = fs.Channel(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != store.ChannelStopped || c.StoppedAt.Before(before.Truncate(time.Millisecond)) ||
		c.DeleteAt.Sub(c.StoppedAt).Round(time.Second) != store.Retention {
		t.Errorf("after stop: state %s, stoppedAt %v, deleteAt %v; want stopped now, deleted %v later", c.State, c.StoppedAt, c.DeleteAt, store.Retention)
	}
	// The watch names no finished channel: the next pass gives it a new one.
	if w, err := fs.Watch(ctx, "w1"); err != nil || w.ChannelID != "" || !w.ChannelExpiration.IsZero() {
		t.Errorf("watch after its channel was stopped: %+v, %v; want no channel", w, err)
	}
}

// watch retry gives a watch that ended another chance: active again, with
// nothing of its failure left, and with a channel from the pass it asks for.
// What cannot be retried is refused with the reason, and left as it is.
func TestWatchRetry(t *testing.T) {
	sim, env := onEmulators(t)
	ctx := context.Background()
	fs := cliStore(t, env)
	now := time.Now()
	for _, w := range []store.Watch{
		{ID: "failed", State: store.WatchFailed, LastError: "401 authError: Invalid Credentials", Failures: 2},
		{ID: "active", State: store.WatchActive, ChannelID: "c-live", ChannelExpiration: now.Add(24 * time.Hour)},
		{ID: "deleted", State: store.WatchDeleted},
	} {
		w.Kind, w.Params, w.CreatedAt, w.UpdatedAt = "drive.files", map[string]string{"fileId": "f-" + w.ID}, now, now
		if err := fs.CreateWatch(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		says string // in stdout when it succeeds, in the error when not
		ok   bool
	}{
		// No id: refused before the store is opened.
		{"no id", nil, "takes one watch id", false},
		// Two ids: the same; one watch at a time.
		{"two ids", []string{"failed", "active"}, "takes one watch id", false},
		// No such watch: the store's not found.
		{"unknown", []string{"nope"}, "not found", false},
		// A live watch has nothing to retry.
		{"active", []string{"active"}, "is active", false},
		// A removed watch is left for the pass to purge.
		{"deleted", []string{"deleted"}, "is deleted", false},
		// A failed watch is active again, and the pass it asks for opens
		// its channel.
		{"failed", []string{"failed"}, `renew: {"started":1`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, env, append([]string{"watch", "retry"}, tc.args...)...)
			got := out
			if err != nil {
				got = err.Error()
			}
			if (err == nil) != tc.ok || !strings.Contains(got, tc.says) {
				t.Errorf("watch retry %v: %v, printed %q; want ok=%v saying %q", tc.args, err, out, tc.ok, tc.says)
			}
		})
	}
	w, err := fs.Watch(ctx, "failed")
	if err != nil {
		t.Fatal(err)
	}
	if w.State != store.WatchActive || w.LastError != "" || w.Failures != 0 || w.ChannelID == "" {
		t.Errorf("after retry: %+v, want active with a channel and no failure left", w)
	}
	if live := sim.Live(); len(live) != 1 || live[0].ID != w.ChannelID {
		t.Errorf("live at Google: %+v, want the retried watch's channel %s", live, w.ChannelID)
	}
	// The pass purged the deleted watch; the active one kept its channel.
	if w, err := fs.Watch(ctx, "active"); err != nil || w.State != store.WatchActive || w.ChannelID != "c-live" {
		t.Errorf("refused watch: %+v, %v; want it left active on c-live", w, err)
	}
}

// renew runs one pass and prints its summary, the JSON Renew answers: a
// watch stored by hand gets its channel, and a second pass has nothing to do.
func TestRenewCommand(t *testing.T) {
	sim, env := onEmulators(t)
	ctx := context.Background()
	fs := cliStore(t, env)
	now := time.Now()
	if err := fs.CreateWatch(ctx, store.Watch{ID: "w1", Kind: "drive.files", Params: map[string]string{"fileId": "f1"},
		State: store.WatchActive, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []renew.Summary{{Started: 1}, {}} {
		out, err := run(t, env, "renew")
		if err != nil {
			t.Fatal(err)
		}
		var got renew.Summary
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("renew printed %q: %v", out, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
	}
	if live := sim.Live(); len(live) != 1 {
		t.Errorf("live at Google: %+v, want the watch's one channel", live)
	}
}
