package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

// The fixtures of the contract suite: the records and claims its cases
// store, and what the stores hand them back as.

// invalidIDs are ids no Firestore document can have.
var invalidIDs = []string{"", "a/b", ".", "..", "__x__", "____", "\xff", strings.Repeat("x", 1501)}

// t0 has nanoseconds and a zone on purpose: both stores must hand back the
// same value, UTC and truncated to microseconds, as Firestore keeps it.
var t0 = time.Date(2026, 11, 22, 8, 0, 0, 123456789, time.FixedZone("CET", 3600))

// stored is t as a store gives it back.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func sampleWatch(id string) store.Watch {
	return store.Watch{
		ID:         id,
		Kind:       "calendar.events",
		Params:     map[string]string{"calendarId": "primary"},
		Subject:    "ann@example.com",
		Address:    "https://example.com/receive",
		TTLSeconds: 3600,
		Labels:     map[string]string{"tenant": "acme"},
		State:      store.WatchActive,
		CreatedAt:  t0,
		UpdatedAt:  t0,
	}
}

// heldWatch is sampleWatch(id), leased to holder for a minute from t0.
func heldWatch(id, holder string) store.Watch {
	w := sampleWatch(id)
	w.LeaseHolder, w.LeaseUntil = holder, t0.Add(time.Minute)
	return w
}

// lease is a claim by holder until the given time.
func lease(holder string, until time.Time) store.Lease {
	return store.Lease{Holder: holder, Until: until}
}

// activation is a grant for a pending channel, under holder's lease.
func activation(channelID, watchID, holder string) store.Activation {
	return store.Activation{ChannelID: channelID, WatchID: watchID, Holder: holder, ResourceID: "r", ResourceURI: "u", Expiration: t0.Add(time.Hour), AcceptOldUntil: t0, Now: t0}
}

func sampleChannel(id, watchID string) store.Channel {
	return store.Channel{
		ID:         id,
		WatchID:    watchID,
		Kind:       "calendar.events",
		TokenHash:  store.HashToken("secret"),
		Expiration: t0.Add(time.Hour),
		State:      store.ChannelPending,
		Labels:     map[string]string{"tenant": "acme"},
		CreatedAt:  t0,
	}
}

// normalWatch and normalChannel are what the stores return for what was
// stored.
func normalWatch(w store.Watch) store.Watch {
	w.ChannelExpiration, w.CreatedAt = stored(w.ChannelExpiration), stored(w.CreatedAt)
	w.UpdatedAt, w.LeaseUntil = stored(w.UpdatedAt), stored(w.LeaseUntil)
	w.RetryAt, w.DueAt = stored(w.RetryAt), stored(w.DueAt)
	return w
}

func normalChannel(c store.Channel) store.Channel {
	c.Expiration, c.AcceptUntil, c.CreatedAt = stored(c.Expiration), stored(c.AcceptUntil), stored(c.CreatedAt)
	c.SyncedAt, c.StoppedAt, c.DeleteAt = stored(c.SyncedAt), stored(c.StoppedAt), stored(c.DeleteAt)
	return c
}

func watchIDs(ws []store.Watch) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func channelIDs(cs []store.Channel) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func mustCreateWatches(t *testing.T, s contractStore, ws ...store.Watch) {
	t.Helper()
	for _, w := range ws {
		if err := s.CreateWatch(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
}

func mustCreateChannels(t *testing.T, s contractStore, cs ...store.Channel) {
	t.Helper()
	for _, c := range cs {
		if err := s.CreateChannel(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func indexOf(ws []store.Watch, id string) int {
	for i, w := range ws {
		if w.ID == id {
			return i
		}
	}
	return -1
}

// claim is holder's claim on watchID's cursor at now, triggered by message,
// for a lease of a minute.
func claim(watchID, holder, message string, now time.Time) store.SyncClaim {
	return store.SyncClaim{WatchID: watchID, Holder: holder, Message: message, Until: now.Add(time.Minute), Now: now}
}

// tok is the position of a completed read that ended at token.
func tok(token string) store.Position { return store.Position{Token: token} }

func mustWant(t *testing.T, s cursorStore, cl store.SyncClaim) (store.Cursor, bool) {
	t.Helper()
	c, took, err := s.WantSync(t.Context(), cl)
	if err != nil {
		t.Fatalf("WantSync(%+v): %v", cl, err)
	}
	return c, took
}

// mustCursor reads a cursor and checks it is what the last write returned.
func mustCursor(t *testing.T, s cursorStore, id string, returned store.Cursor) store.Cursor {
	t.Helper()
	got, err := s.Cursor(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(returned, got); diff != "" {
		t.Errorf("cursor %s: returned differs from stored (-returned +stored):\n%s", id, diff)
	}
	return got
}
