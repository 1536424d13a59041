package changes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/service"
	"github.com/watchrelay/watchrelay/store"
)

// down is a store whose reads of watches fail as an unreachable Firestore's do.
type down struct{ service.Store }

func (down) Watch(context.Context, string) (store.Watch, error) {
	return store.Watch{}, fmt.Errorf("%w: connection refused", store.ErrUnavailable)
}

// push wraps a message as Pub/Sub's push delivery does.
func push(attrs map[string]string, data any) string {
	b, _ := json.Marshal(data)
	env, _ := json.Marshal(map[string]any{
		"message":      map[string]any{"attributes": attrs, "data": b, "messageId": "m-1"},
		"subscription": "projects/p/subscriptions/watchrelay-sync",
	})
	return string(env)
}

// TestPushContract: the answers Pub/Sub reads. 2xx acknowledges; 400 and 503
// have the delivery made again, until the dead-letter policy keeps it.
func TestPushContract(t *testing.T) {
	notification := map[string]string{event.AttrType: event.TypeNotification, event.AttrWatchID: "nobody"}
	for _, tc := range []struct {
		name   string
		method string
		body   string
		down   bool
		status int
	}{
		// Pub/Sub pushes with POST only.
		{"GET", http.MethodGet, "", false, http.StatusMethodNotAllowed},
		// Not an envelope: it can never succeed, so it goes to dead letters.
		{"not JSON", http.MethodPost, "{", false, http.StatusBadRequest},
		// The data is base64 of "not json".
		{"data not a notification", http.MethodPost, `{"message":{"attributes":{"ce-type":"watchrelay.notification.v1"},"data":"bm90IGpzb24="}}`, false, http.StatusBadRequest},
		{"no watch id", http.MethodPost, push(map[string]string{event.AttrType: event.TypeNotification}, event.NotificationData{}), false, http.StatusBadRequest},
		// Sync's own change events, and every other type, are acknowledged
		// untouched (the emulators ignore the subscription's filter).
		{"a change event", http.MethodPost, push(map[string]string{event.AttrType: event.TypeChange}, event.ChangeData{}), false, http.StatusNoContent},
		// A watch that does not exist has nothing to read.
		{"unknown watch", http.MethodPost, push(notification, event.NotificationData{WatchID: "nobody"}), false, http.StatusOK},
		// Firestore unreachable: 503, delivered again.
		{"store down", http.MethodPost, push(notification, event.NotificationData{WatchID: "nobody"}), true, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wrap func(service.Store) service.Store
			if tc.down {
				wrap = func(s service.Store) service.Store { return down{s} }
			}
			r := newRig(t, "memory", rigOptions{wrap: wrap})
			rec := httptest.NewRecorder()
			r.svc.Sync.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

// TestRedeliveryTakesOver: the request fetching for a trigger hangs (its
// instance is gone); Pub/Sub delivers the same message again. While the
// hung holder wrote lately it may still be publishing, so the redelivery is
// answered "deliver again" and takes nothing over; once the holder has been
// quiet for store.TakeoverQuiet, the next redelivery takes the fetch over
// rather than wait out the lease, and publishes the change. The hung
// request, when it wakes, finds it lost the fetch and writes nothing.
func TestRedeliveryTakesOver(t *testing.T) {
	g := &gated{reached: make(chan struct{})}
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	r := newRig(t, "memory", rigOptions{now: now, wrap: func(s service.Store) service.Store { g.Store = s; return g }})
	w := r.add(calendarWatch("team-cal"))
	ctx := context.Background()
	r.sim.EditEvent("team", googlesim.Event{ID: "a", Summary: "A"})
	r.waitItems(w.ID, []string{"a"}, nil) // fed by the pull wiring; now drive Sync by hand

	release := make(chan struct{})
	g.mu.Lock()
	g.pause = release
	g.mu.Unlock()
	r.sim.EditEvent("team", googlesim.Event{ID: "b", Summary: "B"})
	<-g.reached // the pull wiring's request for B hangs before its cursor
	g.mu.Lock()
	g.pause = nil
	g.mu.Unlock()

	c, err := r.svc.Store.Cursor(ctx, w.ID)
	if err != nil || c.Message == "" {
		t.Fatalf("cursor while B's fetch hangs: %+v, %v; want a holder triggered by a message", c, err)
	}
	other, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: "some-other-message"})
	if err != nil || !other.Joined {
		t.Errorf("another message while the fetch is held: %+v, %v; want it joined", other, err)
	}
	early, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: c.Message})
	if !errors.Is(err, changes.ErrTransient) || early.Fetches != 0 {
		t.Errorf("the redelivery while the holder wrote lately: %+v, %v; want deliver again, no fetch", early, err)
	}
	skew.Store(int64(store.TakeoverQuiet))
	again, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: c.Message})
	if err != nil || again.Joined || again.Fetches == 0 {
		t.Errorf("the redelivery once the holder was quiet: %+v, %v; want it to take the fetch over", again, err)
	}
	close(release)
	r.waitItems(w.ID, []string{"a", "b"}, nil)
	after, err := r.svc.Store.Cursor(ctx, w.ID)
	if err != nil || after.Holder != "" || after.Done != after.Wanted {
		t.Errorf("cursor after both: %+v, %v; want released with every notification done", after, err)
	}
}

