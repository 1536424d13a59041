package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// What both stores refuse, and how they say it. Cases of contractCases,
// run on both stores.

// Every refusal wraps its sentinel and names the store once: an error
// made inside a Firestore transaction (a rule's refusal) passes through
// fail() as the rule said it, not wrapped a second time.
func testSaysStoreOnce(t *testing.T, s contractStore) {
	ctx := t.Context()
	// Removed under a lease whose end is not recorded: LeaseWatch gets
	// past the lease to the channel's id.
	removed := sampleWatch("removed")
	removed.State, removed.LeaseHolder = store.WatchDeleted, "h1"
	mustCreateWatches(t, s, heldWatch("w1", "h1"), removed)
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
		{"a cursor's advance by another holder", func() error {
			return s.AdvanceCursor(ctx, "w1", "h2", tok("t"), t0.Add(time.Minute), t0)
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

func testCreateRefuses(t *testing.T, s contractStore) {
	mustCreateWatches(t, s, sampleWatch("w1"))
	mustCreateChannels(t, s, sampleChannel("c1", "w1"))
	other := sampleWatch("w1")
	other.Kind = "drive.files"
	if err := s.CreateWatch(t.Context(), other); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateWatch of a taken id = %v, want ErrExists", err)
	}
	if err := s.CreateChannel(t.Context(), sampleChannel("c1", "w2")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateChannel of a taken id = %v, want ErrExists", err)
	}
	// Ids no Firestore document can have: refused alike by both stores.
	for _, id := range invalidIDs {
		if err := s.CreateWatch(t.Context(), sampleWatch(id)); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("CreateWatch(%q) = %v, want ErrInvalidID", id, err)
		}
		if err := s.CreateChannel(t.Context(), sampleChannel(id, "w1")); !errors.Is(err, store.ErrInvalidID) {
			t.Errorf("CreateChannel(%q) = %v, want ErrInvalidID", id, err)
		}
	}
	got, err := s.Watch(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "calendar.events" {
		t.Errorf("the failed create overwrote the watch: kind %q", got.Kind)
	}
}

func testNotFound(t *testing.T, s contractStore) {
	ctx := t.Context()
	mustCreateWatches(t, s, sampleWatch("w1"))
	mustCreateChannels(t, s, sampleChannel("orphan", "no-such-watch"))
	tests := []struct {
		name string
		call func() error
	}{
		// Each method that names one record says when it is missing.
		{"Watch", func() error { _, err := s.Watch(ctx, "nope"); return err }},
		{"Watch empty id", func() error { _, err := s.Watch(ctx, ""); return err }},
		{"LeaseWatch", func() error {
			_, err := s.LeaseWatch(ctx, "nope", lease("h", t0.Add(time.Minute)), t0, nil)
			return err
		}},
		{"UpdateWatch", func() error { return s.UpdateWatch(ctx, "nope", store.WatchUpdate{LastError: store.Ptr("x")}, t0) }},
		{"Channel", func() error { _, err := s.Channel(ctx, "nope"); return err }},
		{"UpdateChannel", func() error {
			return s.UpdateChannel(ctx, "nope", store.ChannelUpdate{State: store.Ptr(store.ChannelStopped)})
		}},
		{"UpdateChannel with nothing to change", func() error { return s.UpdateChannel(ctx, "nope", store.ChannelUpdate{}) }},
		{"ActivateChannel of a missing channel", func() error { return s.ActivateChannel(ctx, activation("nope", "w1", "h")) }},
		// The channel exists but its watch does not: nothing changes.
		{"ActivateChannel of a channel whose watch is gone", func() error {
			return s.ActivateChannel(ctx, activation("orphan", "no-such-watch", "h"))
		}},
	}
	// An id no document can have is simply not found, on either
	// store: Receive answers a forged "a/b" as a stray, not as an
	// outage.
	for _, id := range invalidIDs {
		tests = append(tests, []struct {
			name string
			call func() error
		}{
			{"Watch " + id, func() error { _, err := s.Watch(ctx, id); return err }},
			{"LeaseWatch " + id, func() error { _, err := s.LeaseWatch(ctx, id, lease("h", t0.Add(time.Minute)), t0, nil); return err }},
			{"UpdateWatch " + id, func() error { return s.UpdateWatch(ctx, id, store.WatchUpdate{LastError: store.Ptr("x")}, t0) }},
			{"Channel " + id, func() error { _, err := s.Channel(ctx, id); return err }},
			{"UpdateChannel " + id, func() error {
				return s.UpdateChannel(ctx, id, store.ChannelUpdate{State: store.Ptr(store.ChannelStopped)})
			}},
			{"ActivateChannel " + id, func() error { return s.ActivateChannel(ctx, activation(id, "w1", "h")) }},
		}...)
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", tt.name, err)
		}
	}
	c, err := s.Channel(ctx, "orphan")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != store.ChannelPending || c.ResourceID != "" {
		t.Errorf("a failed ActivateChannel changed the channel: %+v", c)
	}
}
