package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/watchrelay/watchrelay/internal/testing/emulator"
	"github.com/watchrelay/watchrelay/store"
)

func TestMain(m *testing.M) { emulator.Main(m) }

// contractStore is every method both stores share; the contract suite runs
// against each.
type contractStore interface {
	CreateWatch(ctx context.Context, w store.Watch) error
	Watch(ctx context.Context, id string) (store.Watch, error)
	Watches(ctx context.Context, state store.WatchState) ([]store.Watch, error)
	WatchesOf(ctx context.Context, kind, subject string) ([]store.Watch, error)
	DueWatches(ctx context.Context, before time.Time, limit int) ([]store.Watch, error)
	LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error)
	ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error
	EndWatch(ctx context.Context, e store.End) (store.Channel, bool, error)
	Outbox(ctx context.Context, limit int) ([]store.OutboxEvent, error)
	Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error
	UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error
	DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error
	CreateChannel(ctx context.Context, c store.Channel) error
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
	ActivateChannel(ctx context.Context, a store.Activation) error
	ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error)
	RecordStray(ctx context.Context, s store.Stray) error
	Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error)
	UpdateStray(ctx context.Context, id string, u store.StrayUpdate) error
	RecordPass(ctx context.Context, p store.PassRecord) error
	LastPass(ctx context.Context) (store.PassRecord, error)
	cursorStore
	latestStore
}

var (
	_ contractStore = (*store.Memory)(nil)
	_ contractStore = (*store.Firestore)(nil)
)

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	testContract(t, func(*testing.T) contractStore { return store.NewMemory() })
}

func TestFirestoreContract(t *testing.T) {
	t.Parallel()
	emulator.Require(t)
	testContract(t, func(t *testing.T) contractStore { return openEmulator(t) })
}

