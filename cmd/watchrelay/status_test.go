package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// The rules of status, on what a store might hold, at the defaults: renew
// 90m before expiry, a pass every 10m.
func TestStatusAssess(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	rules := healthRules{renewBefore: 90 * time.Minute, interval: 10 * time.Minute}
	freshPass := &store.PassRecord{StartedAt: now.Add(-4 * time.Minute), DurationMs: 1200, Summary: map[string]any{"renewed": 1}}
	active := func(id string, left time.Duration) store.Watch {
		return store.Watch{ID: id, Kind: "calendar.events", State: store.WatchActive, ChannelID: "c-" + id,
			ChannelExpiration: now.Add(left), UpdatedAt: now.Add(-time.Hour)}
	}
	unserved := func(id string, since time.Duration, failures int) store.Watch {
		return store.Watch{ID: id, Kind: "drive.files", State: store.WatchActive, UpdatedAt: now.Add(-since), Failures: failures}
	}
	stray := func(id string, state store.StrayState, seen time.Duration) store.Stray {
		return store.Stray{ChannelID: id, State: state, SeenAt: now.Add(-seen)}
	}
	for _, tc := range []struct {
		name    string
		watches []store.Watch
		pass    *store.PassRecord
		strays  []store.Stray
		want    []string // one substring per problem, in order; none: healthy
	}{
		// A live channel days from its renewal, a pass 4 minutes ago, and
		// strays the passes took care of: nothing to do.
		{"healthy", []store.Watch{active("w1", 6*24*time.Hour), {ID: "d", State: store.WatchDeleted}}, freshPass,
			[]store.Stray{stray("s1", store.StrayStopped, time.Hour), stray("s2", store.StrayKnown, time.Hour)}, nil},
		// Due (under 90m left) for less than two passes: the next pass's.
		{"just due", []store.Watch{active("w1", 80*time.Minute)}, freshPass, nil, nil},
		// Due for 30m, three passes: something is in the way.
		{"due for three passes", []store.Watch{active("w1", time.Hour)}, freshPass, nil,
			[]string{"watch w1: renewal overdue: channel c-w1 expires in 1h0m, and was due for renewal 30m ago"}},
		// Twice RENEW_BEFORE away is not due at all: never overdue.
		{"twice the window away", []store.Watch{active("w1", 3*time.Hour)}, freshPass, nil, nil},
		// Lapsed: notifications are being missed, whatever the windows.
		{"lapsed", []store.Watch{active("w1", -5*time.Minute)}, freshPass, nil,
			[]string{"watch w1: renewal overdue: channel c-w1 lapsed 5m ago"}},
		// A 2h channel is due at half its life (1h left), so 45m left is
		// 15m late: not yet two passes.
		{"short channel, due at half its life", []store.Watch{func() store.Watch {
			w := active("w1", 45*time.Minute)
			w.Kind, w.TTLSeconds = "drive.files", 7200
			return w
		}()}, freshPass, nil, nil},
		// The same channel at 30m left is 30m late.
		{"short channel, late", []store.Watch{func() store.Watch {
			w := active("w1", 30*time.Minute)
			w.Kind, w.TTLSeconds, w.LastError = "drive.files", 7200, "drive asked this pass to slow down"
			return w
		}()}, freshPass, nil, []string{"was due for renewal 30m ago (drive asked this pass to slow down)"}},
		// A new watch waits for the next pass...
		{"new watch", []store.Watch{unserved("w1", 5*time.Minute, 0)}, freshPass, nil, nil},
		// ...but not two passes.
		{"no channel for two passes", []store.Watch{unserved("w1", 25*time.Minute, 0)}, freshPass, nil,
			[]string{"watch w1: renewal overdue: no channel for 25m"}},
		// A pass tried and failed: no channel, and notifications missed.
		{"no channel, a pass failed", []store.Watch{unserved("w1", time.Minute, 1)}, freshPass, nil,
			[]string{"watch w1: renewal overdue: no channel for 1m"}},
		// Failed and gone watches, with the subject and the reason.
		{"failed and gone", []store.Watch{
			{ID: "f", State: store.WatchFailed, Subject: "admin@example.com", LastError: "401 authError: Invalid Credentials"},
			{ID: "g", State: store.WatchGone, LastError: "404 notFound"}}, freshPass, nil,
			[]string{"watch f is failed (as admin@example.com): 401 authError: Invalid Credentials; once the cause is fixed: watchrelay watch retry f",
				"watch g is gone: 404 notFound"}},
		// No pass ever recorded.
		{"no pass", nil, nil, nil, []string{"no Renew pass recorded"}},
		// Three periods without a pass.
		{"stale pass", nil, &store.PassRecord{StartedAt: now.Add(-31 * time.Minute)}, nil,
			[]string{"the last Renew pass started 31m ago, and one should run every 10m0s"}},
		// Just under three periods.
		{"pass not yet stale", nil, &store.PassRecord{StartedAt: now.Add(-29 * time.Minute)}, nil, nil},
		// A recent pass that could not run.
		{"failed pass", nil, &store.PassRecord{StartedAt: now.Add(-time.Minute), Error: "store: unavailable"}, nil,
			[]string{"the last Renew pass could not run: store: unavailable"}},
		// A stray seen 5m ago is the next pass's; one two passes old and
		// one whose stop failed are a person's.
		{"strays", nil, freshPass, []store.Stray{stray("new", store.StraySeen, 5*time.Minute),
			stray("old", store.StraySeen, 25*time.Minute), stray("refused", store.StrayFailed, time.Hour)},
			[]string{"2 strays not stopped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observed{watches: tc.watches, pass: tc.pass, strays: map[store.StrayState][]store.Stray{}}
			for _, s := range tc.strays {
				o.strays[s.State] = append(o.strays[s.State], s)
			}
			r := assess(now, rules, o)
			if r.Healthy != (len(tc.want) == 0) || len(r.Problems) != len(tc.want) {
				t.Fatalf("healthy %v, problems %q; want %d problems", r.Healthy, r.Problems, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.Contains(r.Problems[i], want) {
					t.Errorf("problem %d: %q, want it to say %q", i, r.Problems[i], want)
				}
			}
		})
	}
}

// Sync's failing reads: each is delivered again by Pub/Sub, so two in a row
// are listed but left alone; three are a person's.
func TestStatusSync(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	o := observed{pass: &store.PassRecord{StartedAt: now.Add(-time.Minute)},
		strays: map[store.StrayState][]store.Stray{}, cursors: []store.Cursor{
			{WatchID: "ok", Token: "t"},
			{WatchID: "blip", Failures: 2, LastError: "429 rateLimitExceeded"},
			{WatchID: "cal", Failures: 3, LastError: "503 backendError"}}}
	r := assess(now, healthRules{renewBefore: 90 * time.Minute, interval: 10 * time.Minute}, o)
	want := []string{"watch cal: Sync's reads failed 3 times in a row: 503 backendError; then `watchrelay watch sync cal`"}
	if diff := cmp.Diff(want, r.Problems); diff != "" || r.Healthy {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(r.Sync) != 2 || r.Sync[0].WatchID != "blip" || r.Sync[1].WatchID != "cal" {
		t.Errorf("sync rows %+v, want blip and cal", r.Sync)
	}
	var out strings.Builder
	if err := r.print(&out); err != nil || !strings.Contains(out.String(), "SYNC FAILING") {
		t.Errorf("printed (%v):\n%s", err, out.String())
	}
}

// Each active watch's row says when Sync last counted a notification of
// it, from its cursor, or why nothing records one.
func TestStatusDeliveries(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	active := func(id, kind string, changes *bool) store.Watch {
		return store.Watch{ID: id, Kind: kind, State: store.WatchActive, Changes: changes}
	}
	o := observed{pass: &store.PassRecord{StartedAt: now.Add(-time.Minute)}, strays: map[store.StrayState][]store.Stray{},
		watches: []store.Watch{
			active("cal", "calendar.events", nil),                // notified: its cursor says when
			active("fresh", "drive.changes", nil),                // no notification yet: no cursor
			active("quiet", "calendar.events", store.Ptr(false)), // changes off: Sync keeps no cursor
			active("users", "admin.directory.users", nil),        // the body is the change: no reads
		},
		cursors: []store.Cursor{{WatchID: "cal", NotifiedAt: now.Add(-5 * time.Hour)}}}
	r := assess(now, healthRules{renewBefore: 90 * time.Minute, interval: 10 * time.Minute}, o)
	var out strings.Builder
	if err := r.print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LAST NOTIFICATION", "5h0m ago", "none yet", "not recorded (changes off)", "not recorded (no change reads)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed:\n%s\nwant it to say %q", out.String(), want)
		}
	}
	if got := r.Deliveries[0]; !got.NotifiedAt.Equal(now.Add(-5*time.Hour)) || got.Unrecorded != "" {
		t.Errorf("row of cal %+v, want its cursor's notifiedAt", got)
	}
}

