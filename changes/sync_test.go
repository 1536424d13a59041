package changes_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// calendarWatch is a watch on the events of calendar "team".
func calendarWatch(id string) store.Watch {
	return store.Watch{ID: id, Kind: "calendar.events", Params: map[string]string{"calendarId": "team"}}
}

// TestStormCoalesced is the storm of the issue: 200 notifications in 2 s
// for one calendar, 50 of them edits. Every edited item is published as it
// was last edited, and the storm costs at most 5 list calls.
func TestStormCoalesced(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			// The deployment's debounce: the figure is the one a user gets.
			r := newRig(t, backend, rigOptions{debounce: config.Defaults.SyncDebounce})
			w := r.add(calendarWatch("team-cal"))
			before := r.sim.Stats().ListCalls

			var ids []string
			for i := range 200 {
				if i%4 == 0 {
					id := fmt.Sprintf("ev%03d", i/4)
					ids = append(ids, id)
					r.sim.EditEvent("team", googlesim.Event{ID: id, Summary: "edit " + id})
				} else if err := r.sim.Push(w.ChannelID, "exists"); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			got := r.waitItems(w.ID, ids, func(c change) bool { return field(c, "summary") == "edit "+c.Data.ItemID })
			if len(got) != 50 {
				t.Errorf("%d items published, want the 50 edited", len(got))
			}
			// Let the storm's last fetch finish before counting.
			r.waitFor("the fetch lease released", func() bool {
				c, err := r.svc.Store.Cursor(context.Background(), w.ID)
				return err == nil && c.Holder == "" && c.Done == c.Wanted
			})
			n := r.sim.Stats().ListCalls - before
			t.Logf("the storm: 200 notifications, 50 edits, %d list calls", n)
			if n > 5 {
				t.Errorf("the storm cost %d list calls, want at most 5", n)
			}
		})
	}
}

// gated is a store whose cursor writes after a page (AdvanceCursor, and
// FinishSync, which writes the last page's) can be paused or failed: the
// moment between a page's events being confirmed and its cursor being
// written.
type gated struct {
	service.Store
	mu      sync.Mutex
	pause   chan struct{} // when set, a cursor write signals reached and waits on it
	reached chan struct{}
	fail    int // cursor writes left to fail, as if the instance died
}

func (g *gated) AdvanceCursor(ctx context.Context, id, holder string, at store.Position, until, now time.Time) error {
	if err := g.gate(); err != nil {
		return err
	}
	return g.Store.AdvanceCursor(ctx, id, holder, at, until, now)
}

func (g *gated) FinishSync(ctx context.Context, fi store.Finish) (store.Cursor, bool, error) {
	if err := g.gate(); err != nil {
		return store.Cursor{}, false, err
	}
	return g.Store.FinishSync(ctx, fi)
}

// gate pauses or fails a cursor write, as the test set it.
func (g *gated) gate() error {
	g.mu.Lock()
	pause, fail := g.pause, g.fail > 0
	if fail {
		g.fail--
	}
	g.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: the instance died before the cursor was written", store.ErrUnavailable)
	}
	if pause != nil {
		g.reached <- struct{}{}
		<-pause
	}
	return nil
}

// TestNotificationDuringFetch forces the interleaving: a fetch has read and
// published edit A and is about to write its cursor when edit B's
// notification arrives, joins (the fetch lease is held) and is
// acknowledged. The running fetch must be followed by one that reads B.
func TestNotificationDuringFetch(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			g := &gated{reached: make(chan struct{})}
			r := newRig(t, backend, rigOptions{wrap: func(s service.Store) service.Store { g.Store = s; return g }})
			w := r.add(calendarWatch("team-cal"))
			ctx := context.Background()

			release := make(chan struct{})
			g.mu.Lock()
			g.pause = release
			g.mu.Unlock()
			r.sim.EditEvent("team", googlesim.Event{ID: "a", Summary: "A"})
			<-g.reached // the fetch has published A and waits to write its cursor
			c0, err := r.svc.Store.Cursor(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			r.sim.EditEvent("team", googlesim.Event{ID: "b", Summary: "B"})
			r.waitFor("B's notification counted", func() bool {
				c, err := r.svc.Store.Cursor(ctx, w.ID)
				return err == nil && c.Wanted > c0.Wanted
			})
			g.mu.Lock()
			g.pause = nil
			g.mu.Unlock()
			close(release)
			r.waitItems(w.ID, []string{"a", "b"}, nil)
		})
	}
}

