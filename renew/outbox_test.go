package renew_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// downPublisher is a Pub/Sub that refuses every publish, counting them.
type downPublisher struct{ calls atomic.Int64 }

func (p *downPublisher) Publish(context.Context, event.Event) error {
	p.calls.Add(1)
	return errors.New("pubsub: unavailable")
}

// TestDrainStopsAtTheFirstRefusal: with Pub/Sub down, a pass's drain of
// the events earlier passes left tries one and leaves the rest for the
// next pass, rather than pay a refusal's bound for each of up to 500 in
// front of the renewals; once Pub/Sub is back, the next drain publishes
// them all.
func TestDrainStopsAtTheFirstRefusal(t *testing.T) {
	stores(t, func(t *testing.T, s testStore) {
		r := newRig(t, s)
		const n = 5
		for i := range n {
			r.add(store.Watch{ID: fmt.Sprint("w", i), Kind: "calendar.events", Params: map[string]string{"calendarId": fmt.Sprint("cal", i)}})
		}
		down := &downPublisher{}
		// The first pass starts every watch; each started event stays in
		// the outbox.
		if _, err := r.passWith(r.store, r.apis, down); err != nil {
			t.Fatal(err)
		}
		if left, err := r.store.Outbox(context.Background(), 0); err != nil || len(left) != n {
			t.Fatalf("outbox after a pass with Pub/Sub down: %d events, %v; want %d", len(left), err, n)
		}
		down.calls.Store(0)
		if _, err := r.passWith(r.store, r.apis, down); err != nil {
			t.Fatal(err)
		}
		if got := down.calls.Load(); got != 1 {
			t.Errorf("a drain with Pub/Sub down made %d publishes, want 1", got)
		}
		r.pass(nil)
		if left, err := r.store.Outbox(context.Background(), 0); err != nil || len(left) != 0 {
			t.Errorf("outbox once Pub/Sub is back: %d events, %v; want none", len(left), err)
		}
		for i := range n {
			if got := r.count(event.TypeStarted, fmt.Sprint("w", i)); got != 1 {
				t.Errorf("w%d: %d started events published, want 1", i, got)
			}
		}
	})
}
