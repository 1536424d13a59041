package event_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
)

// page is n change events of one watch, as Sync publishes a page.
func page(n int) []event.Event {
	es := make([]event.Event, n)
	for i := range es {
		es[i] = event.Event{ID: fmt.Sprintf("w-1/item-%d/1", i), Type: event.TypeChange, Time: time.Now(), WatchID: "w-1", Data: i}
	}
	return es
}

// countRequests is a pstest reactor that counts publish requests and lets
// them all through.
type countRequests struct{ n atomic.Int32 }

func (c *countRequests) React(any) (bool, any, error) {
	c.n.Add(1)
	return false, nil, nil
}

// A policy's Batch is the most events a request carries: one each, for a
// caller waiting on one, or a page in a few requests.
func TestPublishBatch(t *testing.T) {
	t.Parallel()
	const events = 200
	for _, tc := range []struct {
		name       string
		batch      int
		min, limit int32
	}{
		// Each event is a request of its own, sent at once.
		{"one", 1, events, events},
		// The page goes out in a few requests, not one per event
		// (the loop that adds them may outlast the millisecond a
		// request waits to fill on a loaded machine).
		{"page", 1000, 1, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &countRequests{}
			srv, p := startPublisher(t, event.Policy{Timeout: 10 * time.Second, UnavailableFor: time.Second, Batch: tc.batch}, c)
			if err := p.PublishAll(t.Context(), page(events)); err != nil {
				t.Fatal(err)
			}
			if n := c.n.Load(); n < tc.min || n > tc.limit {
				t.Errorf("%d events in %d requests, want %d to %d", events, n, tc.min, tc.limit)
			}
			if n := len(srv.Messages()); n != events {
				t.Errorf("%d messages stored, want %d", n, events)
			}
		})
	}
}

// refuseFor is a pstest reactor that answers every publish Unavailable for
// d from the first attempt on: an outage of that length.
type refuseFor struct {
	d     time.Duration
	mu    sync.Mutex
	start time.Time
}

func (r *refuseFor) React(any) (bool, any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		r.start = time.Now()
	}
	if time.Since(r.start) < r.d {
		return true, nil, status.Error(codes.Unavailable, "injected")
	}
	return false, nil, nil
}

// Two publishers of one client keep their own policies, and the client's
// own options are left as they were: through one outage, the publisher
// that fails fast gives up inside it and the other rides it out.
func TestPoliciesOfOneClient(t *testing.T) {
	t.Parallel()
	const outage = time.Second
	srv, err := inproc.Start(t.Context(), "p", "events", pstest.ServerReactorOption{FuncName: "Publish", Reactor: &refuseFor{d: outage}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	opts := srv.Client.TopicAdminClient.CallOptions
	before := len(opts.Publish)
	fast, err := event.NewPublisher(srv.Client, "events", failFast)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fast.Stop)
	patient, err := event.NewPublisher(srv.Client, "events", event.Policy{Timeout: 10 * time.Second, UnavailableFor: 5 * time.Second, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(patient.Stop)
	if srv.Client.TopicAdminClient.CallOptions != opts || len(opts.Publish) != before {
		t.Errorf("NewPublisher changed the client's call options (%d Publish options, had %d)", len(opts.Publish), before)
	}

	start := time.Now()
	e := event.Event{ID: "ch-1/1", Type: event.TypeNotification, Time: start, WatchID: "w-1"}
	err = fast.Publish(t.Context(), e)
	t.Logf("fail-fast publisher: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if !errors.Is(err, event.ErrUnavailable) || time.Since(start) >= outage {
		t.Fatalf("fail-fast publisher: %v after %v, want ErrUnavailable inside the %v outage", err, time.Since(start), outage)
	}
	err = patient.Publish(t.Context(), e)
	t.Logf("patient publisher: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if err != nil || time.Since(start) < outage {
		t.Errorf("patient publisher: %v after %v, want success once the %v outage is over", err, time.Since(start), outage)
	}
}

// hangFirst is a pstest reactor that holds the first publish request until
// end is called, and counts the requests. pstest serves one publish at a
// time, so the others wait behind it.
type hangFirst struct {
	release chan struct{}
	once    sync.Once
	n       atomic.Int32
}

func (h *hangFirst) React(any) (bool, any, error) {
	if h.n.Add(1) == 1 {
		<-h.release
	}
	return false, nil, nil
}

func (h *hangFirst) end() { h.once.Do(func() { close(h.release) }) }

// A page whose first request hangs fails after that request's timeout: the
// requests behind it on the watch's ordering key are not sent, each to hang
// in turn. The key is resumed after, so the page's next attempt goes out.
func TestPublishAllGivesUpOnce(t *testing.T) {
	t.Parallel()
	h := &hangFirst{release: make(chan struct{})}
	policy := event.Policy{Timeout: 300 * time.Millisecond, UnavailableFor: 300 * time.Millisecond, Batch: 2}
	srv, p := startPublisher(t, policy, h)
	t.Cleanup(h.end) // before the server stops
	start := time.Now()
	err := p.PublishAll(t.Context(), page(6))
	took := time.Since(start)
	t.Logf("%v after %v, %d requests", err, took.Round(time.Millisecond), h.n.Load())
	if !errors.Is(err, event.ErrUnavailable) {
		t.Fatalf("PublishAll = %v, want ErrUnavailable", err)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("%d requests sent, want the first only", n)
	}
	// Generous on a loaded machine; three requests would take 900 ms.
	if took > policy.Timeout+500*time.Millisecond {
		t.Errorf("failed after %v, want about the %v timeout", took, policy.Timeout)
	}
	h.end()
	if err := p.PublishAll(t.Context(), page(6)); err != nil {
		t.Fatalf("the page again: %v", err)
	}
	// The hung request's two events are stored too, once let go.
	if n := len(srv.Messages()); n < 6 {
		t.Errorf("%d messages stored, want the page's 6 at least", n)
	}
}

// NewPublisher refuses a policy that would not bound a publish.
func TestNewPublisherChecksPolicy(t *testing.T) {
	t.Parallel()
	srv, err := inproc.Start(t.Context(), "p", "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tc := range []struct {
		name   string
		policy event.Policy
		ok     bool
	}{
		// A caller that chose no policy.
		{"zero", event.Policy{}, false},
		// No timeout: a hanging Pub/Sub would hold the publish for good.
		{"no timeout", event.Policy{UnavailableFor: time.Second, Batch: 1}, false},
		// No allowance for refusals.
		{"no UnavailableFor", event.Policy{Timeout: time.Second, Batch: 1}, false},
		// A request carries at least one event...
		{"batch 0", event.Policy{Timeout: time.Second, UnavailableFor: time.Second, Batch: 0}, false},
		// ...and at most what Pub/Sub takes in one.
		{"batch 1001", event.Policy{Timeout: time.Second, UnavailableFor: time.Second, Batch: 1001}, false},
		// An allowance past the timeout changes nothing, and is taken.
		{"UnavailableFor past the timeout", event.Policy{Timeout: time.Second, UnavailableFor: time.Minute, Batch: 1000}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := event.NewPublisher(srv.Client, "events", tc.policy)
			if (err == nil) != tc.ok {
				t.Fatalf("NewPublisher(%+v) = %v, want ok %v", tc.policy, err, tc.ok)
			}
			if p != nil {
				p.Stop()
			}
		})
	}
}