// openEmulator opens a Firestore store on the emulator under a fresh random
// prefix, so every test sees empty collections and tests run in parallel.
func openEmulator(t *testing.T) *store.Firestore {
	t.Helper()
	emulator.Require(t)
	b := make([]byte, 6)
	rand.Read(b)
	f, err := store.OpenFirestore(t.Context(), "watchrelay-test", "", "t"+hex.EncodeToString(b)+"_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

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

// testContract is the one behaviour both stores share. Each subtest gets a
// fresh store from newStore.
func testContract(t *testing.T, newStore func(t *testing.T) contractStore) {
	testCursors(t, newStore)
	testEnd(t, newStore)
	testLatest(t, newStore)
	testErrors(t, newStore)

	t.Run("watch round trip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	// A Gmail push names only a mailbox: the active watches of that kind
	// acting as it are the ones it is for.
	t.Run("WatchesOf matches kind, subject and active state", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	t.Run("channel round trip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := sampleChannel("c1", "w1")
		c.ResourceID, c.ResourceURI = "r1", "https://www.googleapis.com/calendar/v3/calendars/primary/events"
		c.AcceptUntil, c.SyncedAt, c.StoppedAt, c.DeleteAt = t0.Add(1), t0.Add(2*time.Microsecond), t0.Add(3*time.Second), t0.Add(72*time.Hour)
		mustCreateChannels(t, s, c)
		got, err := s.Channel(t.Context(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalChannel(c), got); diff != "" {
			t.Errorf("Channel (-want +got):\n%s", diff)
		}
		if got.Expiration.Location() != time.UTC {
			t.Errorf("Expiration location = %v, want UTC", got.Expiration.Location())
		}
	})

	t.Run("empty optional fields round trip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Nothing but the id and kind: zero times and nil maps come back
		// as they went in.
		w := store.Watch{ID: "w1", Kind: "calendar.calendarList", State: store.WatchActive}
		c := store.Channel{ID: "c1", WatchID: "w1", State: store.ChannelPending}
		mustCreateWatches(t, s, w)
		mustCreateChannels(t, s, c)
		gw, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, gw); diff != "" {
			t.Errorf("Watch (-want +got):\n%s", diff)
		}
		if !gw.ChannelExpiration.IsZero() {
			t.Errorf("ChannelExpiration = %v, want zero", gw.ChannelExpiration)
		}
		gc, err := s.Channel(t.Context(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, gc); diff != "" {
			t.Errorf("Channel (-want +got):\n%s", diff)
		}
	})

	t.Run("create refuses a taken or empty id", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	t.Run("Watches by state", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
			want  []string
		}{
			{"", []string{"w0", "w1", "w2", "w3", "w4", "w5"}}, // empty state: every watch, by id
			{store.WatchActive, []string{"w0", "w1", "w3"}},    // only that state, by id
			{store.WatchGone, []string{"w2"}},
			{store.WatchDeleted, []string{"w5"}},
			{"nonesuch", []string{}}, // an unknown state matches nothing, without error
		}
		for _, tt := range tests {
			got, err := s.Watches(t.Context(), tt.state)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, watchIDs(got)); diff != "" {
				t.Errorf("Watches(%q) ids (-want +got):\n%s", tt.state, diff)
			}
		}
		all, err := s.Watches(t.Context(), store.WatchGone)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalWatch(ws[indexOf(ws, "w2")]), all[0]); diff != "" {
			t.Errorf("Watches returns whole watches (-want +got):\n%s", diff)
		}
	})

	t.Run("DueWatches", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mk := func(id string, state store.WatchState, exp time.Time) store.Watch {
			w := sampleWatch(id)
			w.State, w.ChannelExpiration = state, exp
			return w
		}
		mustCreateWatches(t, s,
			mk("late", store.WatchActive, t0.Add(3*time.Hour)),
			mk("soon", store.WatchActive, t0.Add(30*time.Minute)),
			mk("new-b", store.WatchActive, time.Time{}),
			mk("new-a", store.WatchActive, time.Time{}),
			mk("sooner", store.WatchActive, t0.Add(10*time.Minute)),
			mk("gone", store.WatchGone, t0.Add(time.Minute)),
			mk("failed", store.WatchFailed, time.Time{}),
			mk("edge", store.WatchActive, t0.Add(time.Hour)),
		)
		// Bounds are given as stored, so that "before is exclusive" is
		// tested at the exact stored instant.
		tests := []struct {
			name   string
			before time.Time
			limit  int
			want   []string
		}{
			{"new watches (zero expiration) first, then soonest; only active; before is exclusive",
				stored(t0.Add(time.Hour)), 0, []string{"new-a", "new-b", "sooner", "soon"}},
			{"limit cuts the soonest", t0.Add(time.Hour), 3, []string{"new-a", "new-b", "sooner"}},
			{"a later bound takes the edge and the late one", t0.Add(4 * time.Hour), 10,
				[]string{"new-a", "new-b", "sooner", "soon", "edge", "late"}},
			{"a bound before every channel leaves only new watches", stored(t0), 0, []string{"new-a", "new-b"}},
		}
		for _, tt := range tests {
			got, err := s.DueWatches(t.Context(), tt.before, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, watchIDs(got)); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("LeaseWatch is exclusive under concurrency", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCreateWatches(t, s, sampleWatch("w1"))
		const n = 10
		var (
			wg          sync.WaitGroup
			mu          sync.Mutex
			won, leased int
			busy        int
			others      []error
			winner      store.Watch
			until       = t0.Add(5 * time.Minute)
			start       = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-start
				w, err := s.LeaseWatch(t.Context(), "w1", lease(fmt.Sprint("h", i), until), t0, nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
					winner = w
				case errors.Is(err, store.ErrLeased):
					leased++
				case errors.Is(err, store.ErrUnavailable):
					// Firestore may abort a contended transaction
					// past its retries: no lease, and the pass
					// counts the watch as remaining. Not a winner.
					busy++
				default:
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if won != 1 || leased+busy != n-1 || leased == 0 || len(others) > 0 {
			t.Fatalf("%d won, %d ErrLeased, %d aborted, other errors %v; want 1 winner and %d refused", won, leased, busy, others, n-1)
		}
		if !winner.LeaseUntil.Equal(stored(until)) {
			t.Errorf("winner's LeaseUntil = %v, want %v", winner.LeaseUntil, stored(until))
		}
		got, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(winner, got); diff != "" {
			t.Errorf("LeaseWatch's watch differs from the stored one (-returned +stored):\n%s", diff)
		}
	})

	t.Run("LeaseWatch lets a new holder in once the lease ran out", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCreateWatches(t, s, sampleWatch("w1"))
		until := t0.Add(time.Minute)
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h1", until), t0, nil); err != nil {
			t.Fatal(err)
		}
		// Still held half-way through.
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h2", t0.Add(2*time.Minute)), t0.Add(30*time.Second), nil); !errors.Is(err, store.ErrLeased) {
			t.Fatalf("LeaseWatch during the lease = %v, want ErrLeased", err)
		}
		// At the stored end the lease no longer runs past now.
		w, err := s.LeaseWatch(t.Context(), "w1", lease("h3", t0.Add(3*time.Minute)), stored(until), nil)
		if err != nil {
			t.Fatalf("LeaseWatch once expired: %v", err)
		}
		if !w.LeaseUntil.Equal(stored(t0.Add(3 * time.Minute))) {
			t.Errorf("LeaseUntil = %v, want %v", w.LeaseUntil, stored(t0.Add(3*time.Minute)))
		}
		if w.LeaseHolder != "h3" {
			t.Errorf("LeaseHolder = %q, want h3", w.LeaseHolder)
		}
		// A claim whose lease was taken over cannot release it, nor
		// write its last word on the watch.
		if err := s.ReleaseWatch(t.Context(), "w1", "h1", store.WatchUpdate{LastError: store.Ptr("stale")}, t0); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("stale ReleaseWatch = %v, want ErrLeaseLost", err)
		}
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h4", t0.Add(time.Minute)), t0, nil); !errors.Is(err, store.ErrLeased) {
			t.Fatalf("LeaseWatch after a stale release = %v, want ErrLeased", err)
		}
		if w, _ := s.Watch(t.Context(), "w1"); w.LastError != "" {
			t.Errorf("a stale release wrote lastError %q", w.LastError)
		}
		// Its holder's release lets the next one in at once, and
		// writes the update with it.
		if err := s.ReleaseWatch(t.Context(), "w1", "h3", store.WatchUpdate{LastError: store.Ptr("deferred")}, t0); err != nil {
			t.Fatal(err)
		}
		if w, _ := s.Watch(t.Context(), "w1"); w.LastError != "deferred" || w.LeaseHolder != "" || !w.LeaseUntil.IsZero() {
			t.Errorf("after release: lastError %q, holder %q, until %v", w.LastError, w.LeaseHolder, w.LeaseUntil)
		}
		// Releasing a watch that is gone is no error.
		if err := s.ReleaseWatch(t.Context(), "nope", "h3", store.WatchUpdate{}, t0); err != nil {
			t.Errorf("ReleaseWatch of a missing watch = %v", err)
		}
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h4", t0.Add(time.Minute)), t0, nil); err != nil {
			t.Errorf("LeaseWatch after release: %v", err)
		}
	})

	t.Run("UpdateWatch touches only the named fields", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		w := sampleWatch("w1")
		w.ChannelID, w.ChannelExpiration, w.Failures, w.LastError = "c1", t0.Add(time.Hour), 3, "old"
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
			{"zero values are written, not skipped", store.WatchUpdate{Failures: store.Ptr(0), ChannelID: store.Ptr(""), ChannelExpiration: store.Ptr(time.Time{})},
				func(w *store.Watch) { w.Failures, w.ChannelID, w.ChannelExpiration = 0, "", time.Time{} }},
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
	})

	t.Run("ActivateChannel sets the channel and its watch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		w := sampleWatch("w1")
		w.Failures, w.LastError, w.LeaseUntil, w.LeaseHolder, w.RetryAt = 2, "transient", t0.Add(time.Minute), "h1", t0.Add(time.Second)
		synced := sampleChannel("synced", "w1")
		// A sync message recorded the resource before the watch call
		// returned.
		synced.ResourceID, synced.ResourceURI, synced.SyncedAt = "r-sync", "uri-sync", t0
		fresh := sampleChannel("fresh", "w1")
		mustCreateWatches(t, s, w)
		mustCreateChannels(t, s, synced, fresh)

		exp, now := t0.Add(24*time.Hour), t0.Add(2*time.Second)
		if err := s.ActivateChannel(t.Context(), store.Activation{ChannelID: "synced", WatchID: "w1", Holder: "h1", Expiration: exp, AcceptOldUntil: now, Now: now}); err != nil {
			t.Fatal(err)
		}
		gotC, err := s.Channel(t.Context(), "synced")
		if err != nil {
			t.Fatal(err)
		}
		wantC := normalChannel(synced)
		wantC.State, wantC.Expiration = store.ChannelActive, stored(exp)
		if diff := cmp.Diff(wantC, gotC); diff != "" {
			t.Errorf("channel whose resource a sync recorded (-want +got):\n%s", diff)
		}
		gotW, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		wantW := normalWatch(w)
		wantW.ChannelID, wantW.ChannelExpiration = "synced", stored(exp)
		wantW.Failures, wantW.LastError, wantW.RetryAt, wantW.UpdatedAt = 0, "", time.Time{}, stored(now)
		// The lease is given back in the same step.
		wantW.LeaseUntil, wantW.LeaseHolder = time.Time{}, ""
		if diff := cmp.Diff(wantW, gotW); diff != "" {
			t.Errorf("watch (-want +got):\n%s", diff)
		}

		// Given ids replace what is there, and the channel the watch
		// named before is retired in the same step.
		exp2, graceEnd := t0.Add(48*time.Hour), t0.Add(10*time.Minute)
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h2", t0.Add(time.Hour)), now, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateChannel(t.Context(), store.Activation{ChannelID: "fresh", WatchID: "w1", Holder: "h2", ResourceID: "r-granted", ResourceURI: "uri-granted", Expiration: exp2, AcceptOldUntil: graceEnd, Now: now}); err != nil {
			t.Fatal(err)
		}
		old, err := s.Channel(t.Context(), "synced")
		if err != nil {
			t.Fatal(err)
		}
		if old.State != store.ChannelStopping || !old.AcceptUntil.Equal(stored(graceEnd)) {
			t.Errorf("previous channel %s accepting until %v, want stopping until %v", old.State, old.AcceptUntil, stored(graceEnd))
		}
		gotC, err = s.Channel(t.Context(), "fresh")
		if err != nil {
			t.Fatal(err)
		}
		wantC = normalChannel(fresh)
		wantC.State, wantC.Expiration, wantC.ResourceID, wantC.ResourceURI = store.ChannelActive, stored(exp2), "r-granted", "uri-granted"
		if diff := cmp.Diff(wantC, gotC); diff != "" {
			t.Errorf("channel activated with ids (-want +got):\n%s", diff)
		}
		gotW, err = s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		if gotW.ChannelID != "fresh" || !gotW.ChannelExpiration.Equal(stored(exp2)) {
			t.Errorf("watch points at %q until %v, want fresh until %v", gotW.ChannelID, gotW.ChannelExpiration, stored(exp2))
		}
	})

	t.Run("LeaseWatch creates the claim's pending channel in the same step", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mustCreateWatches(t, s, sampleWatch("w1"))
		mustCreateChannels(t, s, sampleChannel("taken", "w1"))
		var seen store.Watch
		open := func(id string) func(store.Watch) (store.Channel, bool) {
			return func(w store.Watch) (store.Channel, bool) {
				seen = w
				return sampleChannel(id, w.ID), true
			}
		}
		// A channel id already taken fails the whole claim: no lease.
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h1", t0.Add(time.Minute)), t0, open("taken")); !errors.Is(err, store.ErrExists) {
			t.Fatalf("LeaseWatch with a taken channel id = %v, want ErrExists", err)
		}
		if w, _ := s.Watch(t.Context(), "w1"); w.LeaseHolder != "" || !w.LeaseUntil.IsZero() {
			t.Fatalf("a failed claim left a lease: %q until %v", w.LeaseHolder, w.LeaseUntil)
		}
		// open sees the watch as leased; nothing to open is a plain lease.
		if _, err := s.LeaseWatch(t.Context(), "w1", lease("h2", t0.Add(time.Minute)), t0, open("new")); err != nil {
			t.Fatal(err)
		}
		if seen.LeaseHolder != "h2" {
			t.Errorf("open saw LeaseHolder %q, want h2", seen.LeaseHolder)
		}
		got, err := s.Channel(t.Context(), "new")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalChannel(sampleChannel("new", "w1")), got); diff != "" {
			t.Errorf("pending channel (-want +got):\n%s", diff)
		}
	})

	t.Run("ActivateChannel refuses what its claim no longer owns", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		held := sampleWatch("held")
		held.LeaseHolder, held.LeaseUntil = "h1", t0.Add(time.Minute)
		removed := sampleWatch("removed")
		removed.State, removed.LeaseHolder, removed.LeaseUntil = store.WatchDeleted, "h1", t0.Add(time.Minute)
		mustCreateWatches(t, s, held, removed)
		stopped := sampleChannel("stopped", "held")
		stopped.State = store.ChannelStopped
		mustCreateChannels(t, s, sampleChannel("c-held", "held"), stopped, sampleChannel("c-removed", "removed"))
		for _, tt := range []struct {
			name string
			a    store.Activation
			want error
		}{
			// The lease ran out and another claim holds the watch now.
			{"another holder", activation("c-held", "held", "h2"), store.ErrLeaseLost},
			// Another pass cleared the channel as an orphan: stopped at
			// Google, it must not become the watch's channel.
			{"channel no longer pending", activation("stopped", "held", "h1"), store.ErrLeaseLost},
			// The user removed the watch while its channel was opened.
			{"watch removed", activation("c-removed", "removed", "h1"), store.ErrNotActive},
		} {
			if err := s.ActivateChannel(t.Context(), tt.a); !errors.Is(err, tt.want) {
				t.Errorf("%s: ActivateChannel = %v, want %v", tt.name, err, tt.want)
			}
		}
		for _, id := range []string{"c-held", "c-removed"} {
			if c, _ := s.Channel(t.Context(), id); c.State != store.ChannelPending {
				t.Errorf("a refused activation made %s %s", id, c.State)
			}
		}
		if w, _ := s.Watch(t.Context(), "held"); w.ChannelID != "" || w.LeaseHolder != "h1" {
			t.Errorf("a refused activation changed the watch: channel %q, holder %q", w.ChannelID, w.LeaseHolder)
		}
	})

	t.Run("ActivateChannel retires a lapsed channel as expired, and survives a missing one", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		lapsed := sampleWatch("lapsed")
		lapsed.ChannelID, lapsed.ChannelExpiration, lapsed.LeaseHolder, lapsed.LeaseUntil = "old", t0.Add(-time.Minute), "h1", t0.Add(time.Minute)
		lost := sampleWatch("lost")
		lost.ChannelID, lost.ChannelExpiration, lost.LeaseHolder, lost.LeaseUntil = "no-such-record", t0.Add(time.Hour), "h1", t0.Add(time.Minute)
		mustCreateWatches(t, s, lapsed, lost)
		old := sampleChannel("old", "lapsed")
		old.State = store.ChannelActive
		mustCreateChannels(t, s, old, sampleChannel("new", "lapsed"), sampleChannel("new2", "lost"))
		if err := s.ActivateChannel(t.Context(), activation("new", "lapsed", "h1")); err != nil {
			t.Fatal(err)
		}
		got, err := s.Channel(t.Context(), "old")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.ChannelExpired || !got.DeleteAt.Equal(stored(t0.Add(store.Retention))) || !got.AcceptUntil.Equal(stored(t0)) {
			t.Errorf("lapsed channel: %s, deleteAt %v, acceptUntil %v; want expired, deleteAt %v, acceptUntil %v",
				got.State, got.DeleteAt, got.AcceptUntil, stored(t0.Add(store.Retention)), stored(t0))
		}
		// A watch naming a record that is gone still gets its channel.
		if err := s.ActivateChannel(t.Context(), activation("new2", "lost", "h1")); err != nil {
			t.Fatalf("ActivateChannel with the old record missing: %v", err)
		}
		if w, _ := s.Watch(t.Context(), "lost"); w.ChannelID != "new2" {
			t.Errorf("watch names %q, want new2", w.ChannelID)
		}
		if _, err := s.Channel(t.Context(), "no-such-record"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the missing old record was made up: %v", err)
		}
	})

	t.Run("strays are recorded once and move through their states", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	t.Run("the last pass round trips", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
	})

	t.Run("the outbox keeps events written with their state until forgotten", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := t.Context()
		w := sampleWatch("w1")
		w.LeaseHolder, w.LeaseUntil = "h1", t0.Add(time.Minute)
		mustCreateWatches(t, s, w, sampleWatch("w2"))
		mustCreateChannels(t, s, sampleChannel("c1", "w1"))
		ev := func(id string, at time.Duration) store.OutboxEvent {
			return store.OutboxEvent{ID: id, Event: `{"id":"` + id + `"}`, CreatedAt: t0.Add(at)}
		}
		started := ev("w1/watchrelay.watch.started.v1/c1", 0)
		a := activation("c1", "w1", "h1")
		a.Events = []store.OutboxEvent{started}
		if err := s.ActivateChannel(ctx, a); err != nil {
			t.Fatal(err)
		}
		// A refused release writes no event: the state it reports was
		// not written either.
		if err := s.ReleaseWatch(ctx, "w1", "not-the-holder", store.WatchUpdate{}, t0, ev("w1/x/y", time.Second)); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("ReleaseWatch by another holder = %v", err)
		}
		stopped := ev("w2/watchrelay.watch.stopped.v1/", 2*time.Second)
		if err := s.DeleteWatch(ctx, "w2", stopped); err != nil {
			t.Fatal(err)
		}
		got, err := s.Outbox(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.OutboxEvent{started, stopped}
		for i := range want {
			want[i].CreatedAt = stored(want[i].CreatedAt)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("outbox (-want +got):\n%s", diff)
		}
		// Forgetting what Pub/Sub has, with a renewal's last channel write.
		if err := s.Forget(ctx, []string{started.ID, "never-kept"}, "c1", store.Finished(store.ChannelStopped, t0)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Outbox(ctx, 0)
		if len(got) != 1 || got[0].ID != stopped.ID {
			t.Errorf("outbox after Forget: %+v, want only %s", got, stopped.ID)
		}
		if c, _ := s.Channel(ctx, "c1"); c.State != store.ChannelStopped {
			t.Errorf("channel %s after Forget, want stopped", c.State)
		}
		if err := s.Forget(ctx, []string{stopped.ID}, "", store.ChannelUpdate{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.Outbox(ctx, 0); len(got) != 0 {
			t.Errorf("outbox %+v, want empty", got)
		}
	})

	t.Run("UpdateChannel touches only the named fields", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := sampleChannel("c1", "w1")
		c.ResourceID = "r1"
		mustCreateChannels(t, s, c)
		want := normalChannel(c)
		tests := []struct {
			name   string
			update store.ChannelUpdate
			change func(*store.Channel)
		}{
			{"an empty update changes nothing", store.ChannelUpdate{}, func(*store.Channel) {}},
			{"retire it", store.ChannelUpdate{State: store.Ptr(store.ChannelStopping), AcceptUntil: store.Ptr(t0.Add(time.Minute))},
				func(c *store.Channel) { c.State, c.AcceptUntil = store.ChannelStopping, stored(t0.Add(time.Minute)) }},
			{"every field", store.ChannelUpdate{
				State: store.Ptr(store.ChannelStopped), ResourceID: store.Ptr("r2"), ResourceURI: store.Ptr("u2"),
				Expiration: store.Ptr(t0.Add(2 * time.Hour)), AcceptUntil: store.Ptr(t0.Add(3 * time.Minute)),
				SyncedAt: store.Ptr(t0.Add(time.Second)), StoppedAt: store.Ptr(t0.Add(4 * time.Minute)), DeleteAt: store.Ptr(t0.Add(72 * time.Hour)),
			}, func(c *store.Channel) {
				c.State, c.ResourceID, c.ResourceURI = store.ChannelStopped, "r2", "u2"
				c.Expiration, c.AcceptUntil = stored(t0.Add(2*time.Hour)), stored(t0.Add(3*time.Minute))
				c.SyncedAt, c.StoppedAt, c.DeleteAt = stored(t0.Add(time.Second)), stored(t0.Add(4*time.Minute)), stored(t0.Add(72*time.Hour))
			}},
			{"zero values are written", store.ChannelUpdate{ResourceID: store.Ptr(""), StoppedAt: store.Ptr(time.Time{})},
				func(c *store.Channel) { c.ResourceID, c.StoppedAt = "", time.Time{} }},
		}
		for _, tt := range tests {
			if err := s.UpdateChannel(t.Context(), "c1", tt.update); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			tt.change(&want)
			got, err := s.Channel(t.Context(), "c1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("ChannelsByState", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		mk := func(id string, state store.ChannelState, exp time.Time) store.Channel {
			c := sampleChannel(id, "w1")
			c.State, c.Expiration = state, exp
			return c
		}
		mustCreateChannels(t, s,
			mk("stop-late", store.ChannelStopping, t0.Add(2*time.Hour)),
			mk("stop-b", store.ChannelStopping, t0.Add(time.Minute)),
			mk("stop-a", store.ChannelStopping, t0.Add(time.Minute)),
			mk("stop-first", store.ChannelStopping, t0),
			mk("active", store.ChannelActive, t0),
			mk("pending", store.ChannelPending, t0.Add(-time.Hour)),
		)
		tests := []struct {
			name   string
			state  store.ChannelState
			before time.Time
			limit  int
			want   []string
		}{
			{"soonest first, ties by id, before is exclusive", store.ChannelStopping, stored(t0.Add(2 * time.Hour)), 0,
				[]string{"stop-first", "stop-a", "stop-b"}},
			{"limit", store.ChannelStopping, t0.Add(3 * time.Hour), 2, []string{"stop-first", "stop-a"}},
			{"other states stay out", store.ChannelPending, t0.Add(3 * time.Hour), 0, []string{"pending"}},
			{"nothing before the bound", store.ChannelActive, stored(t0), 0, []string{}},
		}
		for _, tt := range tests {
			got, err := s.ChannelsByState(t.Context(), tt.state, tt.before, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, channelIDs(got)); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
			}
		}
		got, err := s.ChannelsByState(t.Context(), store.ChannelPending, t0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.Channel{normalChannel(mk("pending", store.ChannelPending, t0.Add(-time.Hour)))}, got); diff != "" {
			t.Errorf("ChannelsByState returns whole channels (-want +got):\n%s", diff)
		}
	})

	t.Run("DeleteWatch is idempotent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
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
		got, err := s.Watches(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"w2"}, watchIDs(got)); diff != "" {
			t.Errorf("the other watch went too (-want +got):\n%s", diff)
		}
	})

	t.Run("maps are not shared with the caller", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		w := sampleWatch("w1")
		c := sampleChannel("c1", "w1")
		mustCreateWatches(t, s, w)
		mustCreateChannels(t, s, c)
		// Change the caller's maps after the create...
		w.Params["calendarId"], w.Labels["tenant"], c.Labels["tenant"] = "changed", "changed", "changed"
		// ...and the maps of what a read returned.
		got, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		got.Params["calendarId"], got.Labels["extra"] = "changed", "x"
		gotC, err := s.Channel(t.Context(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		gotC.Labels["tenant"] = "changed"
		listed, err := s.Watches(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		listed[0].Labels["tenant"] = "changed"

		again, err := s.Watch(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalWatch(sampleWatch("w1")), again); diff != "" {
			t.Errorf("watch (-want +got):\n%s", diff)
		}
		againC, err := s.Channel(t.Context(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalChannel(sampleChannel("c1", "w1")), againC); diff != "" {
			t.Errorf("channel (-want +got):\n%s", diff)
		}
	})
}

func indexOf(ws []store.Watch, id string) int {
	for i, w := range ws {
		if w.ID == id {
			return i
		}
	}
	return -1
}

func TestOpenFirestoreChecksInputs(t *testing.T) {
	t.Parallel()
	if _, err := store.OpenFirestore(t.Context(), "", "", ""); err == nil {
		t.Error("OpenFirestore with no project succeeded")
	}
}

// TestFirestoreUnreachable: with nothing listening, every call fails fast
// with ErrUnavailable, which Receive turns into a 503 so Google retries.
func TestFirestoreUnreachable(t *testing.T) {
	t.Parallel()
	// Port 1 on loopback refuses connections. A connection of our own
	// overrides FIRESTORE_EMULATOR_HOST, which other tests of this binary
	// set.
	conn, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f, err := store.OpenFirestore(t.Context(), "watchrelay-test", "", "", option.WithGRPCConn(conn), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		// Receive's one read.
		{"Channel", func(ctx context.Context) error { _, err := f.Channel(ctx, "c1"); return err }},
		// A write.
		{"CreateWatch", func(ctx context.Context) error { return f.CreateWatch(ctx, sampleWatch("w1")) }},
		// A query.
		{"DueWatches", func(ctx context.Context) error { _, err := f.DueWatches(ctx, t0, 10); return err }},
		// A transaction.
		{"LeaseWatch", func(ctx context.Context) error {
			_, err := f.LeaseWatch(ctx, "w1", lease("h", t0.Add(time.Minute)), t0, nil)
			return err
		}},
		// A cursor's read-and-write, which retries only lost races.
		{"WantSync", func(ctx context.Context) error {
			_, _, err := f.WantSync(ctx, store.SyncClaim{WatchID: "w1", Holder: "h", Until: t0.Add(time.Minute), Now: t0})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v; a dead Firestore must fail within the caller's deadline", d)
			}
		})
	}
}
