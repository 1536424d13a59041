package renew_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// One kind of each API: a watch gets a channel from its first pass, Google's
// sync reaches Receive, and pushed changes come out as events naming the
// watch.
func TestStartThenNotify(t *testing.T) {
	kinds := []store.Watch{
		{ID: "cal", Kind: "calendar.events", Params: map[string]string{"calendarId": "team@example.com"}, Labels: map[string]string{"tenant": "acme"}},
		{ID: "drive", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}},
		{ID: "changes", Kind: "drive.changes", Params: map[string]string{"driveId": "d1"}},
		{ID: "users", Kind: "admin.directory.users", Params: map[string]string{"customer": "my_customer", "event": "add"}},
		{ID: "reports", Kind: "admin.reports.activities", Params: map[string]string{"userKey": "all", "applicationName": "drive"}},
	}
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		for _, w := range kinds {
			r.add(w)
		}
		sum := r.pass(nil)
		if sum.Started != len(kinds) || sum.Remaining != 0 {
			t.Fatalf("summary %+v, want %d started", sum, len(kinds))
		}
		r.converged("cal", "drive", "changes", "users", "reports")
		for _, w := range kinds {
			c := r.channel(r.watch(w.ID).ChannelID)
			if err := r.sim.Push(c.ID, "exists"); err != nil {
				t.Fatal(err)
			}
		}
		r.flush()
		for _, w := range kinds {
			if n := r.count(event.TypeStarted, w.ID); n != 1 {
				t.Errorf("%s: %d started events, want 1", w.ID, n)
			}
			// The sync and the push, both published.
			if n := r.count(event.TypeNotification, w.ID); n != 2 {
				t.Errorf("%s: %d notification events, want 2 (sync and push)", w.ID, n)
			}
		}
	})
}

// A renewal opens the new channel before it stops the old one; the old one's
// late notifications are accepted during the grace period and dropped after.
func TestRenewalOverlapsAndGrace(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, TTLSeconds: 7200})
		r.pass(nil)
		old := r.channel(r.watch("w").ChannelID)
		simOld, _ := r.sim.Channel(old.ID)

		r.clock.Advance(90 * time.Minute) // within RenewBefore (1h) of the 2h expiry
		sum := r.pass(nil)
		if sum.Renewed != 1 || sum.ChannelsStopped != 1 {
			t.Fatalf("summary %+v, want 1 renewed, 1 channel stopped", sum)
		}
		r.converged("w")
		w := r.watch("w")
		simNew, _ := r.sim.Channel(w.ChannelID)
		simOld, _ = r.sim.Channel(old.ID)
		if simOld.StoppedAt.IsZero() || simNew.CreatedAt.After(simOld.StoppedAt) {
			t.Errorf("new channel created %v, old stopped %v: the new one must be live first", simNew.CreatedAt, simOld.StoppedAt)
		}
		if c := r.channel(old.ID); c.State != store.ChannelStopped || c.DeleteAt.IsZero() {
			t.Errorf("old channel %s deleteAt %v, want stopped with a deleteAt", c.State, c.DeleteAt)
		}
		if n := r.count(event.TypeRenewed, "w"); n != 1 {
			t.Errorf("%d renewed events, want 1", n)
		}

		// Google's late retry on the old channel, within the grace period.
		late := func() int {
			r.t.Helper()
			before := r.count(event.TypeNotification, "w")
			status := r.post(simOld, 77)
			if status/100 != 2 {
				t.Fatalf("late notification: status %d", status)
			}
			return r.count(event.TypeNotification, "w") - before
		}
		if n := late(); n != 1 {
			t.Errorf("within the grace period: %d events published, want 1", n)
		}
		r.clock.Advance(11 * time.Minute) // past Grace (10m)
		if n := late(); n != 0 {
			t.Errorf("after the grace period: %d events published, want 0", n)
		}
	})
}

