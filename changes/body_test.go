package changes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/internal/testing/backend"
	"github.com/watchrelay/watchrelay/internal/testing/fscount"
	"github.com/watchrelay/watchrelay/store"
)

// notification waits for the notification event Receive published for
// watch with the given resource state, whose body's field has value. The
// test's subscription is unordered: it may come after the change event
// Sync published for it.
func (r *rig) notification(watch, state, field, value string) event.NotificationData {
	r.t.Helper()
	var n event.NotificationData
	r.waitFor("the "+state+" notification of "+value, func() bool {
		for _, p := range r.ofType(watch, event.TypeNotification) {
			var body map[string]any
			if json.Unmarshal(p.raw, &n) == nil && n.ResourceState == state &&
				json.Unmarshal(n.Body, &body) == nil && body[field] == value {
				return true
			}
		}
		return false
	})
	return n
}

// aliasAddedThenDeleted watches the aliases of user u-cat, adds the
// aliases others and then alias, calls between (nil: nothing), deletes
// alias, and returns once both of alias's changes are published, with the
// watch and the add's and delete's notifications.
func (r *rig) aliasAddedThenDeleted(alias string, others []string, between func(store.Watch)) (w store.Watch, add, del event.NotificationData) {
	r.t.Helper()
	r.sim.EditUser(googlesim.User{ID: "u-cat", PrimaryEmail: "cat@example.com"}, "add")
	w = r.add(store.Watch{ID: "aliases", Kind: "admin.directory.aliases", Params: map[string]string{"userKey": "u-cat"}})
	for _, a := range append(others, alias) {
		r.sim.AddAlias("u-cat", a)
	}
	r.waitItems(w.ID, append(others, alias), nil)
	if between != nil {
		between(w)
	}
	r.sim.DeleteAlias("u-cat", alias)
	r.waitItems(w.ID, []string{alias}, func(c change) bool { return c.Data.Removed })
	return w, r.notification(w.ID, "add", "alias", alias), r.notification(w.ID, "delete", "alias", alias)
}

// TestOlderBodyDropped is case 6 of issue 17. Sync's subscription is
// unordered and a push Sync did not acknowledge comes back later: an alias
// is added, then deleted, and the add is delivered again after the
// deletion was published. The add carries the channel's lower message
// number, so Sync drops it: the alias's last change is its removal.
func TestOlderBodyDropped(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			const alias = "kitty@example.com"
			w, add, del := r.aliasAddedThenDeleted(alias, nil, nil)
			if add.ChannelID != del.ChannelID || add.MessageNumber >= del.MessageNumber {
				t.Fatalf("notifications add %+v, delete %+v: want both on one channel, the add numbered lower", add, del)
			}
			out, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: "add-again", Notification: add})
			if err != nil || out.Published != 0 {
				t.Errorf("the add delivered again after the delete: %+v, %v; want it dropped", out, err)
			}
			// The delete delivered again is the same message: published
			// again, under the same ce-id.
			out, err = r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: "delete-again", Notification: del})
			if err != nil || out.Published != 1 {
				t.Errorf("the delete delivered again: %+v, %v; want it published again", out, err)
			}
			r.waitFor("the delete's second publish", func() bool {
				n := 0
				for _, c := range r.changes(w.ID) {
					if c.Data.Removed {
						n++
					}
				}
				return n == 2
			})
			var upserts int
			var last change
			for _, c := range r.changes(w.ID) {
				if c.Data.ItemID == alias {
					last = c
					if !c.Data.Removed {
						upserts++
					}
				}
			}
			if upserts != 1 || !last.Data.Removed {
				t.Errorf("alias %s: %d upserts, last change %q; want the add once and the removal last", alias, upserts, last.Change)
			}
		})
	}
}

