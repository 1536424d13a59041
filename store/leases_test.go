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

// A watch's lease (its claim and its release) and the activation of a
// channel under it: the rules in rules.go. Cases of contractCases, run
// on both stores.

func testLeaseExclusive(t *testing.T, s contractStore) {
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
}

func testLeaseRunsOut(t *testing.T, s contractStore) {
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
}

func testActivate(t *testing.T, s contractStore) {
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
	due2 := exp2.Add(-time.Hour)
	if err := s.ActivateChannel(t.Context(), store.Activation{ChannelID: "fresh", WatchID: "w1", Holder: "h2", ResourceID: "r-granted", ResourceURI: "uri-granted", Expiration: exp2, AcceptOldUntil: graceEnd, Now: now, DueAt: due2}); err != nil {
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
	// The activation says when the new channel is due, so the due
	// query leaves the watch alone until then.
	if !gotW.DueAt.Equal(stored(due2)) {
		t.Errorf("watch due at %v, want %v", gotW.DueAt, stored(due2))
	}
}

func testLeaseOpens(t *testing.T, s contractStore) {
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
}

func testActivateRefuses(t *testing.T, s contractStore) {
	removed := heldWatch("removed", "h1")
	removed.State = store.WatchDeleted
	mustCreateWatches(t, s, heldWatch("held", "h1"), removed)
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
}

func testActivateRetires(t *testing.T, s contractStore) {
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
}