// post sends Receive a notification as Google would on channel c, directly,
// for messages the simulator no longer sends (late retries of a stopped
// channel).
func (r *rig) post(c googlesim.Channel, number int) int {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.Address, nil)
	req.Header.Set("X-Goog-Channel-ID", c.ID)
	req.Header.Set("X-Goog-Channel-Token", c.Token)
	req.Header.Set("X-Goog-Message-Number", strconv.Itoa(number))
	req.Header.Set("X-Goog-Resource-ID", c.ResourceID)
	req.Header.Set("X-Goog-Resource-State", "update")
	req.Header.Set("X-Goog-Resource-URI", c.ResourceURI)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Every error class ends in the right watch state and lifecycle event.
func TestErrorClasses(t *testing.T) {
	cases := []struct {
		name      string
		fail      googlesim.Failure
		state     store.WatchState
		event     string // "" for transient: no lifecycle event
		remaining int
	}{
		// The resource was deleted: gone.
		{"404 not found", googlesim.FailNotFound, store.WatchGone, event.TypeGone, 0},
		// 410 is gone too.
		{"410 gone", googlesim.FailGone, store.WatchGone, event.TypeGone, 0},
		// The grant was revoked: failed.
		{"401 auth", googlesim.FailAuth, store.WatchFailed, event.TypeFailed, 0},
		// Permission lost: failed.
		{"403 forbidden", googlesim.FailForbidden, store.WatchFailed, event.TypeFailed, 0},
		// The webhook domain is not allowed: failed, with the reason.
		{"400 webhook", googlesim.FailWebhook, store.WatchFailed, event.TypeFailed, 0},
		// Rate limited: retried, then left for the next pass.
		{"403 rate limit", googlesim.FailRateLimit, store.WatchActive, "", 1},
		// 429: transient.
		{"429", googlesim.FailTooManyRequests, store.WatchActive, "", 1},
		// 503: transient.
		{"503", googlesim.FailUnavailable, store.WatchActive, "", 1},
		// A 4xx Google does not document for watch: transient, not the
		// end of the watch (it used to end it as failed).
		{"412 unrecognised", googlesim.Failure{Code: 412, Reason: "conditionNotMet", Message: "Precondition Failed"}, store.WatchActive, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s testStore) {
				r := newRig(t, s)
				r.add(store.Watch{ID: "w", Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}})
				clear := r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, tc.fail)
				sum := r.pass(nil)
				w := r.watch("w")
				if w.State != tc.state || sum.Remaining != tc.remaining {
					t.Fatalf("state %s, summary %+v; want state %s, remaining %d", w.State, sum, tc.state, tc.remaining)
				}
				if w.LastError == "" || w.Failures != 1 {
					t.Errorf("lastError %q, failures %d: the failure must be recorded", w.LastError, w.Failures)
				}
				if tc.event != "" && r.count(tc.event, "w") != 1 {
					t.Errorf("no %s event; published %+v", tc.event, r.published())
				}
				if len(r.sim.Live()) != 0 {
					t.Errorf("live channels after a refused watch: %+v", r.sim.Live())
				}
				if tc.event == "" {
					// Transient: nothing to tell downstream, and the watch
					// is due again once its backoff ends.
					if events := r.published(); len(events) != 0 {
						t.Errorf("events published: %+v, want none", events)
					}
					// Google answered, so the watch waits out a backoff,
					// and is not even read before it ends: its due time
					// is its retry time.
					if w.RetryAt.Sub(r.clock.Now()) < 4*time.Minute || !w.DueAt.Equal(w.RetryAt) {
						t.Errorf("retryAt %v, due %v; want both about RetryBase (5m) from now", w.RetryAt, w.DueAt)
					}
					for at, want := range map[time.Time]int{r.clock.Now(): 0, w.RetryAt: 1} {
						due, err := s.DueWatches(context.Background(), at, store.Watch{}, 10)
						if err != nil {
							t.Fatal(err)
						}
						if len(due) != want {
							t.Errorf("due watches at %v: %+v, want %d", at, due, want)
						}
					}
					calls := r.sim.Stats().WatchCalls
					if sum := r.pass(nil); !sum.Idle() || r.sim.Stats().WatchCalls != calls {
						t.Errorf("pass during the backoff: %+v, %d watch calls; want nothing read, no call", sum, r.sim.Stats().WatchCalls-calls)
					}
					// The next pass after it succeeds once Google does.
					clear()
					r.clock.Advance(5 * time.Minute)
					if sum := r.pass(nil); sum.Started != 1 {
						t.Errorf("retry pass %+v, want 1 started", sum)
					}
					r.converged("w")
				}
			})
		})
	}
}