// TestCrashBeforeCursor: the request dies after a page's events are
// confirmed and before its cursor is written. The trigger is delivered again
// and the page read again from the old cursor: the item is published twice
// under one ce-id, and the edits after it flow.
func TestCrashBeforeCursor(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			g := &gated{}
			r := newRig(t, backend, rigOptions{wrap: func(s service.Store) service.Store { g.Store = s; return g }})
			w := r.add(calendarWatch("team-cal"))

			g.mu.Lock()
			g.fail = 1
			g.mu.Unlock()
			r.sim.EditEvent("team", googlesim.Event{ID: "a", Summary: "A"})
			r.waitFor("A published twice", func() bool { return len(r.changes(w.ID)) >= 2 })
			cs := r.changes(w.ID)
			if cs[0].ID != cs[1].ID || cs[0].Data.ItemID != "a" {
				t.Errorf("the replayed page has ids %q and %q, want one id for item a", cs[0].ID, cs[1].ID)
			}
			r.sim.EditEvent("team", googlesim.Event{ID: "b", Summary: "B"})
			r.waitItems(w.ID, []string{"a", "b"}, nil)
		})
	}
}

// TestAcrossRenewal: a renewal replaces the watch's channel; the cursor is
// the watch's, not the channel's, so an edit made just before the renewal
// and one after it both arrive, with no resync and no new baseline.
func TestAcrossRenewal(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			w := r.add(calendarWatch("team-cal"))
			ctx := context.Background()
			c0, err := r.svc.Store.Cursor(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}

			r.sim.EditEvent("team", googlesim.Event{ID: "before", Summary: "before the renewal"})
			// Make the channel due, as time would.
			if err := r.svc.Store.UpdateWatch(ctx, w.ID, store.WatchUpdate{ChannelExpiration: store.Ptr(time.Now().Add(time.Minute))}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if sum := r.pass(); sum.Renewed != 1 {
				t.Fatalf("pass renewed %d channels, want 1: %+v", sum.Renewed, sum)
			}
			r.sim.EditEvent("team", googlesim.Event{ID: "after", Summary: "after the renewal"})
			r.waitItems(w.ID, []string{"before", "after"}, nil)
			if n := len(r.ofType(w.ID, event.TypeResync)); n != 0 {
				t.Errorf("%d resync events; a renewal must keep the cursor", n)
			}
			c1, _ := r.svc.Store.Cursor(ctx, w.ID)
			if c1.Token == c0.Token || c1.Token == "" {
				t.Errorf("cursor %q after the edits, was %q: it did not move on", c1.Token, c0.Token)
			}
		})
	}
}

// TestExpiredCursorResyncs: Google drops the history a sync token points
// into (410). Sync publishes one resync event, takes a fresh baseline, and
// the next edit flows.
func TestExpiredCursorResyncs(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			w := r.add(calendarWatch("team-cal"))

			r.sim.ExpireSyncTokens()
			r.sim.EditEvent("team", googlesim.Event{ID: "lost", Summary: "in the baseline"})
			r.waitFor("the resync", func() bool { return len(r.ofType(w.ID, event.TypeResync)) > 0 })
			// What changes between the resync and the fresh baseline is
			// in the baseline, which the resync event says to read whole.
			r.idle(w.ID)
			r.sim.EditEvent("team", googlesim.Event{ID: "next", Summary: "after the resync"})
			r.waitItems(w.ID, []string{"next"}, nil)
			if n := len(r.ofType(w.ID, event.TypeResync)); n != 1 {
				t.Errorf("%d resync events, want 1", n)
			}
		})
	}
}

