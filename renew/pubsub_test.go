package renew_test

import (
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// The topics of the Pub/Sub kinds, as the service names them.
const (
	eventsTopic = "projects/" + rigProject + "/topics/events"
	gmailTopic  = "projects/" + rigProject + "/topics/gmail"
)

func spaceWatch(id string) store.Watch {
	return store.Watch{ID: id, Kind: "workspace.events", Subject: "ann@example.com", Params: map[string]string{
		"targetResource": "//chat.googleapis.com/spaces/AAA", "eventTypes": "google.workspace.chat.message.v1.created"}}
}

// subscriptions returns the simulator's subscriptions by state.
func subscriptions(sim *googlesim.Sim) map[string][]googlesim.Subscription {
	out := map[string][]googlesim.Subscription{}
	for _, s := range sim.Subscriptions() {
		out[s.State] = append(out[s.State], s)
	}
	return out
}

// TestWorkspaceSubscriptionKeptAlive follows one Workspace Events watch
// through everything its subscription goes through: created, extended
// before its expiry by a patch (the same subscription), reactivated after
// an endpoint suspension, created again once it expired, and deleted when
// the watch is removed.
func TestWorkspaceSubscriptionKeptAlive(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		r.opts.EventsTopic = eventsTopic
		w := r.add(spaceWatch("space"))

		if sum := r.pass(nil); sum.Started != 1 {
			t.Fatalf("first pass: %+v", sum)
		}
		subs := subscriptions(r.sim)["ACTIVE"]
		if len(subs) != 1 || subs[0].PubsubTopic != eventsTopic || subs[0].Subject != "ann@example.com" {
			t.Fatalf("subscriptions after the first pass: %+v", r.sim.Subscriptions())
		}
		name := subs[0].Name
		if c := r.channel(r.watch(w.ID).ChannelID); c.ResourceID != name {
			t.Errorf("channel records resource %q, want the subscription %s", c.ResourceID, name)
		}

		// Three of its four hours later it is due, and extended in place.
		r.clock.Advance(3*time.Hour + time.Minute)
		if sum := r.pass(nil); sum.Renewed != 1 || sum.ChannelsStopped != 0 {
			t.Errorf("extending pass: %+v", sum)
		}
		if all := r.sim.Subscriptions(); len(all) != 1 || all[0].Name != name || !all[0].ExpireTime.After(r.clock.Now().Add(3*time.Hour)) {
			t.Errorf("after the extension: %+v; want %s alone, expiring hours from now", all, name)
		}

		// Suspended for an endpoint reason: reactivated, then extended.
		r.sim.SuspendSubscription(name, "ENDPOINT_PERMISSION_DENIED")
		r.clock.Advance(3*time.Hour + time.Minute)
		if sum := r.pass(nil); sum.Renewed != 1 {
			t.Errorf("reactivating pass: %+v", sum)
		}
		if st := r.sim.SubscriptionStats(); st.ReactivateOK != 1 {
			t.Errorf("reactivations: %+v", st)
		}
		if subs := subscriptions(r.sim)["ACTIVE"]; len(subs) != 1 || subs[0].Name != name {
			t.Errorf("after the reactivation: %+v", r.sim.Subscriptions())
		}

		// No pass for five hours: Google deleted it; the next pass
		// creates another (and reports the lapse).
		r.clock.Advance(5 * time.Hour)
		if sum := r.pass(nil); sum.Lapsed != 1 || sum.Started != 1 {
			t.Errorf("pass after the expiry: %+v", sum)
		}
		subs = subscriptions(r.sim)["ACTIVE"]
		if len(subs) != 1 || subs[0].Name == name {
			t.Fatalf("after the expiry: %+v; want a new subscription", r.sim.Subscriptions())
		}

		// Removed: the subscription is deleted.
		if err := renew.RemoveWatch(t.Context(), s, w.ID, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if sum := r.pass(nil); sum.Stopped != 1 {
			t.Errorf("purging pass: %+v", sum)
		}
		if subs := subscriptions(r.sim)["ACTIVE"]; len(subs) != 0 {
			t.Errorf("after watch rm: %+v; want none active", r.sim.Subscriptions())
		}
		if st := r.sim.Stats(); st.StopOK != 1 {
			t.Errorf("subscriptions deleted: %d, want 1", st.StopOK)
		}
	})
}

// TestWorkspaceSubscriptionEnds: a subscription suspended because its
// user's scope was revoked ends the watch failed, with its event, and one
// whose resource was deleted ends it gone.
func TestWorkspaceSubscriptionEnds(t *testing.T) {
	for reason, want := range map[string]store.WatchState{
		"USER_SCOPE_REVOKED": store.WatchFailed,
		"RESOURCE_DELETED":   store.WatchGone,
	} {
		t.Run(reason, func(t *testing.T) {
			r := newRig(t, store.NewMemory())
			r.opts.EventsTopic = eventsTopic
			w := r.add(spaceWatch("space"))
			r.pass(nil)
			r.sim.SuspendSubscription(r.channel(r.watch(w.ID).ChannelID).ResourceID, reason)
			r.clock.Advance(3*time.Hour + time.Minute)
			r.pass(nil)
			if got := r.watch(w.ID); got.State != want {
				t.Errorf("watch after %s: %s (%s), want %s", reason, got.State, got.LastError, want)
			}
			typ := event.TypeFailed
			if want == store.WatchGone {
				typ = event.TypeGone
			}
			if n := r.count(typ, w.ID); n != 1 {
				t.Errorf("%d %s events, want 1", n, typ)
			}
		})
	}
}