// The webhook error names the address, so an operator can fix the domain.
func TestFailedReasonSpelledOut(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.add(store.Watch{ID: "w", Kind: "calendar.events", Params: map[string]string{"calendarId": "c1"}})
	r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailWebhook)
	r.pass(nil)
	if w := r.watch("w"); !strings.Contains(w.LastError, r.opts.Address) {
		t.Errorf("lastError %q does not name the address %s", w.LastError, r.opts.Address)
	}
}

// Two passes at once renew each watch exactly once. Each waits at its query
// of due watches for the other, so both find all 20 due; with 20 ms per
// Google call they then work side by side, and only the leases keep them
// off each other's watches.
func TestConcurrentPasses(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s, func(o *googlesim.Options) { o.Latency = 20 * time.Millisecond })
		var ids []string
		for i := range 20 {
			id := "w" + strconv.Itoa(i)
			ids = append(ids, id)
			r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}, TTLSeconds: 7200})
		}
		r.pass(nil)
		r.clock.Advance(90 * time.Minute)
		before := r.sim.Stats().WatchCalls
		both := meetAtDue{Store: r.store, met: &sync.WaitGroup{}}
		both.met.Add(2)
		var wg sync.WaitGroup
		sums := make([]renew.Summary, 2)
		errs := make([]error, 2)
		for i := range sums {
			wg.Go(func() { sums[i], errs[i] = r.passWith(both, r.apis, r.events) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := sums[0].Renewed + sums[1].Renewed; got != 20 {
			t.Errorf("renewed %d+%d, want 20 in all", sums[0].Renewed, sums[1].Renewed)
		}
		if got := r.sim.Stats().WatchCalls - before; got != 20 {
			t.Errorf("%d watch calls, want 20: a watch was renewed twice", got)
		}
		for _, id := range ids {
			if n := r.count(event.TypeRenewed, id); n != 1 {
				t.Errorf("%s: %d renewed events, want 1", id, n)
			}
		}
		r.converged(ids...)
	})
}

// meetAtDue holds each pass at its first page of due watches until every
// pass counted in met has read its own.
type meetAtDue struct {
	renew.Store
	met *sync.WaitGroup
}

func (m meetAtDue) DueWatches(ctx context.Context, now time.Time, after store.Watch, limit int) ([]store.Watch, error) {
	ws, err := m.Store.DueWatches(ctx, now, after, limit)
	if after.ID != "" {
		return ws, err // a later page: the passes met at their first
	}
	m.met.Done()
	// If the other pass failed before its due query, it never arrives:
	// fail this one too rather than hang the test.
	met := make(chan struct{})
	go func() { m.met.Wait(); close(met) }()
	select {
	case <-met:
	case <-time.After(30 * time.Second):
		return nil, errors.New("the other pass never reached its due-watch query")
	}
	return ws, err
}