// The latest strays are the most recently seen, in any state, and the
// counts past the read bound are lower bounds.
func TestStatusStrays(t *testing.T) {
	now := time.Now()
	o := observed{strays: map[store.StrayState][]store.Stray{}}
	for i := range strayCap + 1 {
		o.strays[store.StrayStopped] = append(o.strays[store.StrayStopped], store.Stray{ChannelID: "s", State: store.StrayStopped, SeenAt: now.Add(-time.Duration(i+10) * time.Minute)})
	}
	o.strays[store.StrayKnown] = []store.Stray{{ChannelID: "newest", State: store.StrayKnown, SeenAt: now.Add(-time.Minute)}}
	r := assess(now, healthRules{renewBefore: 90 * time.Minute, interval: 10 * time.Minute}, o)
	if len(r.Strays.Latest) != latestStrays || r.Strays.Latest[0].ChannelID != "newest" || !r.Strays.AtLeast {
		t.Errorf("strays %+v; want the %d newest, \"newest\" first, counts marked as lower bounds", r.Strays, latestStrays)
	}
	var b strings.Builder
	if err := r.print(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1000+ stopped") {
		t.Errorf("printed:\n%s\nwant the bounded count 1000+", b.String())
	}
}

// statusEnv is a deployment on the emulators whose one watch has a live
// channel, whose last notification Sync counted 3 minutes ago, and whose
// last pass ran a minute ago: healthy. Each case of TestStatusOnEmulators
// breaks one thing.
func statusEnv(t *testing.T) (map[string]string, *store.Firestore) {
	t.Helper()
	_, env := onEmulators(t)
	fs, w := addCalendarWatch(t, env)
	ctx := context.Background()
	notified := time.Now().Add(-3 * time.Minute)
	c, _, err := fs.WantSync(ctx, store.SyncClaim{WatchID: w.ID, Holder: "h", Message: "m", Until: notified.Add(time.Minute), Now: notified})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fs.FinishSync(ctx, store.Finish{WatchID: w.ID, Holder: "h", Seen: c.Wanted, Now: notified}); err != nil {
		t.Fatal(err)
	}
	if err := fs.RecordPass(ctx, store.PassRecord{StartedAt: time.Now().Add(-time.Minute), DurationMs: 840,
		Summary: map[string]any{"started": 0, "renewed": 0, "remaining": 0}}); err != nil {
		t.Fatal(err)
	}
	// A stray that a pass stopped needs nobody.
	if err := fs.RecordStray(ctx, store.Stray{ChannelID: "old-deploy-1", State: store.StrayStopped, SeenAt: time.Now().Add(-time.Hour),
		ResourceURI: "https://www.googleapis.com/calendar/v3/calendars/c9/events"}); err != nil {
		t.Fatal(err)
	}
	return env, fs
}

