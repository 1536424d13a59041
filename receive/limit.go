package receive

import (
	"sync/atomic"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
)

// UnavailableFor is how long Receive's calls retry a dependency that answers
// Unavailable (refuses connections, or cannot be reached) before they fail:
// Firestore's under store.FailFast, Pub/Sub's under PublishPolicy. Each
// attempt is refused within a millisecond, and the client libraries would
// retry until the deadline (a notification was held 20 s so) when Google
// retries a 503 anyway. Half a second still rides out a reset connection
// or a server restarting.
const UnavailableFor = 500 * time.Millisecond

// PublishTimeout is the publisher's timeout that fits a Receive deadline:
// two fifths of it. The store's calls before the publish end by the middle
// of the deadline (storeDeadline), so a publish starts by then, and its
// client has given it up a tenth of the deadline before Receive answers
// 503: it is not published later beside Google's retry.
func PublishTimeout(deadline time.Duration) time.Duration { return deadline * 2 / 5 }

// PublishPolicy is the policy of Receive's publisher, for a Receive
// deadline: fail fast. Google waits on each notification, and one
// acknowledged must have its event in Pub/Sub, so a publish is given up
// within PublishTimeout, a refusing Pub/Sub within UnavailableFor, and
// Google's retry publishes it again. One notification is one event, sent
// at once.
func PublishPolicy(deadline time.Duration) event.Policy {
	return event.Policy{Timeout: PublishTimeout(deadline), UnavailableFor: UnavailableFor, Batch: 1}
}

// storeDeadline is when the store's calls before the publish must end,
// given the notification's deadline and its length.
func storeDeadline(end time.Time, deadline time.Duration) time.Time { return end.Add(-deadline / 2) }

// inFlight counts the notifications a Handler works on. While a dependency
// hangs, each one is held until the deadline; past Deps.MaxInFlight the
// Handler answers 503 at once rather than hold more. Google retries a 503,
// and the instance's spare request slots (the platform's concurrency above
// MaxInFlight) answer it in microseconds, so the platform never refuses a
// request itself with a 429, which Google does not retry.
type inFlight struct{ n atomic.Int64 }

// enter takes a slot, if one of max is free.
func (f *inFlight) enter(max int) bool {
	if f.n.Add(1) > int64(max) {
		f.n.Add(-1)
		return false
	}
	return true
}

func (f *inFlight) leave() { f.n.Add(-1) }

// InFlight is how many notifications the Handler is working on now.
func (h *Handler) InFlight() int { return int(h.inFlight.n.Load()) }
