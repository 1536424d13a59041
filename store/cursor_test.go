package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// The rules of a cursor's lease (cursor.go), then cursors as records.
// Cases of contractCases, run on both stores.

func testWantSyncTakes(t *testing.T, s contractStore) {
	live := t0.Add(30 * time.Second) // within the first claim's minute
	tests := []struct {
		name       string
		first      *store.SyncClaim // taken before claim, when set
		claim      func(id string) store.SyncClaim
		wantTook   bool
		wantHolder string
	}{
		// No cursor yet: the claim creates it and takes it.
		{"first claim creates and takes", nil,
			func(id string) store.SyncClaim { return claim(id, "h2", "m2", t0) }, true, "h2"},
		// Another message while the lease runs: counted, not taken.
		{"a different message waits for a live lease", &store.SyncClaim{Holder: "h1", Message: "m1"},
			func(id string) store.SyncClaim { return claim(id, "h2", "m2", live) }, false, "h1"},
		// Two CLI runs carry no message: "" never matches "".
		{"no message never takes a live lease", &store.SyncClaim{Holder: "h1"},
			func(id string) store.SyncClaim { return claim(id, "h2", "", live) }, false, "h1"},
		// Pub/Sub redelivers when the holder's attempt failed; the
		// holder may still be publishing a page it read, so the
		// redelivery waits until it has been quiet.
		{"the holder's own message does not take a lease written lately", &store.SyncClaim{Holder: "h1", Message: "m1"},
			func(id string) store.SyncClaim { return claim(id, "h2", "m1", live) }, false, "h1"},
		{"the holder's own message takes over a quiet live lease", &store.SyncClaim{Holder: "h1", Message: "m1", Until: t0.Add(time.Hour)},
			func(id string) store.SyncClaim { return claim(id, "h2", "m1", stored(t0.Add(store.TakeoverQuiet))) }, true, "h2"},
		{"another message does not take a quiet live lease", &store.SyncClaim{Holder: "h1", Message: "m1", Until: t0.Add(time.Hour)},
			func(id string) store.SyncClaim { return claim(id, "h2", "m2", stored(t0.Add(store.TakeoverQuiet))) }, false, "h1"},
		// At its stored end the lease no longer runs past now.
		{"an expired lease is taken", &store.SyncClaim{Holder: "h1", Message: "m1"},
			func(id string) store.SyncClaim { return claim(id, "h2", "m2", stored(t0.Add(time.Minute))) }, true, "h2"},
		{"a lease one microsecond short of its end is not", &store.SyncClaim{Holder: "h1", Message: "m1"},
			func(id string) store.SyncClaim {
				return claim(id, "h2", "m2", stored(t0.Add(time.Minute)).Add(-time.Microsecond))
			}, false, "h1"},
	}
	for i, tt := range tests {
		id := fmt.Sprint("w", i)
		wanted := int64(1)
		if tt.first != nil {
			first := claim(id, tt.first.Holder, tt.first.Message, t0)
			if !tt.first.Until.IsZero() {
				first.Until = tt.first.Until
			}
			mustWant(t, s, first)
			wanted = 2
		}
		cl := tt.claim(id)
		c, took := mustWant(t, s, cl)
		if took != tt.wantTook || c.Holder != tt.wantHolder || c.Wanted != wanted {
			t.Errorf("%s: took %v, holder %q, wanted %d; want %v, %q, %d", tt.name, took, c.Holder, c.Wanted, tt.wantTook, tt.wantHolder, wanted)
		}
		if took && (c.Message != cl.Message || !c.LeaseUntil.Equal(stored(cl.Until))) {
			t.Errorf("%s: took with message %q until %v; want %q, %v", tt.name, c.Message, c.LeaseUntil, cl.Message, stored(cl.Until))
		}
		mustCursor(t, s, id, c)
	}
	// A notification's claim records when it came, taken or not; a read
	// asked for without one (the CLI, Renew) records nothing.
	for id, want := range map[string]time.Time{"w1": stored(live), "w2": {}} {
		if c, err := s.Cursor(t.Context(), id); err != nil || !c.NotifiedAt.Equal(want) {
			t.Errorf("cursor %s notified at %v (%v), want %v", id, c.NotifiedAt, err, want)
		}
	}
	// The whole document a first claim writes.
	want := store.Cursor{WatchID: "w0", Wanted: 1, Holder: "h2", Message: "m2", LeaseUntil: stored(t0.Add(time.Minute)),
		HeldAt: stored(t0), Fetching: stored(t0), NotifiedAt: stored(t0), UpdatedAt: stored(t0)}
	if diff := cmp.Diff(want, mustCursor(t, s, "w0", want)); diff != "" {
		t.Errorf("first cursor (-want +got):\n%s", diff)
	}
}