// Against the emulators: a healthy deployment exits 0, and each thing that
// needs a person makes status exit 1 and say what it is.
func TestStatusOnEmulators(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		breaks func(t *testing.T, fs *store.Firestore, now time.Time)
		says   []string // in stdout
	}{
		// Nothing broken: exit 0.
		{"healthy", func(*testing.T, *store.Firestore, time.Time) {}, []string{"1 active, 0 failed", "3m ago", "1 stopped", "old-deploy-1", "\nhealthy\n"}},
		// A watch whose grant was revoked.
		{"failed watch", func(t *testing.T, fs *store.Firestore, now time.Time) {
			create(t, fs, store.Watch{ID: "w2", Kind: "calendar.events", Params: map[string]string{"calendarId": "c2"}, State: store.WatchFailed,
				Subject: "admin@example.com", LastError: "401 authError: Invalid Credentials", Failures: 1, CreatedAt: now, UpdatedAt: now})
		}, []string{"NEEDS A PERSON (1)", "watch w2 is failed (as admin@example.com): 401 authError: Invalid Credentials", "watchrelay watch retry w2"}},
		// A channel 10 minutes from expiry, due since 80 minutes.
		{"overdue renewal", func(t *testing.T, fs *store.Firestore, now time.Time) {
			exp := now.Add(10 * time.Minute)
			if err := fs.CreateChannel(ctx, store.Channel{ID: "c3", WatchID: "w3", Kind: "calendar.events", State: store.ChannelActive,
				Expiration: exp, CreatedAt: now.Add(-7 * 24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			create(t, fs, store.Watch{ID: "w3", Kind: "calendar.events", Params: map[string]string{"calendarId": "c3"}, State: store.WatchActive,
				ChannelID: "c3", ChannelExpiration: exp, CreatedAt: now, UpdatedAt: now})
		}, []string{"watch w3: renewal overdue: channel c3 expires in 9m, and was due for renewal 1h20m ago"}},
		// The scheduler stopped: the last pass is two hours old.
		{"stale pass", func(t *testing.T, fs *store.Firestore, now time.Time) {
			if err := fs.RecordPass(ctx, store.PassRecord{StartedAt: now.Add(-2 * time.Hour), DurationMs: 500}); err != nil {
				t.Fatal(err)
			}
		}, []string{"the last Renew pass started 2h0m ago, and one should run every 10m0s: is the scheduler job running?", "STALE"}},
		// The last pass could not run its queries.
		{"failed pass", func(t *testing.T, fs *store.Firestore, now time.Time) {
			if err := fs.RecordPass(ctx, store.PassRecord{StartedAt: now, DurationMs: 30000, Error: "store: unavailable: deadline exceeded"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"the last Renew pass could not run: store: unavailable: deadline exceeded"}},
		// A stray seen an hour ago that no pass stopped.
		{"stray", func(t *testing.T, fs *store.Firestore, now time.Time) {
			if err := fs.RecordStray(ctx, store.Stray{ChannelID: "leak-1", State: store.StraySeen, SeenAt: now.Add(-time.Hour),
				ResourceURI: "https://www.googleapis.com/drive/v3/files/f9"}); err != nil {
				t.Fatal(err)
			}
		}, []string{"1 stray not stopped", "leak-1", "seen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, fs := statusEnv(t)
			tc.breaks(t, fs, time.Now())
			out, err := run(t, env, "status")
			healthy := tc.name == "healthy"
			if code := exitCode(err); code != map[bool]int{true: 0, false: 1}[healthy] {
				t.Errorf("status: %v, exit status %d\n%s", err, code, out)
			}
			for _, want := range tc.says {
				if !strings.Contains(out, want) {
					t.Errorf("status printed:\n%s\nwant it to say %q", out, want)
				}
			}
			// --json: the same verdict, machine-readable, unset times
			// left out.
			js, jerr := run(t, env, "status", "--json")
			if errors.Is(jerr, errUnhealthy) == healthy || exitCode(jerr) != exitCode(err) {
				t.Errorf("status --json: %v; want the exit status of status", jerr)
			}
			var r report
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				t.Fatalf("status --json: %v\n%s", err, js)
			}
			if r.Healthy != healthy || len(r.Problems) != map[bool]int{true: 0, false: 1}[healthy] || r.Watches[store.WatchActive] < 1 {
				t.Errorf("status --json: healthy %v, problems %q, watches %v", r.Healthy, r.Problems, r.Watches)
			}
			if strings.Contains(js, "0001-01-01") {
				t.Errorf("status --json prints unset times:\n%s", js)
			}
		})
	}
}

func create(t *testing.T, fs *store.Firestore, w store.Watch) {
	t.Helper()
	if err := fs.CreateWatch(context.Background(), w); err != nil {
		t.Fatal(err)
	}
}

// status reads a deployment: on the embedded defaults there is none, and
// that is a usage error (2), not an unhealthy deployment (1).
func TestStatusRefusedLocally(t *testing.T) {
	out, err := run(t, nil, "status")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "no GOOGLE_CLOUD_PROJECT") || out != "" {
		t.Errorf("status on embedded defaults: %v (exit %d), printed %q", err, exitCode(err), out)
	}
}

// Errors become exit statuses in one place.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},          // done
		{errUnhealthy, 1}, // status found a problem
		{errors.Join(errors.New("x"), errUnhealthy), 1}, // wrapped, as commands return it
		{errors.New("unknown command"), 2},              // usage, or could not run
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// A pass's summary in one line: renew.Summary's order, what it did none of
// left out, and fields status does not know yet still shown.
func TestStatusSummaryLine(t *testing.T) {
	for _, tc := range []struct {
		sum  map[string]any
		want string
	}{
		{map[string]any{"remaining": 2, "started": int64(1), "renewed": 0.0}, "started 1, remaining 2"}, // Firestore's int64, JSON's float64
		{map[string]any{"throttled": []any{"drive"}, "deferred": map[string]any{"drive asked this pass to slow down": 3}, "zz": 1, "renewed": 4},
			`renewed 4, deferred {"drive asked this pass to slow down":3}, throttled ["drive"], zz 1`}, // renew.Summary's order, then the rest
		{map[string]any{"started": 0, "deferred": map[string]any{}}, "nothing to do"}, // an idle pass
	} {
		if got := summaryLine(tc.sum); got != tc.want {
			t.Errorf("summaryLine(%v) = %q, want %q", tc.sum, got, tc.want)
		}
	}
}
