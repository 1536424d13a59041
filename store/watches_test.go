package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// Watches: their round trip, queries, updates and deletion. Cases of
// contractCases, run on both stores.

func testWatchRoundTrip(t *testing.T, s contractStore) {
	w := sampleWatch("w1")
	w.ChannelID, w.ChannelExpiration, w.LeaseUntil = "c1", t0.Add(time.Hour), t0.Add(time.Minute)
	w.LastError, w.Failures = "boom", 2
	w.Changes, w.Snapshot = store.Ptr(false), true
	mustCreateWatches(t, s, w)
	got, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalWatch(w), got); diff != "" {
		t.Errorf("Watch (-want +got):\n%s", diff)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
}

// A Gmail push names only a mailbox: the active watches of that kind
// acting as it are the ones it is for.
func testWatchesOf(t *testing.T, s contractStore) {
	with := func(id, kind, subject string, state store.WatchState) store.Watch {
		w := sampleWatch(id)
		w.Kind, w.Subject, w.State = kind, subject, state
		return w
	}
	mustCreateWatches(t, s,
		with("b", "gmail.users", "ann@example.com", store.WatchActive),
		with("a", "gmail.users", "ann@example.com", store.WatchActive),
		with("other-mailbox", "gmail.users", "bob@example.com", store.WatchActive),
		with("other-kind", "calendar.events", "ann@example.com", store.WatchActive),
		with("failed", "gmail.users", "ann@example.com", store.WatchFailed))
	got, err := s.WatchesOf(t.Context(), "gmail.users", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range got {
		ids = append(ids, w.ID)
	}
	if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" {
		t.Errorf("WatchesOf (-want +got):\n%s", diff)
	}
}

func testWatchesByState(t *testing.T, s contractStore) {
	var ws []store.Watch
	for id, state := range map[string]store.WatchState{
		"w3": store.WatchActive, "w1": store.WatchActive, "w2": store.WatchGone,
		"w5": store.WatchDeleted, "w4": store.WatchFailed, "w0": store.WatchActive,
	} {
		w := sampleWatch(id)
		w.State = state
		ws = append(ws, w)
	}
	mustCreateWatches(t, s, ws...)
	tests := []struct {
		state store.WatchState
		limit int
		want  []string
	}{
		{"", 0, []string{"w0", "w1", "w2", "w3", "w4", "w5"}}, // empty state: every watch, by id
		{store.WatchActive, 0, []string{"w0", "w1", "w3"}},    // only that state, by id
		{store.WatchActive, 2, []string{"w0", "w1"}},          // a limit keeps the first by id
		{"", 4, []string{"w0", "w1", "w2", "w3"}},
		{store.WatchGone, 0, []string{"w2"}},
		{store.WatchDeleted, 0, []string{"w5"}},
		{"nonesuch", 0, []string{}}, // an unknown state matches nothing, without error
	}
	for _, tt := range tests {
		got, err := s.Watches(t.Context(), tt.state, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, watchIDs(got)); diff != "" {
			t.Errorf("Watches(%q) ids (-want +got):\n%s", tt.state, diff)
		}
	}
	all, err := s.Watches(t.Context(), store.WatchGone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalWatch(ws[indexOf(ws, "w2")]), all[0]); diff != "" {
		t.Errorf("Watches returns whole watches (-want +got):\n%s", diff)
	}
}

