package receive_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// A stray is recorded once per channel id, answered 204 every time, and
// what a flood of forged ids costs the store is bounded per instance.
func TestStraysRecordedWithinBounds(t *testing.T) {
	t.Parallel()
	var strays *store.Memory
	r := newRig(t, contractChannels, func(d *receive.Deps) {
		strays = store.NewMemory()
		d.Strays = strays
	})
	// The same stray three times: one record, with what the headers say.
	for range 3 {
		if w := r.serve(notification("ch-nobody", tok1, "res-x", "exists", 4)); w.Code != 204 {
			t.Fatalf("stray answered %d, want 204", w.Code)
		}
	}
	got, err := strays.Strays(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Stray{{ChannelID: "ch-nobody", ResourceID: "res-x", ResourceURI: "https://www.googleapis.com/calendar/v3/calendars/primary/events",
		State: store.StraySeen, SeenAt: t0.Truncate(time.Microsecond), DeleteAt: t0.Add(store.Retention).Truncate(time.Microsecond)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strays (-want +got):\n%s", diff)
	}
	// A known channel, live or retired, is never a stray; nor is an id no
	// record can have.
	r.serve(valid())
	r.serve(notification("ch-old", tok1, "res-1", "exists", 5))
	r.serve(notification("a/b", tok1, "res-1", "exists", 5))
	// A flood of forged ids: the burst is recorded, the rest only logged.
	for i := range 100 {
		if w := r.serve(notification(fmt.Sprintf("forged-%03d", i), "t", "r", "exists", 1)); w.Code != 204 {
			t.Fatalf("forged stray answered %d, want 204", w.Code)
		}
	}
	all, _ := strays.Strays(t.Context(), "", 0)
	if n := len(all); n < 2 || n > 1+10+2 { // the first, the burst, and what the limiter refilled meanwhile
		t.Errorf("%d strays recorded after a flood of 100, want at most the burst of 10 beyond the first", n)
	}
	for _, s := range all {
		if s.ChannelID == "ch-1" || s.ChannelID == "ch-old" || s.ChannelID == "a/b" {
			t.Errorf("%s recorded as a stray", s.ChannelID)
		}
	}
}
