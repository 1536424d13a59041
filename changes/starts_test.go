package changes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/changes"
	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/googlesim"
	"github.com/watchrelay/watchrelay/renew"
	"github.com/watchrelay/watchrelay/store"
)

// sampleParams are values for every required param of every kind, as a
// user's `watch add` gives them.
var sampleParams = map[string]string{
	"calendarId": "team", "fileId": "doc-1", "userKey": "u-ann", "applicationName": "drive",
	"customer": "my_customer", "targetResource": "//chat.googleapis.com/spaces/AAA",
	"eventTypes": "google.workspace.chat.message.v1.created",
}

// TestEveryKindStarts: a watch of each kind added as docs/how-it-works.md
// (Kinds) shows, with its required params only and changes on (the
// default), gets its channel in the first pass. Before, a workspace.events
// watch asked for a first cursor its kind cannot have, and every pass
// deferred it.
func TestEveryKindStarts(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			r.sim.EditFile(googlesim.File{ID: "doc-1", Name: "plan.txt"})
			r.sim.EditUser(googlesim.User{ID: "u-ann", PrimaryEmail: "ann@example.com"}, "add")
			kinds := google.Kinds()
			for _, k := range kinds {
				w := store.Watch{ID: strings.ReplaceAll(k.Name, ".", "-"), Kind: k.Name, Params: map[string]string{}}
				for _, p := range k.Required {
					w.Params[p] = sampleParams[p]
				}
				if k.Name == "admin.directory.users" {
					w.Params["customer"] = sampleParams["customer"]
				}
				if k.NeedsSubject {
					w.Subject = "ann@example.com"
				}
				if _, err := renew.AddWatch(ctx, r.svc.Store, w, r.svc.Config.RenewInterval, time.Now()); err != nil {
					t.Fatalf("%s: %v", k.Name, err)
				}
			}
			if sum := r.pass(); sum.Started != len(kinds) {
				t.Errorf("first pass: %+v; want all %d kinds started", sum, len(kinds))
			}
			for _, k := range kinds {
				w, err := r.svc.Store.Watch(ctx, strings.ReplaceAll(k.Name, ".", "-"))
				if err != nil || w.ChannelID == "" || w.LastError != "" {
					t.Errorf("%s after a pass: channel %q, lastError %q, %v", k.Name, w.ChannelID, w.LastError, err)
				}
				if _, err := r.svc.Store.Cursor(ctx, w.ID); google.Reads(k.Name) == (err != nil) {
					t.Errorf("%s: cursor error %v; a kind keeps a cursor if and only if it reads", k.Name, err)
				}
			}
		})
	}
}

// importChannel opens a channel for w at the simulated Google, as another
// system would have, and imports it (channel import, serve --channel).
func (r *rig) importChannel(w store.Watch) (renew.ImportSpec, error) {
	r.t.Helper()
	ctx := context.Background()
	if _, err := renew.AddWatch(ctx, r.svc.Store, w, r.svc.Config.RenewInterval, time.Now()); err != nil {
		r.t.Fatal(err)
	}
	w, err := r.svc.Store.Watch(ctx, w.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	req := google.ChannelRequest{ID: uuid.NewString(), Token: "imported-token", Address: r.svc.Config.Address,
		Expiration: time.Now().Add(24 * time.Hour)}
	g, err := r.svc.Google.Watch(ctx, w, req)
	if err != nil {
		r.t.Fatal(err)
	}
	spec := renew.ImportSpec{ID: req.ID, Token: req.Token, ResourceID: g.ResourceID, ResourceURI: g.ResourceURI,
		Kind: w.Kind, WatchID: w.ID, Expiration: g.Expiration}
	return spec, r.svc.ImportChannel(ctx, spec, time.Now())
}

// TestImportedChannelBaseline: a channel opened elsewhere and imported gets
// its watch's first cursor at the import, so the first change after it is
// published. Before, the first notification's read took the baseline and
// swallowed that change. Where the baseline cannot be taken at the import,
// the first read says so with a resync event, and the changes after it are
// published.
func TestImportedChannelBaseline(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			r.sim.EditEvent("team", googlesim.Event{ID: "old", Summary: "before the import"})
			if _, err := r.importChannel(calendarWatch("imported")); err != nil {
				t.Fatal(err)
			}
			r.sim.EditEvent("team", googlesim.Event{ID: "first", Summary: "the first change after the import"})
			r.waitItems("imported", []string{"first"}, nil)
			if _, found := r.items("imported")["old"]; found {
				t.Error("the item from before the import was published, with no snapshot asked for")
			}

			// The baseline fails at the import: the channel serves all
			// the same, and the first read publishes a resync.
			r.sim.FailNext(1, googlesim.Match{Op: googlesim.OpList, Kind: "calendar.events"}, googlesim.FailUnavailable)
			w := calendarWatch("unbaselined")
			w.Params = map[string]string{"calendarId": "other"}
			if _, err := r.importChannel(w); err == nil || !strings.Contains(err.Error(), "first cursor") {
				t.Errorf("import with its baseline refused: %v; want it to say the first cursor was not taken", err)
			}
			if c, err := r.svc.Store.Channel(ctx, mustWatch(t, r, w.ID).ChannelID); err != nil || c.State != store.ChannelActive {
				t.Errorf("the imported channel: %+v, %v; want it active", c, err)
			}
			r.sim.EditEvent("other", googlesim.Event{ID: "swallowed", Summary: "in the late baseline"})
			r.waitFor("the resync", func() bool { return len(r.ofType(w.ID, event.TypeResync)) == 1 })
			r.idle(w.ID)
			r.sim.EditEvent("other", googlesim.Event{ID: "next", Summary: "published"})
			r.waitItems(w.ID, []string{"next"}, nil)
		})
	}
}

