package event

import (
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnavailableFor is how long a publish retries Pub/Sub's Unavailable, the
// answer of a Pub/Sub that refuses connections or cannot be reached, before
// it fails. The client library's own policy retries it until the publish
// timeout: measured through a proxy that refused, every publish took the
// whole 15 s it then had, each attempt failing within a millisecond.
// Half a second still rides out a reset connection or a server restarting.
const UnavailableFor = 500 * time.Millisecond

// failFast makes every publish through client give up on Unavailable
// after the given time. Publish's retry policy belongs to the client (the
// publisher resolves it from TopicAdminClient.CallOptions at each send),
// so it is set there; the library's policy still decides everything else.
func failFast(client *pubsub.Client, after time.Duration) {
	opts := client.TopicAdminClient.CallOptions
	var settings gax.CallSettings
	for _, o := range opts.Publish {
		o.Resolve(&settings)
	}
	base := settings.Retry
	opts.Publish = append(opts.Publish[:len(opts.Publish):len(opts.Publish)], gax.WithRetry(func() gax.Retryer {
		r := &unavailableFor{after: after}
		if base != nil {
			r.base = base()
		}
		return r
	}))
}

// unavailableFor is one publish's retry policy: the library's, with
// Unavailable retried only until after has passed since the first one.
type unavailableFor struct {
	after time.Duration
	base  gax.Retryer
	first time.Time
}

// Retry is called by one publish's attempts in turn, never at once.
func (r *unavailableFor) Retry(err error) (time.Duration, bool) {
	if r.base == nil {
		return 0, false
	}
	pause, retry := r.base.Retry(err)
	if !retry || status.Code(err) != codes.Unavailable {
		return pause, retry
	}
	now := time.Now()
	if r.first.IsZero() {
		r.first = now
	}
	left := r.after - now.Sub(r.first)
	if left <= 0 {
		return 0, false
	}
	// The library's backoff grows fourfold; one long pause must not carry
	// the last attempt far past the allowance.
	return min(pause, left), true
}