// A crash after any step of a pass, or a channels.stop that keeps failing,
// leaves records the next passes complete: exactly one live channel per
// watch, none leaked; and after the watch is removed, none live, the watch
// purged and its stopped event published. Each case breaks passes in turn:
// one dies after the first time it makes the named step, or ("stop 503")
// has every channels.stop answered 503. Normal passes then run until one
// reports nothing remaining.
func TestCrashAfterEveryStep(t *testing.T) {
	cases := []struct {
		name     string
		renewal  bool     // break a renewal rather than the first start
		syncLost bool     // Receive loses the sync of the first broken pass's channel
		rmNow    bool     // remove the watch right after the broken passes, before any normal one
		broken   []string // passes broken before the watch is removed
		rm       []string // passes broken after
	}{
		// A start or a renewal dies after each of its steps.
		{name: "start/create pending", broken: []string{"create pending"}},
		{name: "start/watch", broken: []string{"watch"}},
		{name: "start/activate", broken: []string{"activate"}},
		{name: "renewal/create pending", renewal: true, broken: []string{"create pending"}},
		{name: "renewal/watch", renewal: true, broken: []string{"watch"}},
		// The old channel is marked stopping inside "activate".
		{name: "renewal/activate", renewal: true, broken: []string{"activate"}},
		{name: "renewal/stop", renewal: true, broken: []string{"stop"}},
		{name: "renewal/mark stopped", renewal: true, broken: []string{"mark stopped"}},
		// The orphan of a start that died after its watch call, known by
		// its sync: the next pass dies stopping it, or Google fails the
		// stop. Then it is stopping, and a stopping channel whose
		// expiration is unknown used to be taken for expired: leaked.
		{name: "start/watch, then orphan/mark stopping", broken: []string{"watch", "mark stopping"}},
		{name: "start/watch, then orphan/stop", broken: []string{"watch", "stop"}},
		{name: "start/watch, then orphan/stop 503", broken: []string{"watch", "stop 503"}},
		// An orphan whose sync was lost has no resource id: it waits for
		// the watch's next channel to name the resource, then is stopped.
		{name: "start/watch, sync lost", syncLost: true, broken: []string{"watch"}},
		{name: "renewal/watch, sync lost", renewal: true, syncLost: true, broken: []string{"watch"}},
		// Two such orphans of one watch: clearing one must not make the
		// other look leased by another pass.
		{name: "start/watch twice, sync lost", syncLost: true, broken: []string{"watch", "watch"}},
		// ... and the resource id it borrowed is kept for the next try.
		{name: "renewal/watch, sync lost, then stop 503", renewal: true, syncLost: true, broken: []string{"watch", "stop 503"}},
		// The old channel of a renewal that died: finishing its stop
		// dies, or Google fails it.
		{name: "renewal/activate, then old/stop", renewal: true, broken: []string{"activate", "stop"}},
		{name: "renewal/activate, then old/stop 503", renewal: true, broken: []string{"activate", "stop 503"}},
		// The purge of a removed watch dies after each of its steps, or
		// Google fails its stop.
		{name: "rm/mark stopping", rm: []string{"mark stopping"}},
		{name: "rm/stop", rm: []string{"stop"}},
		{name: "rm/mark stopped", rm: []string{"mark stopped"}},
		{name: "rm/publish", rm: []string{"publish"}},
		{name: "rm/delete watch", rm: []string{"delete watch"}},
		{name: "rm/stop 503", rm: []string{"stop 503"}},
		// The watch is removed while a broken pass's orphan is still
		// there: the pass that stops it must purge the watch too.
		{name: "start/watch, then rm", rmNow: true, broken: []string{"watch"}},
		{name: "renewal/watch, then rm", renewal: true, rmNow: true, broken: []string{"watch"}},
		{name: "renewal/activate, then rm", renewal: true, rmNow: true, broken: []string{"activate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s testStore) {
				r := newRig(t, s)
				r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 7200})
				if tc.renewal {
					r.pass(nil)
					r.clock.Advance(90 * time.Minute)
				}
				r.deaf.Store(tc.syncLost)
				r.broken(tc.broken...)
				r.deaf.Store(false)
				if !tc.rmNow {
					r.settle()
					r.converged("w")
					r.announced("w")
				}

				if err := r.store.UpdateWatch(context.Background(), "w", store.WatchUpdate{State: store.Ptr(store.WatchDeleted)}, r.clock.Now()); err != nil {
					t.Fatal(err)
				}
				r.broken(tc.rm...)
				r.settle()
				if live := r.sim.Live(); len(live) != 0 {
					t.Errorf("after watch rm, %d channels live: %+v", len(live), live)
				}
				if _, err := r.store.Watch(context.Background(), "w"); err == nil {
					t.Error("the removed watch was not purged")
				}
				ids := map[string]bool{}
				for _, e := range r.published() {
					if e.Type == event.TypeStopped && e.WatchID == "w" {
						ids[e.ID] = true
					}
				}
				if len(ids) != 1 {
					t.Errorf("stopped events with %d distinct ids, want 1 (%v)", len(ids), ids)
				}
			})
		})
	}
}

