package renew_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// The cases of issue 13, "Renew under stress": each failed on the code
// before it, and passes now.

// tally counts the calls that reached Google, by kind and operation.
type tally struct {
	renew.Google
	mu    sync.Mutex
	calls map[string]int // "drive.files watch", "calendar.events stop", ...
}

func newTally(g renew.Google) *tally { return &tally{Google: g, calls: map[string]int{}} }

func (t *tally) Watch(ctx context.Context, w store.Watch, req google.ChannelRequest) (google.Granted, error) {
	t.count(w.Kind + " watch")
	return t.Google.Watch(ctx, w, req)
}

func (t *tally) Stop(ctx context.Context, w store.Watch, id, rid string) error {
	t.count(w.Kind + " stop")
	return t.Google.Stop(ctx, w, id, rid)
}

func (t *tally) count(k string) {
	t.mu.Lock()
	t.calls[k]++
	t.mu.Unlock()
}

// take returns the counts so far and starts again.
func (t *tally) take() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls
	t.calls = map[string]int{}
	return c
}

// One API that answers 429 to everything does not starve the others: with
// 20 Drive watches throttled for two hours and one Calendar watch, the
// Calendar channel is renewed every time it is due and never lapses, and
// the calls to Drive stay bounded pass after pass instead of growing (the
// old code's stop calls went 60, 120, 180, 198, and from the fourth pass no
// watch call was made at all).
func TestThrottledAPIStarvesNothing(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.opts.QPS, r.opts.Budget = 100, 2*time.Second
	var ids []string
	for i := range 20 {
		id := "drive-" + strconv.Itoa(i)
		ids = append(ids, id)
		r.add(store.Watch{ID: id, Kind: "drive.files", Params: map[string]string{"fileId": id}, TTLSeconds: 3600})
	}
	r.add(store.Watch{ID: "cal", Kind: "calendar.events", Params: map[string]string{"calendarId": "team"}, TTLSeconds: 3600})
	r.pass(nil)
	r.flush()
	r.sim.Fail(googlesim.Match{Kind: "drive.files"}, googlesim.FailTooManyRequests)

	g := newTally(r.apis)
	renewals := 0
	for pass := range 12 {
		r.clock.Advance(10 * time.Minute)
		sum := r.pass(g)
		r.flush()
		calls := g.take()
		t.Logf("pass %2d (+%3dm): drive watch %d, drive stop %d, calendar watch %d, calendar stop %d; summary %s",
			pass, (pass+1)*10, calls["drive.files watch"], calls["drive.files stop"], calls["calendar.events watch"], calls["calendar.events stop"], sum.JSON())
		// The first 429 closes Drive for the rest of the pass: no more
		// calls than were in flight together.
		if n := calls["drive.files watch"] + calls["drive.files stop"]; n > r.opts.Concurrency {
			t.Errorf("pass %d: %d calls to throttled Drive, want at most %d", pass, n, r.opts.Concurrency)
		}
		renewals += calls["calendar.events watch"]
		cal := r.watch("cal")
		if !r.live(cal.ChannelID) || !cal.ChannelExpiration.After(r.clock.Now()) {
			t.Fatalf("pass %d: the Calendar watch's channel %s is not live: throttled Drive starved it", pass, cal.ChannelID)
		}
	}
	if renewals < 3 {
		t.Errorf("Calendar renewed %d times in two hours of one-hour channels, want at least 3", renewals)
	}
	if n := r.count(event.TypeLapsed, "cal"); n != 0 {
		t.Errorf("the Calendar watch lapsed %d times", n)
	}
	// Once Drive answers again, every Drive watch is served again.
	r.sim.ClearFailures()
	r.clock.Advance(time.Hour)
	r.settle()
	r.converged(append(ids, "cal")...)
}