// TestSnapshotAndOptOut: a watch with snapshot publishes the items it starts
// from; one with changes off publishes no change (its notifications still
// go out), and Sync says why.
func TestSnapshotAndOptOut(t *testing.T) {
	r := newRig(t, "memory", rigOptions{})
	ctx := context.Background()
	r.sim.EditEvent("team", googlesim.Event{ID: "existing", Summary: "there before"})
	snap := calendarWatch("snap")
	snap.Snapshot = true
	r.add(snap)
	r.waitItems("snap", []string{"existing"}, nil)

	off := calendarWatch("off")
	off.Changes = store.Ptr(false)
	if _, err := r.svc.Store.Watch(ctx, "off"); err == nil {
		t.Fatal("watch off exists already")
	}
	if _, err := r.svc.Store.Cursor(ctx, "off"); err == nil {
		t.Fatal("cursor of off exists already")
	}
	r.open(off)
	out, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: "off"})
	if err != nil || out.Skipped != "watch has changes off" {
		t.Errorf("Handle of a watch with changes off: %+v, %v", out, err)
	}
	r.sim.EditEvent("team", googlesim.Event{ID: "later", Summary: "after both started"})
	r.waitItems("snap", []string{"later"}, nil)
	r.waitFor("off's notification", func() bool { return len(r.ofType("off", event.TypeNotification)) >= 2 })
	if n := len(r.changes("off")); n != 0 {
		t.Errorf("watch with changes off got %d change events", n)
	}
}

// TestSkipLogged: a notification read for nothing logs one line naming its
// watch and why, the line scripts/smoke.sh (smoke-path.sh) reads to see
// Sync take its temporary watch's turn; a smoke test that looked for
// another message would wait out its timeout and fail every run.
func TestSkipLogged(t *testing.T) {
	var logs lockedLog
	r := newRig(t, "memory", rigOptions{log: &logs})
	notification := map[string]string{event.AttrType: event.TypeNotification, event.AttrWatchID: "smoke-0123456789ab"}
	rec := httptest.NewRecorder()
	r.svc.Sync.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(push(notification, event.NotificationData{WatchID: "smoke-0123456789ab"}))))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	if want := `"msg":"sync skipped","watch":"smoke-0123456789ab","reason":"no such watch"`; !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %s:\n%s", want, logs.String())
	}
	script, err := os.ReadFile("../scripts/smoke-path.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := `jsonPayload.message=\"sync skipped\" AND jsonPayload.watch=\"$channel\"`; !strings.Contains(string(script), want) {
		t.Errorf("scripts/smoke-path.sh does not read Sync's line %s", want)
	}
}

// lockedLog is a log writer the rig's goroutines may share.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
