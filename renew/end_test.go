package renew_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// TestRefusedRenewalOfRemovedWatch: the user removes a watch while its
// renewal's watch call is in flight, and Google then refuses the call for
// good. The pass ends the watch as it is now, which is no longer active:
// it stays deleted, with no failed event, its lease given back, and the
// next pass purges it and stops its channel, leaving nothing live.
func TestRefusedRenewalOfRemovedWatch(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		ctx := context.Background()
		r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}, TTLSeconds: 7200})
		r.pass(nil)
		current := r.watch("w").ChannelID
		r.clock.Advance(90 * time.Minute)

		r.sim.FailNext(1, googlesim.Match{Op: googlesim.OpWatch}, googlesim.FailAuth)
		h, done := r.heldPass("w")
		if err := renew.RemoveWatch(ctx, r.store, "w", r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		close(h.release)
		if sum := <-done; sum.Failed != 0 {
			t.Errorf("pass: %s; want no watch ended", sum.JSON())
		}
		if w := r.watch("w"); w.State != store.WatchDeleted || w.ChannelID != current || w.LeaseHolder != "" {
			t.Fatalf("watch: %s naming %q, lease %q; want deleted, naming %s, no lease", w.State, w.ChannelID, w.LeaseHolder, current)
		}
		if sum := r.pass(nil); sum.Stopped != 1 {
			t.Errorf("the next pass: %s; want the removed watch purged", sum.JSON())
		}
		if _, err := r.store.Watch(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("watch after the purge: %v; want it gone", err)
		}
		r.flush()
		if n := r.count(event.TypeFailed, "w"); n != 0 {
			t.Errorf("%d failed events for a watch that was removed, not ended", n)
		}
		r.converged()
	})
}