// TestWorkspaceSubscriptionAdopted: Google keeps one subscription per target
// and user; a watch whose create meets ALREADY_EXISTS adopts the existing
// one rather than fail.
func TestWorkspaceSubscriptionAdopted(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.opts.EventsTopic = eventsTopic
	first := r.add(spaceWatch("first"))
	r.pass(nil)
	second := r.add(spaceWatch("second"))
	if sum := r.pass(nil); sum.Started != 1 || sum.Failed != 0 {
		t.Errorf("pass of the second watch: %+v", sum)
	}
	a := r.channel(r.watch(first.ID).ChannelID).ResourceID
	b := r.channel(r.watch(second.ID).ChannelID).ResourceID
	if a != b || len(r.sim.Subscriptions()) != 1 {
		t.Errorf("subscriptions %s and %s (%d in all); want the one adopted", a, b, len(r.sim.Subscriptions()))
	}
}

// TestGmailWatchedThroughAWeek: a Gmail watch is called again every day, so
// across a simulated week, with a pass every hour, Gmail always holds a
// live watch, and each day's new message is pushed to the inbound topic.
func TestGmailWatchedThroughAWeek(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s, func(o *googlesim.Options) {
			o.Publish = func(string, []byte) error { return nil }
		})
		r.opts.GmailTopic = gmailTopic
		w := r.add(store.Watch{ID: "ann-mail", Kind: "gmail.users", Subject: "ann@example.com"})
		r.pass(nil)
		for hour := 1; hour <= 8*24; hour++ {
			r.clock.Advance(time.Hour)
			r.pass(nil)
			if hour%24 != 0 {
				continue
			}
			r.sim.AddMessage("ann@example.com", googlesim.GmailMessage{})
			pushes := r.sim.GmailPushes()
			if len(pushes) != hour/24 || pushes[len(pushes)-1].Topic != gmailTopic {
				t.Fatalf("day %d: %d pushes (%+v); Gmail's watch lapsed", hour/24, len(pushes), pushes)
			}
		}
		st := r.sim.Stats()
		if st.WatchOK < 8 || st.WatchOK > 10 || st.StopCalls != 0 {
			t.Errorf("over 8 days: %d users.watch calls and %d stops; want one a day and no stop", st.WatchOK, st.StopCalls)
		}
		if got := r.watch(w.ID); got.State != store.WatchActive || r.count(event.TypeLapsed, w.ID) != 0 {
			t.Errorf("watch %+v, %d lapses", got, r.count(event.TypeLapsed, w.ID))
		}
		// Removed: users.stop, and no push after it.
		if err := renew.RemoveWatch(t.Context(), s, w.ID, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.pass(nil)
		before := len(r.sim.GmailPushes())
		r.sim.AddMessage("ann@example.com", googlesim.GmailMessage{})
		if st := r.sim.Stats(); st.StopOK != 1 || len(r.sim.GmailPushes()) != before {
			t.Errorf("after watch rm: %d stops, %d new pushes; want 1 and none", st.StopOK, len(r.sim.GmailPushes())-before)
		}
	})
}

// TestWorkspaceSuspendedOverAndOver: a subscription Workspace suspends for
// an endpoint reason at every renewal is not delivering. It is reactivated
// twice, the watch saying so in lastError, and the third time the watch
// ends failed, with its event, and the subscription is deleted.
func TestWorkspaceSuspendedOverAndOver(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.opts.EventsTopic = eventsTopic
	w := r.add(spaceWatch("space"))
	r.pass(nil)
	name := r.channel(r.watch(w.ID).ChannelID).ResourceID
	for i := 1; i <= 3; i++ {
		r.sim.SuspendSubscription(name, "ENDPOINT_PERMISSION_DENIED")
		r.clock.Advance(3*time.Hour + time.Minute)
		r.pass(nil)
		got := r.watch(w.ID)
		if i < 3 {
			if got.State != store.WatchActive || got.Failures != i || got.LastError == "" {
				t.Errorf("renewal %d: %s, failures %d, %q; want active, counting the reactivations", i, got.State, got.Failures, got.LastError)
			}
			continue
		}
		if got.State != store.WatchFailed || r.count(event.TypeFailed, w.ID) != 1 {
			t.Errorf("renewal 3: %s (%s), %d failed events; want failed with its event", got.State, got.LastError, r.count(event.TypeFailed, w.ID))
		}
	}
	if subs := subscriptions(r.sim)["ACTIVE"]; len(subs) != 0 {
		t.Errorf("subscriptions still active after the watch failed: %+v", subs)
	}
	// One clean renewal in between starts the count again.
	r2 := newRig(t, store.NewMemory())
	r2.opts.EventsTopic = eventsTopic
	w2 := r2.add(spaceWatch("space"))
	r2.pass(nil)
	name2 := r2.channel(r2.watch(w2.ID).ChannelID).ResourceID
	for _, suspend := range []bool{true, true, false, true, true} {
		if suspend {
			r2.sim.SuspendSubscription(name2, "ENDPOINT_NOT_FOUND")
		}
		r2.clock.Advance(3*time.Hour + time.Minute)
		r2.pass(nil)
	}
	if got := r2.watch(w2.ID); got.State != store.WatchActive || got.Failures != 2 {
		t.Errorf("after two, a clean one and two: %s, failures %d; want active, counting 2", got.State, got.Failures)
	}
}
