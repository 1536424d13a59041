package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// testErrors is the part of testContract on what both stores refuse, and
// how they say it.
func testErrors(t *testing.T, newStore func(t *testing.T) contractStore) {
	runCases(t, newStore, []contractCase{
		{"each error says store: once", testSaysStoreOnce},
	})
}

// Every refusal wraps its sentinel and names the store once: an error
// made inside a Firestore transaction (a rule's refusal) passes through
// fail() as the rule said it, not wrapped a second time.
func testSaysStoreOnce(t *testing.T, s contractStore) {
	ctx := t.Context()
	w := sampleWatch("w1")
	w.LeaseHolder, w.LeaseUntil = "h1", t0.Add(time.Minute)
	removed := sampleWatch("removed")
	removed.State, removed.LeaseHolder = store.WatchDeleted, "h1"
	mustCreateWatches(t, s, w, removed)
	mustCreateChannels(t, s, sampleChannel("c1", "w1"), sampleChannel("c2", "removed"))
	if _, _, err := s.WantSync(ctx, claim("w1", "h1", "m1", t0)); err != nil {
		t.Fatal(err)
	}
	open := func(id string) func(store.Watch) (store.Channel, bool) {
		return func(w store.Watch) (store.Channel, bool) { return sampleChannel(id, w.ID), true }
	}
	for _, tt := range []struct {
		name string
		call func() error
		want error
	}{
		// Refused by a rule inside a transaction on Firestore.
		{"a lease another claim holds", func() error {
			_, err := s.LeaseWatch(ctx, "w1", lease("h2", t0.Add(time.Hour)), t0, nil)
			return err
		}, store.ErrLeased},
		{"a release by a claim that lost the lease", func() error {
			return s.ReleaseWatch(ctx, "w1", "h2", store.WatchUpdate{}, t0)
		}, store.ErrLeaseLost},
		{"an activation by a claim that lost the lease", func() error {
			return s.ActivateChannel(ctx, activation("c1", "w1", "h2"))
		}, store.ErrLeaseLost},
		{"an activation for a removed watch", func() error {
			return s.ActivateChannel(ctx, activation("c2", "removed", "h1"))
		}, store.ErrNotActive},
		{"an end by a claim that lost the lease", func() error {
			_, _, err := s.EndWatch(ctx, store.End{WatchID: "w1", Holder: "h2", State: store.WatchFailed, Now: t0})
			return err
		}, store.ErrLeaseLost},
		{"a pending channel no document can name", func() error {
			_, err := s.LeaseWatch(ctx, "removed", lease("h2", t0.Add(time.Hour)), t0, open("a/b"))
			return err
		}, store.ErrInvalidID},
		// Refused by a rule inside a cursor's read-and-write.
		{"a cursor's read by another holder", func() error {
			_, err := s.BeginFetch(ctx, "w1", "h2", t0.Add(time.Minute), t0)
			return err
		}, store.ErrLeaseLost},
		// Refused before any call to Firestore.
		{"a create under an id no document can have", func() error { return s.CreateWatch(ctx, sampleWatch("a/b")) }, store.ErrInvalidID},
		{"a lookup of an id no document can have", func() error { _, err := s.Watch(ctx, "a/b"); return err }, store.ErrNotFound},
		// Answered by Firestore itself.
		{"a create under a taken id", func() error { return s.CreateChannel(ctx, sampleChannel("c1", "w1")) }, store.ErrExists},
		{"a missing record", func() error { _, err := s.Channel(ctx, "nope"); return err }, store.ErrNotFound},
	} {
		err := tt.call()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if n := strings.Count(err.Error(), "store:"); n != 1 {
			t.Errorf("%s: %q says store: %d times, want once", tt.name, err, n)
		}
	}
}
