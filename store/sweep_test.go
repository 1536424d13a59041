package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/store"
)

// testDueSweep: a watch from before dueAt is not returned by DueWatches
// until the sweep gives it the field; the sweep pages through the active
// watches in id order, resuming where the last page stopped, gives each
// active one that lacks the field the time dueAt makes of it (and no other
// watch anything), and once it has seen them all says it is done, and
// reads nothing more.
func testDueSweep(t *testing.T, s contractStore) {
	ctx := context.Background()
	dueAt := func(w store.Watch) time.Time { return w.ChannelExpiration.Add(-time.Hour) }
	expires := t0.Add(2 * time.Hour)
	mustCreateWatches(t, s, sampleWatch("a"))
	for _, id := range []string{"b", "c", "d", "e"} {
		w := sampleWatch(id)
		w.ChannelID, w.ChannelExpiration = "ch-"+id, expires
		if id == "c" {
			w.State = store.WatchFailed
		}
		backend.CreateWatchWithoutDueAt(t, s, w)
	}
	// e is given a due time by a write before the sweep reaches it, which
	// the sweep must keep.
	given := t0.Add(time.Minute)
	if err := s.UpdateWatch(ctx, "e", store.WatchUpdate{DueAt: &given}, t0); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueWatches(ctx, t0.Add(24*time.Hour), store.Watch{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := watchIDs(due); !slices.Equal(got, []string{"a", "e"}) {
		t.Fatalf("due before the sweep: %v, want [a e] (b and d lack dueAt, c is not active)", got)
	}

	// Active watches a, b, d, e: pages of two, then one short page.
	want := []store.SweepPage{{Read: 2, Dated: 1}, {Read: 2, Dated: 1}, {Read: 0, Done: true}, {Done: true}}
	for i, w := range want {
		page, err := s.SweepDue(ctx, 2, dueAt, t0)
		if err != nil {
			t.Fatal(err)
		}
		if page != w {
			t.Errorf("page %d: %+v, want %+v", i, page, w)
		}
	}
	due, err = s.DueWatches(ctx, t0.Add(24*time.Hour), store.Watch{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := watchIDs(due); !slices.Equal(got, []string{"a", "e", "b", "d"}) {
		t.Errorf("due after the sweep: %v, want [a e b d] in due order", got)
	}
	for id, at := range map[string]time.Time{"b": stored(expires.Add(-time.Hour)), "d": stored(expires.Add(-time.Hour)), "e": stored(given)} {
		if w, err := s.Watch(ctx, id); err != nil || !w.DueAt.Equal(at) || !w.UpdatedAt.Equal(stored(t0)) {
			t.Errorf("watch %s: due at %v, updated %v (%v); want due at %v and updatedAt unchanged", id, w.DueAt, w.UpdatedAt, err, at)
		}
	}
	if c, err := s.Watch(ctx, "c"); err != nil || !c.DueAt.IsZero() {
		t.Errorf("ended watch c: due at %v (%v), want it left as it was", c.DueAt, err)
	}
}

// testDueSweepEmpty: a store with no watch (a new deployment) is swept, and
// done, on the first call.
func testDueSweepEmpty(t *testing.T, s contractStore) {
	for i := range 2 {
		page, err := s.SweepDue(context.Background(), 10, func(store.Watch) time.Time { return t0 }, t0)
		if err != nil || page != (store.SweepPage{Done: true}) {
			t.Errorf("sweep %d of an empty store: %+v, %v; want done, nothing read", i, page, err)
		}
	}
}
