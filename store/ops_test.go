package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// What operators read: strays and the last pass (ops.go). Cases of
// contractCases, run on both stores.

func testStrays(t *testing.T, s contractStore) {
	ctx := t.Context()
	a := store.Stray{ChannelID: "a", ResourceID: "r", ResourceURI: "https://www.googleapis.com/drive/v3/files/f", State: store.StraySeen, SeenAt: t0}
	b := store.Stray{ChannelID: "b", State: store.StraySeen, SeenAt: t0}
	for _, st := range []store.Stray{b, a} {
		if err := s.RecordStray(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// The same channel again is deduplicated: one record per id.
	if err := s.RecordStray(ctx, a); !errors.Is(err, store.ErrExists) {
		t.Errorf("second RecordStray = %v, want ErrExists", err)
	}
	// An id no document can have is refused, not stored.
	if err := s.RecordStray(ctx, store.Stray{ChannelID: "x/y", State: store.StraySeen}); !errors.Is(err, store.ErrInvalidID) {
		t.Errorf("RecordStray(x/y) = %v, want ErrInvalidID", err)
	}
	stopped := store.StrayStopped
	if err := s.UpdateStray(ctx, "b", store.StrayUpdate{State: &stopped, StoppedAt: store.Ptr(t0.Add(time.Minute)), DeleteAt: store.Ptr(t0.Add(store.Retention))}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateStray(ctx, "nope", store.StrayUpdate{State: &stopped}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateStray(nope) = %v, want ErrNotFound", err)
	}
	seen, err := s.Strays(ctx, store.StraySeen, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Stray{{ChannelID: "a", ResourceID: "r", ResourceURI: a.ResourceURI, State: store.StraySeen, SeenAt: stored(t0)}}, seen); diff != "" {
		t.Errorf("seen strays (-want +got):\n%s", diff)
	}
	all, err := s.Strays(ctx, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ChannelID != "a" {
		t.Errorf("Strays(all, limit 1) = %+v, want a", all)
	}
	all, _ = s.Strays(ctx, "", 0)
	if len(all) != 2 || all[1].State != store.StrayStopped || !all[1].StoppedAt.Equal(stored(t0.Add(time.Minute))) {
		t.Errorf("Strays(all) = %+v, want b stopped", all)
	}
}

func testLastPass(t *testing.T, s contractStore) {
	if _, err := s.LastPass(t.Context()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LastPass before any = %v, want ErrNotFound", err)
	}
	for _, p := range []store.PassRecord{
		{StartedAt: t0, DurationMs: 1500, Summary: map[string]any{"renewed": 3.0, "deferred": map[string]any{"drive asked this pass to slow down": 2.0}}},
		{StartedAt: t0.Add(10 * time.Minute), DurationMs: 20, Error: "renew: query due watches: store: unavailable"},
	} {
		if err := s.RecordPass(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		got, err := s.LastPass(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		p.StartedAt = stored(p.StartedAt)
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("LastPass (-want +got):\n%s", diff)
		}
	}
}