// TestRevokedGrantEndsWatch: a read refused for good (the subject's grant
// revoked: 401) ends the watch as Renew would: failed, with its event, and
// its channel retired for the next pass to stop.
func TestRevokedGrantEndsWatch(t *testing.T) {
	r := newRig(t, "memory", rigOptions{})
	w := calendarWatch("ann-cal")
	w.Subject = "ann@example.com"
	w = r.add(w)
	ctx := context.Background()

	r.sim.RevokeSubject("ann@example.com")
	if err := r.sim.Push(w.ChannelID, "exists"); err != nil {
		t.Fatal(err)
	}
	// The state and the event's place in the outbox are one step, then
	// the event is published.
	r.waitFor("the failed event and state", func() bool {
		got, err := r.svc.Store.Watch(ctx, w.ID)
		return len(r.ofType(w.ID, event.TypeFailed)) == 1 && err == nil && got.State == store.WatchFailed
	})
	got, err := r.svc.Store.Watch(ctx, w.ID)
	if err != nil || got.State != store.WatchFailed || got.ChannelID != "" {
		t.Fatalf("watch after a revoked read: %+v, %v; want failed with no channel", got, err)
	}
	ch, err := r.svc.Store.Channel(ctx, w.ChannelID)
	if err != nil || ch.State != store.ChannelStopping {
		t.Errorf("channel %s: %+v, %v; want stopping", w.ChannelID, ch.State, err)
	}
	// Stopped as its subject, which the grant's return lets it be.
	r.sim.RestoreSubject("ann@example.com")
	if sum := r.pass(); sum.ChannelsStopped != 1 {
		t.Errorf("the next pass stopped %d channels, want the failed watch's one", sum.ChannelsStopped)
	}
}

// TestChangeAsChannelOpens: an edit made the moment the watch's first
// channel is live is published. The cursor was taken before the channel
// opened (Renew asks Sync for it), so the edit comes after it; a cursor
// taken on the channel's sync message would have swallowed it.
func TestChangeAsChannelOpens(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{debounce: 200 * time.Millisecond})
			r.sim.EditEvent("team", googlesim.Event{ID: "old", Summary: "before the watch"})
			w := r.open(calendarWatch("team-cal"))
			r.sim.EditEvent("team", googlesim.Event{ID: "new", Summary: "as the channel opened"})
			r.waitItems(w.ID, []string{"new"}, nil)
			if _, found := r.items(w.ID)["old"]; found {
				t.Error("the item from before the watch was published, with no snapshot asked for")
			}
		})
	}
}

// TestBaselineRefused: the first cursor cannot be taken (the subject's
// grant is revoked), so the pass opens no channel and ends the watch as a
// refused watch call would, with its failed event.
func TestBaselineRefused(t *testing.T) {
	r := newRig(t, "memory", rigOptions{})
	ctx := context.Background()
	r.sim.RevokeSubject("ann@example.com")
	w := calendarWatch("ann-cal")
	w.Subject = "ann@example.com"
	if _, err := renew.AddWatch(ctx, r.svc.Store, w, r.svc.Config.RenewInterval, time.Now()); err != nil {
		t.Fatal(err)
	}
	if sum := r.pass(); sum.Failed != 1 {
		t.Errorf("pass: %+v; want the watch failed", sum)
	}
	got, err := r.svc.Store.Watch(ctx, w.ID)
	if err != nil || got.State != store.WatchFailed {
		t.Errorf("watch: %+v, %v; want failed", got, err)
	}
	if st := r.sim.Stats(); st.WatchCalls != 0 {
		t.Errorf("%d watch calls; the channel must not be asked for without a cursor", st.WatchCalls)
	}
	r.waitFor("the failed event", func() bool { return len(r.ofType(w.ID, event.TypeFailed)) == 1 })
}