func testWantSyncConcurrent(t *testing.T, s contractStore) {
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		holders []string
		errs    []error
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			c, took, err := s.WantSync(t.Context(), claim("w1", fmt.Sprint("h", i), fmt.Sprint("m", i), t0))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case took:
				holders = append(holders, c.Holder)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(holders) != 1 || len(errs) > 0 {
		t.Fatalf("holders %v, errors %v; want one holder and no error", holders, errs)
	}
	c, err := s.Cursor(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Wanted != n || c.Holder != holders[0] {
		t.Errorf("wanted %d, holder %q; want %d, %q", c.Wanted, c.Holder, n, holders[0])
	}
}

func testOnlyHolder(t *testing.T, s contractStore) {
	ctx := t.Context()
	mustWant(t, s, claim("w1", "h1", "m1", t0))
	// h2 was counted and refused; h3 took the lease once h1's ran out.
	mustWant(t, s, claim("w2", "h1", "m1", t0))
	mustWant(t, s, claim("w2", "h2", "m2", t0))
	before, _ := mustWant(t, s, claim("w2", "h3", "m3", t0.Add(time.Hour)))
	later := t0.Add(time.Hour + time.Second)
	for _, holder := range []string{"h1", "h2", ""} {
		calls := []struct {
			name string
			call func() error
		}{
			{"AdvanceCursor", func() error { return s.AdvanceCursor(ctx, "w2", holder, tok("t"), later.Add(time.Minute), later) }},
			{"FinishSync", func() error {
				_, _, err := s.FinishSync(ctx, store.Finish{WatchID: "w2", Holder: holder, Seen: 3, Until: later.Add(time.Minute), Now: later})
				return err
			}},
			{"ReleaseSync", func() error { return s.ReleaseSync(ctx, "w2", holder, "boom", later) }},
		}
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("%s by %q = %v, want ErrLeaseLost", c.name, holder, err)
			}
		}
	}
	mustCursor(t, s, "w2", before)
	// A released cursor has no holder; "" is no holder either.
	if err := s.ReleaseSync(ctx, "w1", "h1", "boom", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceCursor(ctx, "w1", "", tok("t"), t0, t0); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AdvanceCursor with no holder on a released cursor = %v, want ErrLeaseLost", err)
	}
}

