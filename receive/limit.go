package receive

import (
	"sync/atomic"
	"time"
)

// PublishTimeout is the publisher's timeout that fits a Receive deadline:
// two fifths of it. The store's calls before the publish end by the middle
// of the deadline (storeDeadline), so a publish starts by then, and its
// client has given it up a tenth of the deadline before Receive answers
// 503: it is not published later beside Google's retry. The service sets
// it on the publisher ((*event.Publisher).SetTimeout).
func PublishTimeout(deadline time.Duration) time.Duration { return deadline * 2 / 5 }

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
