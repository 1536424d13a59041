package receive_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// gate holds calls until it opens, or their context ends, and records the
// last call's deadline.
type gate struct {
	open chan struct{}

	mu       sync.Mutex
	deadline time.Time
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) pass(ctx context.Context) error {
	g.mu.Lock()
	g.deadline, _ = ctx.Deadline()
	g.mu.Unlock()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) lastDeadline() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.deadline
}

// gatedChannels passes each read through its gate.
type gatedChannels struct {
	receive.Channels
	*gate
}

func (g gatedChannels) Channel(ctx context.Context, id string) (store.Channel, error) {
	if err := g.pass(ctx); err != nil {
		return store.Channel{}, err
	}
	return g.Channels.Channel(ctx, id)
}

// gatedPublisher passes each publish through its gate.
type gatedPublisher struct {
	receive.Publisher
	*gate
}

func (g gatedPublisher) Publish(ctx context.Context, e event.Event) error {
	if err := g.pass(ctx); err != nil {
		return err
	}
	return g.Publisher.Publish(ctx, e)
}

// Past MaxInFlight notifications at once, Receive answers 503 without
// touching the store; the held ones go on, and their slots free up.
func TestReceiveMaxInFlight(t *testing.T) {
	t.Parallel()
	const max = 2
	gc := &gatedChannels{gate: newGate()}
	r := newRig(t, contractChannels, func(d *receive.Deps) {
		gc.Channels = d.Channels
		d.Channels = gc
		d.MaxInFlight = max
		d.Timeout = time.Minute // nothing here waits for the deadline
	})

	codes := make(chan int, max)
	for i := range max {
		go func() { codes <- r.serve(valid(receive.HeaderMessageNumber, string(rune('1'+i)))).Code }()
	}
	for wait := time.Now().Add(10 * time.Second); r.handler.InFlight() < max && time.Now().Before(wait); {
		time.Sleep(time.Millisecond)
	}
	if n := r.handler.InFlight(); n != max {
		t.Fatalf("%d in flight, want %d held at the store", n, max)
	}

	start := time.Now()
	w := r.serve(valid())
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("past the bound: status %d, want 503", w.Code)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("past the bound: answered after %v, want at once", took)
	}
	if !strings.Contains(r.logs.String(), "too many notifications in flight") {
		t.Errorf("the refusal is not logged with its cause:\n%s", r.logs)
	}

	close(gc.open)
	for range max {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("a held notification was answered %d, want 200", code)
		}
	}
	if n := r.handler.InFlight(); n != 0 {
		t.Errorf("%d in flight after every answer, want 0", n)
	}
	if w := r.serve(valid()); w.Code != http.StatusOK {
		t.Errorf("with the slots free again: status %d, want 200", w.Code)
	}
}

// The store's calls end by the middle of the deadline, and the publish
// has the rest: a hanging store is answered at about half the deadline, a
// hanging Pub/Sub within it, each 503 with nothing published.
func TestReceiveDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 2 * time.Second
	for _, tc := range []struct {
		name string
		// hangStore: the read never answers; else the publish never does.
		hangStore bool
		// within: when the 503 must have come, at the latest.
		within time.Duration
	}{
		// The store's half, not the whole deadline.
		{"store hangs", true, deadline - receive.PublishTimeout(deadline)},
		// The whole deadline.
		{"publish hangs", false, deadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gc := &gatedChannels{gate: newGate()}
			gp := &gatedPublisher{gate: newGate()}
			if !tc.hangStore {
				close(gc.open)
			}
			r := newRig(t, contractChannels, func(d *receive.Deps) {
				gc.Channels, gp.Publisher = d.Channels, d.Publisher
				d.Channels, d.Publisher = gc, gp
				d.Timeout = deadline
			})
			start := time.Now()
			if w := r.serve(valid()); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", w.Code)
			}
			took := time.Since(start)
			t.Logf("503 after %v", took.Round(time.Millisecond))
			// Generous for a loaded machine; the bounds come from the
			// deadlines, which are checked exactly below.
			if took > tc.within+time.Second {
				t.Errorf("answered after %v, want within %v", took, tc.within)
			}
			if n := len(r.pubsub.Messages()); n != 0 {
				t.Errorf("%d messages published", n)
			}
			if tc.hangStore {
				return
			}
			// The publish's deadline is the notification's; the read's
			// comes early enough for the publisher's timeout to run out
			// before it, with a margin.
			read, publish := gc.lastDeadline(), gp.lastDeadline()
			if left := publish.Sub(read); left != deadline/2 || receive.PublishTimeout(deadline) >= left {
				t.Errorf("the publish has %v after the read's deadline, want half the deadline (%v), more than the publisher's timeout %v",
					left, deadline/2, receive.PublishTimeout(deadline))
			}
			if d := publish.Sub(start); d < deadline || d > deadline+time.Second {
				t.Errorf("the publish may run %v, want the notification's deadline %v", d, deadline)
			}
		})
	}
}

// Receive's publisher gives a publish up within the share of the deadline
// PublishTimeout gives it, which is less than the whole, and a refusing
// Pub/Sub within UnavailableFor; each notification is a request of its own.
func TestPublishPolicy(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Millisecond, time.Second, config.Defaults.ReceiveTimeout, time.Minute} {
		p := receive.PublishPolicy(d)
		if p.Timeout != receive.PublishTimeout(d) || p.Timeout <= 0 || p.Timeout >= d {
			t.Errorf("PublishPolicy(%v).Timeout = %v, want PublishTimeout(%[1]v), between 0 and %[1]v", d, p.Timeout)
		}
		if p.UnavailableFor != receive.UnavailableFor || p.Batch != 1 {
			t.Errorf("PublishPolicy(%v) = %+v, want UnavailableFor %v and a batch of 1", d, p, receive.UnavailableFor)
		}
	}
}