// hold is a Google whose first watch call of a watch blocks until released,
// then goes through: a call that hangs past its claim's lease.
type hold struct {
	renew.Google
	watchID string
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHold(g renew.Google, watchID string) *hold {
	return &hold{Google: g, watchID: watchID, entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *hold) Watch(ctx context.Context, w store.Watch, req google.ChannelRequest) (google.Granted, error) {
	first := false
	if w.ID == h.watchID {
		h.once.Do(func() { first = true })
	}
	if first {
		close(h.entered)
		<-h.release
	}
	return h.Google.Watch(ctx, w, req)
}

// heldPass starts a pass whose first watch call of watchID hangs until
// h.release is closed, and returns once the call has begun; done gives the
// pass's summary.
func (r *rig) heldPass(watchID string) (*hold, <-chan renew.Summary) {
	h := newHold(r.apis, watchID)
	done := make(chan renew.Summary, 1)
	go func() {
		sum, err := r.passWith(r.store, h, r.events)
		if err != nil {
			r.t.Error(err)
		}
		done <- sum
	}()
	select {
	case <-h.entered:
	case sum := <-done:
		r.t.Fatalf("the pass ended without calling watch for %s: %s", watchID, sum.JSON())
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no watch call for %s within 10s", watchID)
	}
	return h, done
}

// A pass whose watch call outlives its lease cannot undo the pass that took
// the watch over: pass A's call hangs; its lease lapses; pass B clears A's
// pending channel, stopping it, and renews the watch; then A's call reaches
// Google, which opens A's channel. A's activation is refused (the channel is
// no longer pending, the lease not A's), so the watch keeps B's live
// channel, and A stops the channel it opened.
func TestLeaseLostToASlowCall(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 7200})
		r.pass(nil)
		r.clock.Advance(90 * time.Minute)
		r.opts.Lease = time.Minute

		h, done := r.heldPass("w")
		r.clock.Advance(2 * time.Minute) // A's lease lapses
		b := r.pass(nil)
		if b.Renewed != 1 {
			t.Fatalf("pass B %s, want the watch renewed", b.JSON())
		}
		byB := r.watch("w").ChannelID
		close(h.release)
		a := <-done
		r.flush()
		if a.Renewed+a.Started != 0 {
			t.Errorf("pass A %s: it activated a channel after losing its lease", a.JSON())
		}
		if got := r.watch("w").ChannelID; got != byB {
			t.Errorf("the watch names %s, want B's %s", got, byB)
		}
		r.converged("w")
	})
}

// live reports whether a channel is live at Google.
func (r *rig) live(id string) bool {
	for _, c := range r.sim.Live() {
		if c.ID == id {
			return true
		}
	}
	return false
}

// renewStore is the rig's store type, named for the stress tests.
type renewStore = testStore

// A short lifetime is renewed at half its life, not on every pass: a
// 50-minute Drive channel under RENEW_BEFORE 90m used to be replaced by
// every pass (always "within 90 minutes of expiring").
func TestShortLifetimeRenewedAtHalfLife(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.opts.RenewBefore = 90 * time.Minute
	r.add(store.Watch{ID: "w", Kind: "drive.files", Params: map[string]string{"fileId": "f"}, TTLSeconds: 3600})
	if sum := r.pass(nil); sum.Started != 1 {
		t.Fatalf("first pass %s", sum.JSON())
	}
	renewedAt := []time.Duration{}
	for minute := 10; minute <= 120; minute += 10 {
		r.clock.Advance(10 * time.Minute)
		if sum := r.pass(nil); sum.Renewed == 1 {
			renewedAt = append(renewedAt, time.Duration(minute)*time.Minute)
		}
		r.flush()
		r.converged("w")
	}
	// Renewed once the channel has less than half its 50 minutes left:
	// at 30, 60, 90 and 120 minutes.
	if want := []time.Duration{30 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour}; !slices.Equal(renewedAt, want) {
		t.Errorf("renewed at %v, want %v", renewedAt, want)
	}
	if n := r.count(event.TypeLapsed, "w"); n != 0 {
		t.Errorf("%d lapses", n)
	}
}

// Without a webhook address a due watch is left for a later pass, keeping
// its live channel: the summary says why. Once the address is set, the next
// pass renews it.
func TestNoAddressIsTransient(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 7200})
		r.pass(nil)
		first := r.watch("w").ChannelID
		r.clock.Advance(90 * time.Minute)
		address := r.opts.Address
		r.opts.Address = ""
		sum := r.pass(nil)
		if sum.Remaining != 1 || sum.Deferred["renew: no webhook address: set WATCHRELAY_ADDRESS or the watch's address"] != 1 || sum.Failed != 0 {
			t.Errorf("summary %s, want the watch deferred for its address", sum.JSON())
		}
		w := r.watch("w")
		if w.State != store.WatchActive || w.ChannelID != first {
			t.Errorf("watch %s on channel %s, want active on %s", w.State, w.ChannelID, first)
		}
		if !r.live(first) {
			t.Error("the live channel was stopped for a missing address")
		}
		r.opts.Address = address
		if sum := r.pass(nil); sum.Renewed != 1 {
			t.Errorf("pass with the address back: %s, want renewed", sum.JSON())
		}
		r.flush()
		r.converged("w")
	})
}

// A delegated watch's leftover channel is stopped as the user it was opened
// as, even once the watch document is gone: Google keeps a channel to its
// opener, and a stop by the bare service account finds nothing (404) and
// would record a live channel as stopped.
func TestLeftoverStoppedAsItsSubject(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "admin.directory.users", Params: map[string]string{"customer": "my_customer", "event": "add"},
			Subject: "admin@example.com", TTLSeconds: 7200})
		r.pass(nil)
		old := r.watch("w").ChannelID
		r.clock.Advance(90 * time.Minute)
		clear := r.sim.Fail(googlesim.Match{Op: googlesim.OpStop}, googlesim.FailUnavailable)
		r.pass(nil) // renewed; the old channel's stop fails: it stays stopping
		clear()
		if c := r.channel(old); c.State != store.ChannelStopping {
			t.Fatalf("old channel %s, want stopping", c.State)
		}
		// Terraform deletes the watch document itself.
		if err := r.store.DeleteWatch(context.Background(), "w"); err != nil {
			t.Fatal(err)
		}
		r.settle()
		if r.live(old) {
			t.Errorf("the old channel %s is still live at Google, recorded %s", old, r.channel(old).State)
		}
	})
}