func testDueWatches(t *testing.T, s contractStore) {
	mk := func(id string, state store.WatchState, due time.Time) store.Watch {
		w := sampleWatch(id)
		w.State, w.DueAt = state, due
		return w
	}
	mustCreateWatches(t, s,
		mk("late", store.WatchActive, t0.Add(3*time.Hour)),
		mk("soon", store.WatchActive, t0.Add(30*time.Minute)),
		mk("new-b", store.WatchActive, time.Time{}),
		mk("new-a", store.WatchActive, time.Time{}),
		mk("sooner", store.WatchActive, t0.Add(10*time.Minute)),
		mk("tie-b", store.WatchActive, t0.Add(20*time.Minute)),
		mk("tie-a", store.WatchActive, t0.Add(20*time.Minute)),
		mk("gone", store.WatchGone, t0.Add(time.Minute)),
		mk("failed", store.WatchFailed, time.Time{}),
		mk("edge", store.WatchActive, t0.Add(time.Hour)),
	)
	at := func(w string, d time.Duration) store.Watch { return store.Watch{ID: w, DueAt: t0.Add(d)} }
	// Bounds are given as stored, so that "now is inclusive" is tested
	// at the exact stored instant.
	tests := []struct {
		name  string
		now   time.Time
		after store.Watch
		limit int
		want  []string
	}{
		{"new watches (zero due time) first, then soonest, ties by id; only active; now is inclusive",
			stored(t0.Add(time.Hour)), store.Watch{}, 0, []string{"new-a", "new-b", "sooner", "tie-a", "tie-b", "soon", "edge"}},
		{"limit cuts the soonest", t0.Add(time.Hour), store.Watch{}, 3, []string{"new-a", "new-b", "sooner"}},
		{"a page starts after the last of the one before", t0.Add(4 * time.Hour), at("sooner", 10*time.Minute), 3,
			[]string{"tie-a", "tie-b", "soon"}},
		{"a page after one of two ties takes the other", t0.Add(4 * time.Hour), at("tie-a", 20*time.Minute), 2,
			[]string{"tie-b", "soon"}},
		{"a page after a zero due time", t0.Add(4 * time.Hour), store.Watch{ID: "new-a"}, 2, []string{"new-b", "sooner"}},
		{"the last page is short", t0.Add(4 * time.Hour), at("edge", time.Hour), 3, []string{"late"}},
		{"a time before every due one leaves only new watches", stored(t0), store.Watch{}, 0, []string{"new-a", "new-b"}},
	}
	for _, tt := range tests {
		got, err := s.DueWatches(t.Context(), tt.now, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, watchIDs(got)); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testUpdateWatch(t *testing.T, s contractStore) {
	w := sampleWatch("w1")
	w.ChannelID, w.ChannelExpiration, w.Failures, w.LastError = "c1", t0.Add(time.Hour), 3, "old"
	w.DueAt = t0.Add(30 * time.Minute)
	mustCreateWatches(t, s, w)
	now := t0.Add(time.Minute)
	tests := []struct {
		name   string
		update store.WatchUpdate
		change func(*store.Watch)
	}{
		{"an empty update sets only updatedAt", store.WatchUpdate{}, func(*store.Watch) {}},
		{"state and error, nothing else", store.WatchUpdate{State: store.Ptr(store.WatchFailed), LastError: store.Ptr("denied")},
			func(w *store.Watch) { w.State, w.LastError = store.WatchFailed, "denied" }},
		// Renew puts a subject in its canonical form.
		{"subject", store.WatchUpdate{Subject: store.Ptr("bob@example.com")},
			func(w *store.Watch) { w.Subject = "bob@example.com" }},
		// The due time follows the channel: a writer that changes it
		// and does not say when the watch is due makes it due at once.
		{"zero values are written, not skipped; the channel's change makes the watch due at once",
			store.WatchUpdate{Failures: store.Ptr(0), ChannelID: store.Ptr(""), ChannelExpiration: store.Ptr(time.Time{})},
			func(w *store.Watch) {
				w.Failures, w.ChannelID, w.ChannelExpiration, w.DueAt = 0, "", time.Time{}, time.Time{}
			}},
		{"a due time given is written", store.WatchUpdate{DueAt: store.Ptr(t0.Add(time.Hour))},
			func(w *store.Watch) { w.DueAt = stored(t0.Add(time.Hour)) }},
		{"a retry time with its due time", store.WatchUpdate{RetryAt: store.Ptr(t0.Add(2 * time.Hour)), DueAt: store.Ptr(t0.Add(2 * time.Hour))},
			func(w *store.Watch) { w.RetryAt, w.DueAt = stored(t0.Add(2*time.Hour)), stored(t0.Add(2*time.Hour)) }},
		{"a retry time alone makes the watch due at once", store.WatchUpdate{RetryAt: store.Ptr(time.Time{})},
			func(w *store.Watch) { w.RetryAt, w.DueAt = time.Time{}, time.Time{} }},
		{"every field", store.WatchUpdate{
			State: store.Ptr(store.WatchActive), ChannelID: store.Ptr("c2"), ChannelExpiration: store.Ptr(t0.Add(2 * time.Hour)),
			LastError: store.Ptr(""), Failures: store.Ptr(7), LeaseUntil: store.Ptr(t0.Add(time.Second)),
		}, func(w *store.Watch) {
			w.State, w.ChannelID, w.ChannelExpiration = store.WatchActive, "c2", stored(t0.Add(2*time.Hour))
			w.LastError, w.Failures, w.LeaseUntil = "", 7, stored(t0.Add(time.Second))
		}},
	}
	want := normalWatch(w)
	for i, tt := range tests {
		at := now.Add(time.Duration(i) * time.Second)
		if err := s.UpdateWatch(t.Context(), "w1", tt.update, at); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		tt.change(&want)
		want.UpdatedAt = stored(at)
		got, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testDeleteWatch(t *testing.T, s contractStore) {
	mustCreateWatches(t, s, sampleWatch("w1"), sampleWatch("w2"))
	for range 2 {
		if err := s.DeleteWatch(t.Context(), "w1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"never-there", "a/b", ""} {
		if err := s.DeleteWatch(t.Context(), id); err != nil {
			t.Errorf("DeleteWatch(%q) of a missing watch: %v", id, err)
		}
	}
	if _, err := s.Watch(t.Context(), "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Watch after delete = %v, want ErrNotFound", err)
	}
	got, err := s.Watches(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"w2"}, watchIDs(got)); diff != "" {
		t.Errorf("the other watch went too (-want +got):\n%s", diff)
	}
}

func testChangesRoundTrip(t *testing.T, s contractStore) {
	tests := []struct {
		name     string
		changes  *bool
		snapshot bool
	}{
		{"unset means on", nil, false},
		{"on, with a snapshot", store.Ptr(true), true},
		// false is what omitempty must not drop.
		{"off", store.Ptr(false), false},
	}
	for i, tt := range tests {
		w := store.Watch{ID: fmt.Sprint("w", i), Kind: "calendar.events", State: store.WatchActive, Changes: tt.changes, Snapshot: tt.snapshot}
		mustCreateWatches(t, s, w)
		got, err := s.Watch(t.Context(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		// Neither the caller's pointer nor a reader's is the
		// store's.
		if tt.changes != nil {
			orig := *tt.changes
			*w.Changes, *got.Changes = !orig, !orig
			again, err := s.Watch(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if again.Changes == nil || *again.Changes != orig {
				t.Errorf("%s: changes %v after callers changed their copies, want %v", tt.name, again.Changes, orig)
			}
		}
	}
}

func TestWantsChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		changes *bool
		want    bool
	}{
		{"a watch that never said is on", nil, true},
		{"changes: true", store.Ptr(true), true},
		{"changes: false turns Sync off", store.Ptr(false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (store.Watch{Changes: tt.changes}).WantsChanges(); got != tt.want {
				t.Errorf("WantsChanges() = %v, want %v", got, tt.want)
			}
		})
	}
}