// TestOlderChannelBodyDropped: message numbers of two channels say nothing
// of each other. An alias is added while the watch's first channel serves
// it (after other edits, so its number is high), the watch is renewed, and
// the alias deleted: the second channel numbers the delete low. The add,
// delivered again from the retired channel, loses to the current
// channel's delete.
func TestOlderChannelBodyDropped(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			renew := func(w store.Watch) {
				if err := r.svc.Store.UpdateWatch(ctx, w.ID, store.WatchUpdate{ChannelExpiration: store.Ptr(time.Now().Add(time.Minute))}, time.Now()); err != nil {
					t.Fatal(err)
				}
				if sum := r.pass(); sum.Renewed != 1 {
					t.Fatalf("pass renewed %d channels, want 1: %+v", sum.Renewed, sum)
				}
			}
			others := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"}
			w, add, del := r.aliasAddedThenDeleted("kitty@example.com", others, renew)
			if add.ChannelID == del.ChannelID || add.MessageNumber <= del.MessageNumber {
				t.Fatalf("notifications add %+v, delete %+v: want them on two channels, the add numbered higher", add, del)
			}
			out, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID, Message: "add-again", Notification: add})
			if err != nil || out.Published != 0 {
				t.Errorf("the retired channel's add delivered again: %+v, %v; want it dropped", out, err)
			}
		})
	}
}

// noReads is a Reader for watches that read nothing (the admin kinds).
type noReads struct{}

func (noReads) ReadChanges(context.Context, store.Watch, google.ReadRequest) (google.Page, error) {
	return google.Page{}, errors.New("no reads here")
}

// confirmed is a Publisher that confirms every event at once.
type confirmed struct{}

func (confirmed) PublishAll(context.Context, []event.Event) error { return nil }

// TestBodyCost counts, at the gRPC connection to the Firestore emulator,
// what one admin notification costs Sync (docs/DESIGN.md quotes it): the
// watch's read, and for the kinds whose items change the claim of the
// body, one read more and, only when the body is the item's newest, a
// write. A Reports activity is claimed nowhere.
func TestBodyCost(t *testing.T) {
	ops := fscount.New()
	fs := fscount.Open(t, backend.New(t), ops)
	s, err := changes.New(fs, noReads{}, confirmed{}, changes.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, w := range []store.Watch{
		{ID: "aliases", Kind: "admin.directory.aliases", Params: map[string]string{"userKey": "u-cat"}, State: store.WatchActive, ChannelID: "c1"},
		{ID: "activities", Kind: "admin.reports.activities", Params: map[string]string{"userKey": "all", "applicationName": "drive"}, State: store.WatchActive, ChannelID: "c2"},
	} {
		if err := fs.CreateWatch(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	alias := func(state string, number int64) changes.Trigger {
		body := fmt.Sprintf(`{"kind":"admin#directory#alias","alias":"kitty@example.com","etag":"e%d"}`, number)
		return changes.Trigger{WatchID: "aliases", Notification: event.NotificationData{
			WatchID: "aliases", ChannelID: "c1", MessageNumber: number, ResourceState: state, Body: json.RawMessage(body)}}
	}
	activity := changes.Trigger{WatchID: "activities", Notification: event.NotificationData{
		WatchID: "activities", ChannelID: "c2", MessageNumber: 3, ResourceState: "edit",
		Body: json.RawMessage(`{"kind":"admin#reports#activity","id":{"time":"2026-11-22T08:00:00Z","uniqueQualifier":"42"}}`)}}
	for _, tc := range []struct {
		name      string
		trigger   changes.Trigger
		published int
		want      fscount.Tally
	}{
		// An alias never published: a get that finds nothing, and a create.
		{"an item's first body", alias("add", 5), 1, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 2, "Commit": 1}, Reads: 1, Writes: 1, Missing: 1}},
		// A newer body: its record read and updated.
		{"a newer body", alias("delete", 9), 1, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 2, "Commit": 1}, Reads: 2, Writes: 1}},
		// The same message again, and an older one: read only.
		{"the same body again", alias("delete", 9), 1, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 2}, Reads: 2}},
		{"an older body", alias("add", 5), 0, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 2}, Reads: 2}},
		// No channel to order by (Receive always records one): published
		// unordered, with no claim, rather than refused forever.
		{"a body with no channel", func() changes.Trigger { tr := alias("add", 3); tr.Notification.ChannelID = ""; return tr }(),
			1, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 1}, Reads: 1}},
		// An activity happens once: the watch's read, as before.
		{"an activity", activity, 1, fscount.Tally{RPCs: map[string]int{"BatchGetDocuments": 1}, Reads: 1}},
	} {
		ops.Reset()
		out, err := s.Handle(ctx, tc.trigger)
		if err != nil || out.Published != tc.published {
			t.Errorf("%s: %+v, %v; want %d published", tc.name, out, err, tc.published)
		}
		if diff := cmp.Diff(tc.want, ops.Snapshot()); diff != "" {
			t.Errorf("%s: Firestore (-want +got):\n%s", tc.name, diff)
		}
	}
}
