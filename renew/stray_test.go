package renew_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// A channel live at Google that no record knows (a lost record, an old
// deployment) pushes to Receive, which records it as a stray; the next
// pass stops it through the API its resource URI names.
func TestStrayStoppedByTheNextPass(t *testing.T) {
	stores(t, func(t *testing.T, s renewStore) {
		r := newRig(t, s)
		// A channel opened at Google outside any pass: its sync is a stray.
		id := uuid.NewString()
		w := store.Watch{ID: "elsewhere", Kind: "drive.files", Params: map[string]string{"fileId": "f1"}}
		if _, err := r.apis.Watch(context.Background(), w, google.ChannelRequest{
			ID: id, Token: "t", Address: r.opts.Address, Expiration: r.clock.Now().Add(time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		r.flush()
		if !r.live(id) {
			t.Fatal("the leaked channel is not live")
		}
		sum := r.pass(nil)
		if sum.StraysStopped != 1 || r.live(id) {
			t.Errorf("pass %s: the stray is still live", sum.JSON())
		}
		got, err := s.Strays(context.Background(), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ChannelID != id || got[0].State != store.StrayStopped {
			t.Errorf("strays %+v, want %s stopped", got, id)
		}
	})
}

// A channel the store knows is never stopped as a stray, even when a stray
// record names it (Receive read the store before the channel was stored).
func TestKnownChannelNeverStoppedAsStray(t *testing.T) {
	r := newRig(t, store.NewMemory())
	r.add(store.Watch{ID: "w", Kind: "calendar.acl", Params: map[string]string{"calendarId": "c1"}})
	r.pass(nil)
	r.flush()
	c := r.channel(r.watch("w").ChannelID)
	if err := r.store.RecordStray(context.Background(), store.Stray{ChannelID: c.ID, ResourceID: c.ResourceID, ResourceURI: c.ResourceURI, State: store.StraySeen}); err != nil {
		t.Fatal(err)
	}
	if sum := r.pass(nil); sum.StraysStopped != 0 {
		t.Errorf("pass %s stopped a stray", sum.JSON())
	}
	r.converged("w")
	got, _ := r.store.Strays(context.Background(), "", 0)
	if len(got) != 1 || got[0].State != store.StrayKnown {
		t.Errorf("strays %+v, want the record marked known", got)
	}
}

// A flood of forged strays costs at most MaxStrays stop calls per pass.
func TestForgedStraysBounded(t *testing.T) {
	r := newRig(t, store.NewMemory())
	for i := range 100 {
		if err := r.store.RecordStray(context.Background(), store.Stray{
			ChannelID: fmt.Sprintf("forged-%03d", i), ResourceID: "r", State: store.StraySeen,
			ResourceURI: "https://www.googleapis.com/calendar/v3/calendars/primary/events",
		}); err != nil {
			t.Fatal(err)
		}
	}
	g := newTally(r.apis)
	for pass := range 3 {
		r.pass(g)
		calls := g.take()
		if n := calls["calendar.events stop"]; n == 0 || n > 20 {
			t.Errorf("pass %d: %d stop calls, want 1 to MaxStrays (20)", pass, n)
		}
	}
	left, _ := r.store.Strays(context.Background(), store.StraySeen, 0)
	if len(left) != 40 {
		t.Errorf("%d strays left after three passes of 20, want 40", len(left))
	}
}