// TestBaselineReadsAgain: a notification counted while a first cursor is
// being taken (an imported channel delivers during the import's baseline)
// has the baseline read once more and give the lease back. Before, the
// baseline left the lease held with no one reading, and every notification
// until it ran out was acknowledged as covered, with no read.
func TestBaselineReadsAgain(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			// The import's baseline list call waits until a notification
			// has been counted on the cursor it holds.
			var release func()
			counted := make(chan struct{})
			release = r.sim.Hold(googlesim.Match{Op: googlesim.OpList, Kind: "calendar.events"})
			go func() {
				r.waitFor("the notification counted during the baseline", func() bool {
					c, err := r.svc.Store.Cursor(ctx, "held")
					return err == nil && c.Wanted >= 2
				})
				release()
				close(counted)
			}()
			done := make(chan error, 1)
			go func() {
				_, err := r.importChannel(calendarWatch("held"))
				done <- err
			}()
			// The channel is live once imported; wait for the cursor the
			// baseline holds, then edit.
			r.waitFor("the baseline's lease", func() bool {
				c, err := r.svc.Store.Cursor(ctx, "held")
				return err == nil && c.Holder != "" && !c.Fetching.IsZero()
			})
			r.sim.EditEvent("team", googlesim.Event{ID: "during", Summary: "made during the baseline"})
			<-counted
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			c, err := r.svc.Store.Cursor(ctx, "held")
			if err != nil || c.Holder != "" || c.Done != c.Wanted || c.Owed(time.Now()) {
				t.Errorf("cursor after the baseline: %+v, %v; want it released with every notification read for", c, err)
			}
		})
	}
}

// TestOwedReadRetried: a `watch sync` fails, and nothing will deliver it
// again; Renew's next pass makes the read it owes. Before, the read was
// owed until the next notification, which may never come.
func TestOwedReadRetried(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			r := newRig(t, backend, rigOptions{})
			ctx := context.Background()
			w := r.add(calendarWatch("owed"))
			// The channel's sync message is read first, so that nothing
			// else reads during the test.
			r.waitFor("the sync message's read", func() bool {
				c, err := r.svc.Store.Cursor(ctx, w.ID)
				return err == nil && c.Wanted >= 2 && c.Done == c.Wanted && c.Holder == ""
			})
			down := r.sim.Fail(googlesim.Match{Op: googlesim.OpList}, googlesim.FailUnavailable)
			_, err := r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID})
			down()
			if err == nil {
				t.Fatal("watch sync with Google down succeeded")
			}
			if c, err := r.svc.Store.Cursor(ctx, w.ID); err != nil || !c.Owed(time.Now()) {
				t.Fatalf("cursor after the failed sync: %+v, %v; want the read owed", c, err)
			}
			before := r.sim.Stats().ListCalls
			if sum := r.pass(); sum.OwedReads != 1 {
				t.Errorf("pass: %+v; want one owed read", sum)
			}
			c, err := r.svc.Store.Cursor(ctx, w.ID)
			if err != nil || c.Owed(time.Now()) || c.Done != c.Wanted || c.Failures != 0 {
				t.Errorf("cursor after the pass: %+v, %v; want the read made", c, err)
			}
			// The channel's sync message may be read during the pass too.
			if n := r.sim.Stats().ListCalls - before; n < 1 {
				t.Errorf("%d list calls in the pass, want the owed read", n)
			}
			// A watch removed with its read owed is settled, not read.
			down = r.sim.Fail(googlesim.Match{Op: googlesim.OpList}, googlesim.FailUnavailable)
			_, err = r.svc.Sync.Handle(ctx, changes.Trigger{WatchID: w.ID})
			down()
			if err == nil {
				t.Fatal("watch sync with Google down succeeded")
			}
			if err := renew.RemoveWatch(ctx, r.svc.Store, w.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			r.pass()
			if owed, err := r.svc.Store.OwedCursors(ctx, time.Now(), 0); err != nil || len(owed) != 0 {
				t.Errorf("owed cursors after the removed watch's pass: %v, %v; want none", owed, err)
			}
		})
	}
}

func mustWatch(t *testing.T, r *rig, id string) store.Watch {
	t.Helper()
	w, err := r.svc.Store.Watch(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
