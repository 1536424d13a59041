package event_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/fake/inproc"
)

// unavailable is a pstest reactor that answers the first n publish
// attempts Unavailable (n < 0: all of them), and counts the attempts.
type unavailable struct {
	mu       sync.Mutex
	n        int
	attempts int
}

func (u *unavailable) React(any) (bool, any, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.attempts++
	if u.n == 0 {
		return false, nil, nil
	}
	u.n--
	return true, nil, status.Error(codes.Unavailable, "injected")
}

// failFast is a policy that fails fast, as Receive's does.
var failFast = event.Policy{Timeout: 4 * time.Second, UnavailableFor: 500 * time.Millisecond, Batch: 1}

// startPublisher starts an in-process Pub/Sub whose publishes react as
// reactor says, and a Publisher under policy to its topic "events".
func startPublisher(t *testing.T, policy event.Policy, reactor pstest.Reactor) (*inproc.Server, *event.Publisher) {
	t.Helper()
	srv, err := inproc.Start(t.Context(), "p", "events", pstest.ServerReactorOption{FuncName: "Publish", Reactor: reactor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p, err := event.NewPublisher(srv.Client, "events", policy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return srv, p
}

// Unavailable is retried for the policy's UnavailableFor, not for its
// timeout: a blip is ridden out, an outage fails the publish at once.
func TestPublishUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		n    int
		ok   bool
	}{
		// Two refusals, then Pub/Sub answers: the retries carry it.
		{"blip", 2, true},
		// Pub/Sub keeps refusing: the publish fails within about
		// UnavailableFor, far inside the 4 s timeout.
		{"outage", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := &unavailable{n: tc.n}
			_, p := startPublisher(t, failFast, u)
			start := time.Now()
			err := p.Publish(t.Context(), event.Event{ID: "ch-1/1", Type: event.TypeNotification, Time: start, WatchID: "w-1"})
			took := time.Since(start)
			u.mu.Lock()
			attempts := u.attempts
			u.mu.Unlock()
			t.Logf("%v after %v, %d attempts", err, took.Round(time.Millisecond), attempts)
			if tc.ok {
				if err != nil || attempts != 3 {
					t.Fatalf("publish = %v after %d attempts, want success on the third", err, attempts)
				}
				return
			}
			if !errors.Is(err, event.ErrUnavailable) {
				t.Fatalf("publish = %v, want ErrUnavailable", err)
			}
			if attempts < 2 {
				t.Errorf("%d attempts: Unavailable must be retried for a while", attempts)
			}
			// Generous on a loaded machine; the allowance is 500 ms.
			if took < failFast.UnavailableFor || took > failFast.UnavailableFor+time.Second {
				t.Errorf("failed after %v, want about %v", took, failFast.UnavailableFor)
			}
		})
	}
}
