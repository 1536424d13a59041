package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// testCursorRecords is the part of testContract on cursors as records:
// lookups, lists and their deletion with their watch (cursor_test.go has
// the rules of their lease).
func testCursorRecords(t *testing.T, newStore func(t *testing.T) contractStore) {
	runCases(t, newStore, []contractCase{
		{"cursors that do not exist", testNoCursor},
		{"Cursors lists by watch id", testCursorsList},
		{"DeleteWatch deletes the watch's cursor in the same step", testDeleteWatchCursor},
		{"OwedCursors finds failed reads and dead holders, not live or done ones", testOwedCursors},
	})
}

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
			{"FinishSync", func() error { _, _, err := s.FinishSync(ctx, id, "h", 0, t0, t0); return err }, store.ErrNotFound},
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
	if _, _, err := s.FinishSync(ctx, "done", "h", c.Wanted, t0, t0); err != nil {
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
