package google_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/store"
)

// eventsSim is a simulated Google whose clock runs ahead of the real one
// by a settable offset, so a test can let subscriptions expire.
type eventsSim struct {
	*googlesim.Sim
	a      *google.APIs
	offset atomic.Int64
}

func startEventsSim(t *testing.T) *eventsSim {
	t.Helper()
	e := &eventsSim{}
	sim, err := googlesim.Start(googlesim.Options{Now: func() time.Time {
		return time.Now().Add(time.Duration(e.offset.Load()))
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e.Sim = sim
	if e.a, err = google.NewAPIs(context.Background(), google.APIConfig{BaseURL: sim.URL}); err != nil {
		t.Fatal(err)
	}
	return e
}

const (
	eventsTopic  = "projects/p/topics/events"
	eventsTarget = "//chat.googleapis.com/spaces/AAA"
)

// eventsWatch is a workspace.events watch on eventsTarget for ann.
func eventsWatch() store.Watch {
	return store.Watch{ID: "w1", Kind: "workspace.events", Subject: "ann@example.com", Params: map[string]string{
		"targetResource": eventsTarget,
		"eventTypes":     "google.workspace.chat.message.v1.created, google.workspace.chat.membership.v1.created",
	}}
}

// open asks for a subscription that lives ttl, renewing current.
func (e *eventsSim) open(t *testing.T, w store.Watch, current string, ttl time.Duration) (google.Granted, error) {
	t.Helper()
	return e.a.Watch(context.Background(), w, google.ChannelRequest{
		ID: "ch", Token: "tok", Address: eventsTopic, Expiration: time.Now().Add(ttl), Current: current,
	})
}

// near reports whether the grant expires within a few seconds of now + ttl
// (ttl is sent in whole seconds, counted from the simulator's clock).
func near(g google.Granted, ttl time.Duration) bool {
	d := time.Until(g.Expiration) - ttl
	return d > -3*time.Second && d < time.Second
}

// TestWorkspaceCreate: a first grant creates one subscription on the
// watch's target, for its user, publishing to the events topic, whether
// the operation is done at once or only after polling.
func TestWorkspaceCreate(t *testing.T) {
	t.Parallel()
	for _, delay := range []int{0, 2} {
		e := startEventsSim(t)
		e.DelayOperations(delay)
		g, err := e.open(t, eventsWatch(), "", 2*time.Hour)
		if err != nil {
			t.Fatalf("delay %d: Watch: %v", delay, err)
		}
		subs := e.Subscriptions()
		if len(subs) != 1 {
			t.Fatalf("delay %d: %d subscriptions, want 1", delay, len(subs))
		}
		s := subs[0]
		if g.ResourceID != s.Name || g.ResourceURI != eventsTarget || !g.Expiration.Equal(s.ExpireTime.Truncate(time.Millisecond)) || !near(g, 2*time.Hour) {
			t.Errorf("delay %d: granted %+v for %+v", delay, g, s)
		}
		if s.Subject != "ann@example.com" || s.PubsubTopic != eventsTopic || s.State != "ACTIVE" || len(s.EventTypes) != 2 || s.IncludeResource {
			t.Errorf("delay %d: created %+v", delay, s)
		}
		// The answer waited for the operation: polled delay times.
		if got := e.SubscriptionStats().OperationCalls; got != delay {
			t.Errorf("delay %d: %d operations.get calls", delay, got)
		}
	}
}

// TestWorkspaceRenewPatches: renewing an ACTIVE subscription patches its
// ttl, capped at the kind's maximum, and creates nothing.
func TestWorkspaceRenewPatches(t *testing.T) {
	t.Parallel()
	e := startEventsSim(t)
	first, err := e.open(t, eventsWatch(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		ttl, want time.Duration
	}{
		// A renewal asks for what it wants from now.
		{"three hours", 3 * time.Hour, 3 * time.Hour},
		// More than the documented maximum with resource data is capped.
		{"two days", 48 * time.Hour, 4 * time.Hour},
	} {
		g, err := e.open(t, eventsWatch(), first.ResourceID, tc.ttl)
		if err != nil {
			t.Fatalf("%s: Watch: %v", tc.name, err)
		}
		if g.ResourceID != first.ResourceID || !near(g, tc.want) {
			t.Errorf("%s: granted %+v, want %s for %v", tc.name, g, first.ResourceID, tc.want)
		}
	}
	st, ss := e.Stats(), e.SubscriptionStats()
	if st.WatchCalls != 1 || ss.PatchOK != 2 || len(e.Subscriptions()) != 1 {
		t.Errorf("creates %d, patches %d, subscriptions %d; want 1, 2, 1", st.WatchCalls, ss.PatchOK, len(e.Subscriptions()))
	}
}

// TestWorkspaceSuspended: a suspended subscription is reactivated when its
// reason is the endpoint's or unknown, and otherwise ends the watch: failed
// for a lost grant, gone for a deleted target.
func TestWorkspaceSuspended(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason string
		want   google.Class // ClassTransient: renewed
	}{
		// The topic's publisher grant may be back: reactivate, then patch.
		{"ENDPOINT_PERMISSION_DENIED", google.ClassTransient},
		{"ENDPOINT_NOT_FOUND", google.ClassTransient},
		{"OTHER", google.ClassTransient},
		// The user took back a scope or lost access: only they can fix it.
		{"USER_SCOPE_REVOKED", google.ClassFailed},
		{"USER_AUTHORIZATION_FAILURE", google.ClassFailed},
		// The space is gone.
		{"RESOURCE_DELETED", google.ClassGone},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			e := startEventsSim(t)
			first, err := e.open(t, eventsWatch(), "", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !e.SuspendSubscription(first.ResourceID, tc.reason) {
				t.Fatal("SuspendSubscription found no subscription")
			}
			g, err := e.open(t, eventsWatch(), first.ResourceID, 2*time.Hour)
			state := e.Subscriptions()[0].State
			if tc.want == google.ClassTransient {
				if err != nil || g.ResourceID != first.ResourceID || state != "ACTIVE" || e.SubscriptionStats().ReactivateOK != 1 {
					t.Errorf("Watch = %+v, %v; state %s; want %s reactivated", g, err, state, first.ResourceID)
				}
				return
			}
			if c, r := google.Classify(err), google.Reason(err); c != tc.want || !strings.Contains(r, tc.reason) {
				t.Errorf("Classify %v, Reason %q; want %v naming %s", c, r, tc.want, tc.reason)
			}
			var se *google.SuspendedError
			if !errors.As(err, &se) || se.Subscription != first.ResourceID || e.SubscriptionStats().ReactivateCalls != 0 {
				t.Errorf("err = %v, want a SuspendedError of %s and no reactivation", err, first.ResourceID)
			}
		})
	}
}

// TestWorkspaceRecreateAfterExpiry: Google deletes an expired
// subscription, so renewing it creates another.
func TestWorkspaceRecreateAfterExpiry(t *testing.T) {
	t.Parallel()
	e := startEventsSim(t)
	first, err := e.open(t, eventsWatch(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.offset.Store(int64(2 * time.Hour))
	g, err := e.open(t, eventsWatch(), first.ResourceID, time.Hour)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	subs := e.Subscriptions()
	if g.ResourceID == first.ResourceID || len(subs) != 2 || subs[0].State != "DELETED" || subs[1].Name != g.ResourceID {
		t.Errorf("granted %s after %s expired; subscriptions %+v", g.ResourceID, first.ResourceID, subs)
	}
}

// TestWorkspaceAdoptsExisting: a first grant where the user already has
// the subscription (an earlier attempt, a lost record) takes that one back
// renewed, rather than failing on ALREADY_EXISTS; one with other event
// types is not taken, since it would deliver other events.
func TestWorkspaceAdoptsExisting(t *testing.T) {
	t.Parallel()
	e := startEventsSim(t)
	first, err := e.open(t, eventsWatch(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.open(t, eventsWatch(), "", 3*time.Hour)
	if err != nil || g.ResourceID != first.ResourceID || !near(g, 3*time.Hour) {
		t.Fatalf("Watch = %+v, %v; want %s renewed", g, err, first.ResourceID)
	}
	if st, ss := e.Stats(), e.SubscriptionStats(); st.WatchOK != 1 || ss.ListCalls != 1 || ss.PatchOK != 1 {
		t.Errorf("creates %d, lists %d, patches %d; want 1 each", st.WatchOK, ss.ListCalls, ss.PatchOK)
	}

	other := eventsWatch()
	other.Params["eventTypes"] = "google.workspace.chat.message.v1.created"
	_, err = e.open(t, other, "", time.Hour)
	if !errors.Is(err, google.ErrInvalidWatch) || google.Classify(err) != google.ClassFailed || !strings.Contains(err.Error(), first.ResourceID) {
		t.Errorf("other event types: %v, want a failed watch naming %s", err, first.ResourceID)
	}

	// Another user's subscription on the same space is their own.
	bob := eventsWatch()
	bob.Subject = "bob@example.com"
	if g, err := e.open(t, bob, "", time.Hour); err != nil || g.ResourceID == first.ResourceID {
		t.Errorf("bob's Watch = %+v, %v; want a subscription of his own", g, err)
	}
}

// TestWorkspaceStop: stop deletes the subscription; a second stop finds
// nothing, which IsNotFound calls already stopped.
func TestWorkspaceStop(t *testing.T) {
	t.Parallel()
	e := startEventsSim(t)
	w := eventsWatch()
	g, err := e.open(t, w, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.Stop(context.Background(), w, "ch", g.ResourceID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s := e.Subscriptions()[0]; s.State != "DELETED" || e.Stats().StopOK != 1 {
		t.Errorf("after Stop: %+v, %d stopped", s, e.Stats().StopOK)
	}
	if err := e.a.Stop(context.Background(), w, "ch", g.ResourceID); !google.IsNotFound(err) {
		t.Errorf("second Stop = %v, want not found", err)
	}
}

// TestWorkspaceErrors: Google's refusals classify as for any watch.
func TestWorkspaceErrors(t *testing.T) {
	t.Parallel()
	e := startEventsSim(t)
	first, err := e.open(t, eventsWatch(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.RevokeSubject("carl@example.com")
	e.DeleteResource("//chat.googleapis.com/spaces/GONE")
	e.FailNext(1, googlesim.Match{Op: googlesim.OpPatch}, googlesim.FailUnavailable)
	for _, tc := range []struct {
		name    string
		edit    func(*store.Watch)
		current string
		want    google.Class
		reason  string
	}{
		// A revoked delegation fails the watch, naming the user.
		{"401", func(w *store.Watch) { w.Subject = "carl@example.com" }, "", google.ClassFailed, "acts as carl@example.com"},
		// A space that does not exist makes the watch gone.
		{"404 on create", func(w *store.Watch) { w.Params["targetResource"] = "//chat.googleapis.com/spaces/GONE" }, "", google.ClassGone, "no longer exists"},
		// A 503 on the renewal is retried.
		{"503 on patch", func(*store.Watch) {}, first.ResourceID, google.ClassTransient, "503"},
	} {
		w := eventsWatch()
		tc.edit(&w)
		_, err := e.open(t, w, tc.current, time.Hour)
		if c, r := google.Classify(err), google.Reason(err); err == nil || c != tc.want || !strings.Contains(r, tc.reason) {
			t.Errorf("%s: Classify %v, Reason %q; want %v and %q", tc.name, c, r, tc.want, tc.reason)
		}
	}
	// A webhook address is not a topic: the deployment is misconfigured.
	_, err = e.a.Watch(context.Background(), eventsWatch(), google.ChannelRequest{Address: "https://hooks.example/recv", Expiration: time.Now().Add(time.Hour)})
	if !errors.Is(err, google.ErrInvalidWatch) {
		t.Errorf("webhook address: %v, want ErrInvalidWatch", err)
	}
}

// TestWorkspaceValidate: what ValidateWatch refuses before a
// workspace.events watch is stored.
func TestWorkspaceValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*store.Watch)
		want string // "" when valid
	}{
		{"valid", func(*store.Watch) {}, ""},
		// includeResource is a boolean.
		{"with resource data", func(w *store.Watch) { w.Params["includeResource"] = "true" }, ""},
		{"bad boolean", func(w *store.Watch) { w.Params["includeResource"] = "yes" }, `includeResource="yes"`},
		// A user authorises a subscription: no subject, no watch.
		{"no subject", func(w *store.Watch) { w.Subject = "" }, "needs a subject"},
		{"no target", func(w *store.Watch) { delete(w.Params, "targetResource") }, "needs param targetResource"},
		// Google wants a full resource name.
		{"relative target", func(w *store.Watch) { w.Params["targetResource"] = "spaces/AAA" }, "not a full resource name"},
		{"no event types", func(w *store.Watch) { w.Params["eventTypes"] = " , " }, "lists no event type"},
		{"unknown param", func(w *store.Watch) { w.Params["fieldMask"] = "message" }, "has no param fieldMask"},
	} {
		w := eventsWatch()
		tc.edit(&w)
		err := google.ValidateWatch(w)
		if (tc.want == "") != (err == nil) || (err != nil && (!errors.Is(err, google.ErrInvalidWatch) || !strings.Contains(err.Error(), tc.want))) {
			t.Errorf("%s: ValidateWatch = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestWorkspaceKind: the kind is delivered through Pub/Sub, is never read
// by Sync and has no body changes.
func TestWorkspaceKind(t *testing.T) {
	t.Parallel()
	k, ok := google.LookupKind("workspace.events")
	if !ok || k.Delivery != google.DeliverEvents || !k.NeedsSubject || google.FromBody(k.Name) || google.MaxTTL(k.Name) != 4*time.Hour {
		t.Fatalf("workspace.events = %+v", k)
	}
	e := startEventsSim(t)
	if _, err := e.a.ReadChanges(context.Background(), eventsWatch(), google.ReadRequest{}); !errors.Is(err, google.ErrNoReads) {
		t.Errorf("ReadChanges = %v, want ErrNoReads", err)
	}
}