// watch rm during a renewal: the pass holding the watch finds it removed
// when it activates the new channel, stops that channel and the old one,
// and purges the watch, in the same pass.
func TestRemovedDuringRenewal(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 7200})
		r.pass(nil)
		r.clock.Advance(90 * time.Minute)
		h, done := r.heldPass("w")
		if err := renew.RemoveWatch(context.Background(), r.store, "w", r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		close(h.release)
		sum := <-done
		r.flush()
		if sum.Stopped != 1 {
			t.Errorf("summary %s, want the watch purged by the pass that held it", sum.JSON())
		}
		if live := r.sim.Live(); len(live) != 0 {
			t.Errorf("%d channels live after watch rm: %+v", len(live), live)
		}
		if _, err := r.store.Watch(context.Background(), "w"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("watch not purged: %v", err)
		}
		if n := r.count(event.TypeStopped, "w"); n != 1 {
			t.Errorf("%d stopped events, want 1", n)
		}
	})
}

// A channel left pending whose watch document was deleted outright is
// stopped by the next pass.
func TestPendingOfDeletedWatchStopped(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}})
		r.crashed("watch", 1) // opened at Google, still pending here
		r.flush()             // its sync names the resource
		if err := r.store.DeleteWatch(context.Background(), "w"); err != nil {
			t.Fatal(err)
		}
		r.settle()
		if live := r.sim.Live(); len(live) != 0 {
			t.Errorf("%d channels live for a deleted watch: %+v", len(live), live)
		}
	})
}

// lostAnswer is a Google whose first watch call reaches Google but whose
// answer is lost on the way back, as a connection cut after the request.
type lostAnswer struct {
	renew.Google
	once sync.Once
}

func (l *lostAnswer) Watch(ctx context.Context, w store.Watch, req google.ChannelRequest) (google.Granted, error) {
	g, err := l.Google.Watch(ctx, w, req)
	lost := false
	l.once.Do(func() { lost = true })
	if lost && err == nil {
		return google.Granted{}, errors.New("read tcp: connection reset by peer")
	}
	return g, err
}

// A watch call whose answer was lost, then a permanent refusal: the channel
// Google opened on the first call is stopped, not recorded failed and left
// live. The old code retried the same channel id in the same pass.
func TestLostAnswerThenRefusal(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}})
		g := &lostAnswer{Google: r.apis}
		if sum := r.pass(g); sum.Remaining != 1 {
			t.Errorf("pass with the lost answer: %s, want the watch left", sum.JSON())
		}
		r.flush()
		r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailForbidden)
		r.settle()
		if live := r.sim.Live(); len(live) != 0 {
			t.Errorf("%d channels live after the refusal: %+v", len(live), live)
		}
		if w := r.watch("w"); w.State != store.WatchFailed {
			t.Errorf("watch %s, want failed", w.State)
		}
	})
}

// A lifecycle event survives a crash between the state it reports and its
// publish: it was kept in the outbox in the same commit as the state, and
// the next pass publishes it (issue 9's outbox). Before, a pass that died
// right after an activation lost its started event, and one that died after
// ending a watch lost the failed event an operator most needs.
func TestEventsSurviveACrashBeforeThePublish(t *testing.T) {
	for _, tc := range []struct {
		name, step, typ string
		setup           func(r *rig)
	}{
		// Dies right after the activation that started the watch.
		{"started", "activate", event.TypeStarted, func(*rig) {}},
		// Dies right after recording the watch failed.
		{"failed", "end failed", event.TypeFailed, func(r *rig) {
			r.sim.Fail(googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailAuth)
		}},
		// Dies right after purging a removed watch.
		{"stopped", "delete watch", event.TypeStopped, func(r *rig) {
			r.pass(nil)
			if err := renew.RemoveWatch(context.Background(), r.store, "w", r.clock.Now()); err != nil {
				r.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, s renewStore) {
				r := newRig(t, s)
				r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}})
				tc.setup(r)
				r.crashed(tc.step, 1)
				if n := r.count(tc.typ, "w"); n != 0 {
					t.Fatalf("%d %s events before the next pass; the crash came before the publish", n, tc.typ)
				}
				r.pass(nil)
				if n := r.count(tc.typ, "w"); n != 1 {
					t.Errorf("%d %s events after the next pass, want 1", n, tc.typ)
				}
				if left, _ := s.Outbox(context.Background(), 0); len(left) != 0 {
					t.Errorf("outbox holds %d events after they were published", len(left))
				}
			})
		})
	}
}