func testFinishSync(t *testing.T, s contractStore) {
	ctx := t.Context()
	c, _ := mustWant(t, s, claim("w1", "h1", "m1", t0))
	seen := c.Wanted
	if err := s.AdvanceCursor(ctx, "w1", "h1", tok("page-1"), t0.Add(2*time.Minute), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// A notification during the fetch.
	mustWant(t, s, claim("w1", "h2", "m2", t0.Add(2*time.Second)))
	// The read's last page moves the cursor in the finish's own write;
	// the next read begins after the debounce (Next).
	c, released, err := s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: seen, At: tok("page-2"),
		Next: t0.Add(5 * time.Second), Until: t0.Add(3 * time.Minute), Now: t0.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	want := store.Cursor{WatchID: "w1", Token: "page-2", Wanted: 2, Done: 1, Holder: "h1", Message: "m1",
		LeaseUntil: stored(t0.Add(3 * time.Minute)), HeldAt: stored(t0.Add(5 * time.Second)), Fetching: stored(t0.Add(5 * time.Second)),
		SyncedAt: stored(t0.Add(3 * time.Second)), NotifiedAt: stored(t0.Add(2 * time.Second)), UpdatedAt: stored(t0.Add(3 * time.Second))}
	if released {
		t.Error("FinishSync released the lease with a notification unfetched")
	}
	if diff := cmp.Diff(want, mustCursor(t, s, "w1", c)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	// The fetch once more, which sees both notifications; a resync
	// cleared the token.
	c, released, err = s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: 2,
		Until: t0.Add(5 * time.Minute), Now: t0.Add(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	want = store.Cursor{WatchID: "w1", Wanted: 2, Done: 2, SyncedAt: stored(t0.Add(5 * time.Second)),
		NotifiedAt: stored(t0.Add(2 * time.Second)), UpdatedAt: stored(t0.Add(5 * time.Second))}
	if !released {
		t.Error("FinishSync kept the lease with nothing left to fetch")
	}
	if diff := cmp.Diff(want, mustCursor(t, s, "w1", c)); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	// The next notification takes the lease at once.
	if _, took := mustWant(t, s, claim("w1", "h3", "m3", t0.Add(6*time.Second))); !took {
		t.Error("WantSync after FinishSync released did not take the lease")
	}
}

func testReleaseSync(t *testing.T, s contractStore) {
	ctx := t.Context()
	for i, holder := range []string{"h1", "h2"} {
		mustWant(t, s, claim("w1", holder, "m", t0))
		if err := s.ReleaseSync(ctx, "w1", holder, fmt.Sprint("boom ", i), t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Cursor(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Cursor{WatchID: "w1", Wanted: 2, LastError: "boom 1", Failures: 2,
		LeaseUntil: stored(t0.Add(time.Second)), NotifiedAt: stored(t0), UpdatedAt: stored(t0.Add(time.Second))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after two failures (-want +got):\n%s", diff)
	}
	// A completed fetch clears the failures.
	mustWant(t, s, claim("w1", "h3", "m", t0))
	c, _, err := s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h3", Seen: 3, Until: t0, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if c.LastError != "" || c.Failures != 0 {
		t.Errorf("after a completed fetch: lastError %q, failures %d", c.LastError, c.Failures)
	}
}

func testCovers(t *testing.T, s contractStore) {
	ctx := t.Context()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// The claim marks the read's start: the debounce's end, 2 s on.
	cl := claim("w1", "h1", "m1", t0)
	cl.Begins = at(2 * time.Second)
	c, _ := mustWant(t, s, cl)
	if c.Fetching != stored(at(2*time.Second)) || c.HeldAt != c.Fetching {
		t.Errorf("claimed: fetching %v, held %v; want both %v", c.Fetching, c.HeldAt, stored(at(2*time.Second)))
	}
	// Waiting out the debounce: the coming read covers a notification.
	if !c.Covers(at(time.Second)) {
		t.Error("a live holder that has not begun reading does not cover a notification")
	}
	// Within ClockSkew of the read's start, the holder's clock may be
	// there already.
	if c.Covers(at(2*time.Second - store.ClockSkew)) {
		t.Error("a notification within ClockSkew of the read's start is covered")
	}
	if c.Covers(at(2 * time.Minute)) {
		t.Error("a lease past its end covers a notification")
	}
	// A covered notification's claim writes nothing, not even its count;
	// the holder's own message, redelivered, counts itself.
	if got, took := mustWant(t, s, claim("w1", "h2", "m2", at(time.Second))); took || got.Wanted != 1 {
		t.Errorf("a covered claim: took %v, wanted %d; want false, 1", took, got.Wanted)
	}
	mustCursor(t, s, "w1", c)
	if got, took := mustWant(t, s, claim("w1", "h3", "m1", at(time.Second))); took || got.Wanted != 2 {
		t.Errorf("the holder's message again: took %v, wanted %d; want false, 2", took, got.Wanted)
	}
	// A notification during the read is counted, so the holder reads
	// again, and while it waits to, it covers once more.
	mustWant(t, s, claim("w1", "h2", "m2", at(3*time.Second)))
	c, released, err := s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: c.Wanted,
		Next: at(7 * time.Second), Until: at(4 * time.Minute), Now: at(5 * time.Second)})
	if err != nil || released {
		t.Fatalf("FinishSync: released %v, %v; want kept", released, err)
	}
	if c = mustCursor(t, s, "w1", c); !c.Covers(at(6*time.Second)) || c.Covers(at(7*time.Second)) {
		t.Errorf("holder between reads does not cover until its next read only: %+v", c)
	}
	c, released, err = s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h1", Seen: 3,
		Until: at(5 * time.Minute), Now: at(8 * time.Second)})
	if err != nil || !released {
		t.Fatalf("FinishSync: released %v, %v; want released", released, err)
	}
	if c = mustCursor(t, s, "w1", c); !c.Fetching.IsZero() || c.Covers(at(9*time.Second)) {
		t.Errorf("released cursor still marks a read or covers: %+v", c)
	}
}

func testPosition(t *testing.T, s contractStore) {
	ctx := t.Context()
	mustWant(t, s, claim("w1", "h1", "m1", t0))
	// A baseline listing cut off after its second page: no token yet,
	// the page to go on from.
	at := store.Position{Page: "p3"}
	if err := s.AdvanceCursor(ctx, "w1", "h1", at, t0.Add(time.Hour), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseSync(ctx, "w1", "h1", "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cursor(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if got.At() != at || got.Baselined() || got.Failures != 0 || got.LastError != "" {
		t.Errorf("after a budget's release: at %+v, baselined %v, failures %d %q; want %+v, false, 0", got.At(), got.Baselined(), got.Failures, got.LastError, at)
	}
	// The next turn goes on and completes: the token, no page.
	c, _ := mustWant(t, s, claim("w1", "h2", "m2", t0.Add(3*time.Second)))
	if c.At() != at {
		t.Errorf("a new holder finds %+v, want %+v", c.At(), at)
	}
	if err := s.AdvanceCursor(ctx, "w1", "h2", tok("sync-1"), t0.Add(time.Hour), t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	c, released, err := s.FinishSync(ctx, store.Finish{WatchID: "w1", Holder: "h2", Seen: c.Wanted, At: tok("sync-1"),
		Until: t0.Add(time.Hour), Now: t0.Add(5 * time.Second)})
	if err != nil || !released {
		t.Fatalf("FinishSync = %v, %v", released, err)
	}
	if c.At() != tok("sync-1") || !c.Baselined() || c.Owed(t0.Add(time.Hour)) {
		t.Errorf("after the read: at %+v, owed %v; want %+v, not owed", c.At(), c.Owed(t0.Add(time.Hour)), tok("sync-1"))
	}
	mustCursor(t, s, "w1", c)
}

// Cursors as records: lookups, lists and their deletion with their watch.

func testNoCursor(t *testing.T, s contractStore) {
	ctx := t.Context()
	for _, id := range append([]string{"nope"}, invalidIDs...) {
		calls := []struct {
			name string
			call func() error
			want error
		}{
			{"Cursor", func() error { _, err := s.Cursor(ctx, id); return err }, store.ErrNotFound},
			{"AdvanceCursor", func() error { return s.AdvanceCursor(ctx, id, "h", tok("t"), t0, t0) }, store.ErrNotFound},
			{"FinishSync", func() error {
				_, _, err := s.FinishSync(ctx, store.Finish{WatchID: id, Holder: "h", Until: t0, Now: t0})
				return err
			}, store.ErrNotFound},
			{"ReleaseSync", func() error { return s.ReleaseSync(ctx, id, "h", "x", t0) }, store.ErrNotFound},
		}
		if id != "nope" {
			// WantSync creates the cursor, so it refuses an id
			// no document can have.
			calls = append(calls, struct {
				name string
				call func() error
				want error
			}{"WantSync", func() error { _, _, err := s.WantSync(ctx, claim(id, "h", "", t0)); return err }, store.ErrInvalidID})
		}
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, c.want) {
				t.Errorf("%s(%q) = %v, want %v", c.name, id, err, c.want)
			}
		}
	}
	if got, err := s.Cursors(ctx, 0); err != nil || len(got) != 0 {
		t.Errorf("Cursors = %v, %v; want none", got, err)
	}
}

func testCursorsList(t *testing.T, s contractStore) {
	var want []store.Cursor
	for _, id := range []string{"b", "a", "c"} {
		c, _ := mustWant(t, s, claim(id, "h-"+id, "", t0))
		want = append(want, c)
	}
	want[0], want[1] = want[1], want[0]
	tests := []struct {
		limit int
		want  []store.Cursor
	}{
		{0, want},      // all, whole documents
		{2, want[:2]},  // the first two
		{10, want[:3]}, // a limit past the end
	}
	for _, tt := range tests {
		got, err := s.Cursors(t.Context(), tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Cursors(%d) (-want +got):\n%s", tt.limit, diff)
		}
	}
}

func testDeleteWatchCursor(t *testing.T, s contractStore) {
	ctx := t.Context()
	tests := []struct {
		name   string
		id     string
		watch  bool
		events []store.OutboxEvent
	}{
		{"a purge with no event", "w1", true, nil},
		{"a purge that reports it", "w2", true, []store.OutboxEvent{{ID: "w2/stopped", Event: "{}", CreatedAt: stored(t0)}}},
		// A cursor Sync created for a watch already gone.
		{"a cursor without its watch", "w3", false, nil},
	}
	mustWant(t, s, claim("keep", "h", "", t0))
	for _, tt := range tests {
		if tt.watch {
			mustCreateWatches(t, s, sampleWatch(tt.id))
		}
		mustWant(t, s, claim(tt.id, "h", "", t0))
		if err := s.DeleteWatch(ctx, tt.id, tt.events...); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if _, err := s.Cursor(ctx, tt.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Cursor after DeleteWatch = %v, want ErrNotFound", tt.name, err)
		}
		if _, err := s.Watch(ctx, tt.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Watch after DeleteWatch = %v, want ErrNotFound", tt.name, err)
		}
	}
	if _, err := s.Cursor(ctx, "keep"); err != nil {
		t.Errorf("another watch's cursor: %v", err)
	}
	if got, _ := s.Outbox(ctx, 0); len(got) != 1 || got[0].ID != "w2/stopped" {
		t.Errorf("outbox %+v, want the purge's event", got)
	}
}

func testOwedCursors(t *testing.T, s contractStore) {
	ctx := t.Context()
	// failed: released after a failure at t0+1s; dead: its holder's
	// lease ended at t0+2m with no release; budget: released at t0+3s
	// with its read unfinished; live: held past now; done: released with
	// nothing owed.
	mustWant(t, s, claim("failed", "h", "m", t0))
	if err := s.ReleaseSync(ctx, "failed", "h", "boom", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	dead := claim("dead", "h", "m", t0)
	dead.Until = t0.Add(2 * time.Minute)
	mustWant(t, s, dead)
	mustWant(t, s, claim("budget", "h", "m", t0))
	if err := s.ReleaseSync(ctx, "budget", "h", "", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	live := claim("live", "h", "m", t0)
	live.Until = t0.Add(time.Hour)
	mustWant(t, s, live)
	c, _ := mustWant(t, s, claim("done", "h", "m", t0))
	if _, _, err := s.FinishSync(ctx, store.Finish{WatchID: "done", Holder: "h", Seen: c.Wanted, Until: t0, Now: t0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now   time.Time
		limit int
		want  []string
	}{
		{t0, 0, nil}, // nothing has ended yet
		{t0.Add(5 * time.Second), 0, []string{"failed", "budget"}}, // longest owed first
		{t0.Add(5 * time.Minute), 0, []string{"failed", "budget", "dead"}},
		{t0.Add(5 * time.Minute), 2, []string{"failed", "budget"}}, // the limit
	}
	for _, tt := range tests {
		got, err := s.OwedCursors(ctx, tt.now, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.WatchID)
			if !c.Owed(tt.now) {
				t.Errorf("OwedCursors(%v) returned %s, which Owed says is not", tt.now, c.WatchID)
			}
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("OwedCursors(%v, %d) (-want +got):\n%s", tt.now, tt.limit, diff)
		}
	}
}