// announced asserts that the channel a watch names had its started or
// renewed event published, whichever pass died after its activation.
func (r *rig) announced(watchID string) {
	r.t.Helper()
	current := r.watch(watchID).ChannelID
	for _, e := range r.published() {
		if (e.Type == event.TypeStarted || e.Type == event.TypeRenewed) && e.WatchID == watchID && e.Data["newChannelId"] == current {
			return
		}
	}
	r.t.Errorf("no started or renewed event for %s's channel %s", watchID, current)
}

// broken runs a broken pass per step: one that dies after step, or for
// "stop 503" one whose channels.stop calls all fail, which must say it left
// work.
func (r *rig) broken(steps ...string) {
	r.t.Helper()
	for _, step := range steps {
		r.flush() // the sync of a channel opened before a crash
		if step != "stop 503" {
			r.crashed(step, 1)
			continue
		}
		clear := r.sim.Fail(googlesim.Match{Op: googlesim.OpStop}, googlesim.FailUnavailable)
		if sum := r.pass(nil); sum.Remaining == 0 {
			r.t.Errorf("a pass whose stops failed: %+v, want some remaining", sum)
		}
		clear()
	}
	r.flush()
}

// Remaining counts what a pass found and left for the next: every stop that
// failed, and due work past MaxWork; not the watches another pass holds.
func TestRemaining(t *testing.T) {
	// renewed gives a watch a 2-hour channel and brings it within
	// RenewBefore of its expiry.
	renewed := func(r *rig) {
		r.add(store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}, TTLSeconds: 7200})
		r.pass(nil)
		r.clock.Advance(90 * time.Minute)
	}
	for _, tc := range []struct {
		name  string
		setup func(r *rig)
		want  renew.Summary
	}{
		// A transient watch error leaves the watch for the next pass.
		// The 503 says why, and that the API asked to slow down.
		{"watch call 503", func(r *rig) {
			r.add(store.Watch{ID: "w", Kind: "calendar.settings"})
			r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailUnavailable)
		}, renew.Summary{Remaining: 1, Throttled: []string{"calendar"}, Deferred: map[string]int{
			"Google is busy or rate-limiting (503 backendError: The service is currently unavailable.); will retry": 1,
		}}},
		// The renewal is done, but the old channel is still to stop.
		{"old channel's stop 503", func(r *rig) {
			renewed(r)
			r.sim.Fail(googlesim.Match{Op: googlesim.OpStop}, googlesim.FailUnavailable)
		}, renew.Summary{Renewed: 1, Remaining: 1, Throttled: []string{"drive"}}},
		// The watch ended, but its channel is still to stop.
		{"failed watch's stop 503", func(r *rig) {
			renewed(r)
			r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailAuth)
			r.sim.Fail(googlesim.Match{Op: googlesim.OpStop}, googlesim.FailUnavailable)
		}, renew.Summary{Failed: 1, Remaining: 1, Throttled: []string{"drive"}}},
		// Due watches past MaxWork are not read: they count as one.
		{"past MaxWork", func(r *rig) {
			for _, id := range []string{"a", "b", "c", "d"} {
				r.add(store.Watch{ID: id, Kind: "calendar.settings"})
			}
			r.opts.MaxWork = 2
		}, renew.Summary{Started: 2, Remaining: 1}},
		// A watch another pass holds is that pass's work.
		{"leased elsewhere", func(r *rig) {
			r.add(store.Watch{ID: "w", Kind: "calendar.settings"})
			now := r.clock.Now()
			if _, err := r.store.LeaseWatch(context.Background(), "w", store.Lease{Holder: "other pass", Until: now.Add(time.Hour)}, now, nil); err != nil {
				r.t.Fatal(err)
			}
		}, renew.Summary{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.NewMemory())
			tc.setup(r)
			if diff := cmp.Diff(tc.want, r.pass(nil)); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// A channel left to expire is reported lapsed, then replaced.
func TestLapsed(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "admin.directory.aliases", Params: map[string]string{"userKey": "u@example.com", "event": "add"}, TTLSeconds: 3600})
		r.pass(nil)
		old := r.watch("w").ChannelID
		r.clock.Advance(2 * time.Hour) // no pass ran in time
		sum := r.pass(nil)
		if sum.Lapsed != 1 || sum.Started != 1 {
			t.Fatalf("summary %+v, want 1 lapsed and 1 started", sum)
		}
		if r.count(event.TypeLapsed, "w") != 1 || r.count(event.TypeRenewed, "w") != 1 {
			t.Errorf("want a lapsed then a renewed event; got %+v", r.published())
		}
		if c := r.channel(old); c.State != store.ChannelExpired {
			t.Errorf("old channel %s, want expired", c.State)
		}
		r.converged("w")
	})
}

// 404 on channels.stop means the channel is stopped already: fine.
func TestStopNotFoundIsStopped(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.add(store.Watch{ID: "w", Kind: "calendar.settings", TTLSeconds: 7200})
	r.pass(nil)
	old := r.watch("w").ChannelID
	r.sim.Fail(googlesim.Match{Op: googlesim.OpStop}, googlesim.FailNotFound)
	r.clock.Advance(90 * time.Minute)
	if sum := r.pass(nil); sum.Renewed != 1 || sum.Remaining != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if c := r.channel(old); c.State != store.ChannelStopped {
		t.Errorf("old channel %s, want stopped", c.State)
	}
}

// Renew's HTTP contract: POST only, the summary as JSON; a request deadline
// (functions-framework-go sets one from the function's timeout) bounds the
// pass.
func TestServeHTTP(t *testing.T) {
	r := newRig(t, store.NewMemory())
	p, err := renew.New(r.store, r.apis, r.events, r.opts) // Margin left to its default
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		method   string
		watch    string        // a new watch added first, if any
		deadline time.Duration // of the request's context, if any
		status   int
		want     *renew.Summary // nil: no summary
	}{
		// Scheduler POSTs; anything else is refused and runs nothing.
		{"GET", http.MethodGet, "a", 0, http.StatusMethodNotAllowed, nil},
		// A pass answers what it did, including the work the GET left.
		{"POST", http.MethodPost, "b", 0, http.StatusOK, &renew.Summary{Started: 2}},
		// A short function timeout is not eaten whole by a margin sized
		// for the default budget: the pass still does its work.
		{"POST within 5s", http.MethodPost, "c", 5 * time.Second, http.StatusOK, &renew.Summary{Started: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.watch != "" {
				r.add(store.Watch{ID: tc.watch, Kind: "calendar.settings"})
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, tc.method, "/renew", nil)
			p.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want == nil {
				if got := rec.Header().Get("Allow"); got != http.MethodPost {
					t.Errorf("Allow: %q, want POST", got)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var got renew.Summary
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// A pass stops claiming work before its deadline and reports what it left;
// the next pass picks that up.
func TestDeadlineLeavesRemaining(t *testing.T) {
	r := newRig(t, store.NewMemory(), func(o *googlesim.Options) { o.Latency = 50 * time.Millisecond })
	for i := range 40 {
		id := "w" + strconv.Itoa(i)
		r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}})
	}
	r.opts.Concurrency, r.opts.Budget, r.opts.Margin = 2, 300*time.Millisecond, 100*time.Millisecond
	sum := r.pass(nil)
	// The pass reads its due watches a page at a time as it works, so
	// what it left unread counts as one: Remaining says more is due.
	if sum.Remaining == 0 || sum.Started == 0 || sum.Started+sum.Remaining > 40 {
		t.Fatalf("summary %+v: want some started, and some remaining", sum)
	}
	r.opts.Budget, r.opts.Margin, r.opts.Concurrency = time.Minute, 0, 8
	if next := r.pass(nil); next.Started != 40-sum.Started {
		t.Errorf("next pass started %d, want the %d left", next.Started, 40-sum.Started)
	}
}

// A revoked domain-wide delegation grant ends only its subject's watch: the
// simulator learns each call's subject from the clients' stand-in token and
// answers the revoked one 401, so that watch becomes failed with a failed
// event spelling out why, while a watch of another subject on the same
// calendar renews as usual. The failed watch's old channel cannot be
// stopped either while the grant is revoked; it stays stopping, and once
// the grant is back the next pass stops it.
func TestRevokedSubject(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		const alice, bob = "alice@example.com", "bob@example.com"
		params := map[string]string{"calendarId": "team@example.com"}
		r.add(store.Watch{ID: "alice", Kind: "calendar.events", Params: params, Subject: alice, TTLSeconds: 7200})
		r.add(store.Watch{ID: "bob", Kind: "calendar.events", Params: params, Subject: bob, TTLSeconds: 7200})
		if sum := r.pass(nil); sum.Started != 2 {
			t.Fatalf("first pass %+v, want 2 started", sum)
		}
		r.converged("alice", "bob")
		old := r.watch("alice").ChannelID
		if c, _ := r.sim.Channel(old); c.Subject != alice {
			t.Errorf("Google saw alice's watch as subject %q", c.Subject)
		}

		r.sim.RevokeSubject(alice)
		r.clock.Advance(90 * time.Minute) // both due for renewal
		sum := r.pass(nil)
		if sum.Failed != 1 || sum.Renewed != 1 {
			t.Fatalf("summary %+v, want 1 failed and 1 renewed", sum)
		}
		const why = "401 authError: Invalid Credentials"
		w := r.watch("alice")
		if w.State != store.WatchFailed || !strings.Contains(w.LastError, why) {
			t.Errorf("alice: state %s, lastError %q; want failed with %q", w.State, w.LastError, why)
		}
		var failed []published
		for _, p := range r.published() {
			if p.Type == event.TypeFailed {
				failed = append(failed, p)
			}
		}
		if len(failed) != 1 || failed[0].WatchID != "alice" {
			t.Fatalf("failed events %+v, want one for alice", failed)
		}
		if e, _ := failed[0].Data["error"].(string); !strings.Contains(e, why) || !strings.Contains(e, "revoked") {
			t.Errorf("failed event error %q does not spell out the revoked grant", e)
		}

		// Bob's watch is untouched by alice's revocation.
		if r.count(event.TypeRenewed, "bob") != 1 {
			t.Errorf("no renewed event for bob; published %+v", r.published())
		}
		b := r.watch("bob")
		if c, ok := r.sim.Channel(b.ChannelID); b.State != store.WatchActive || !ok || c.Subject != bob || !c.StoppedAt.IsZero() {
			t.Errorf("bob: state %s, channel %+v (known %v); want active on a live channel of bob's", b.State, c, ok)
		}

		// Alice's old channel: Google refused her stop as well.
		if sum.Remaining != 1 || r.channel(old).State != store.ChannelStopping {
			t.Errorf("summary %+v, old channel %s; want it left stopping for the next pass", sum, r.channel(old).State)
		}
		r.sim.RestoreSubject(alice)
		if sum := r.pass(nil); sum.ChannelsStopped != 1 || sum.Remaining != 0 {
			t.Errorf("pass after the grant came back: %+v, want alice's old channel stopped", sum)
		}
		if c := r.channel(old); c.State != store.ChannelStopped {
			t.Errorf("old channel %s after the grant came back, want stopped", c.State)
		}
		if w := r.watch("alice"); w.State != store.WatchFailed {
			t.Errorf("alice %s after the grant came back, want still failed", w.State)
		}
		r.converged("bob")
	})
}
