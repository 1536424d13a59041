package event

import (
	"slices"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// withPolicy is client with a Publish retry policy of its own, which
// retries Unavailable for at most after. A publisher reads its retry
// policy from its client's TopicAdminClient.CallOptions at each send, and
// the library offers no other place for it; setting it on the caller's
// client would change every publisher of that client, and each call would
// stack one more layer. So the policy goes on a shallow copy of the client
// whose TopicAdminClient is a copy with CallOptions of its own. The copies
// share the caller's connection: nothing is dialled, and closing the
// caller's client closes theirs.
func withPolicy(client *pubsub.Client, after time.Duration) *pubsub.Client {
	admin := *client.TopicAdminClient
	opts := *admin.CallOptions
	var settings gax.CallSettings
	for _, o := range opts.Publish {
		o.Resolve(&settings)
	}
	base := settings.Retry
	// Clipped, so the append never writes into the caller's array.
	opts.Publish = append(slices.Clip(opts.Publish), gax.WithRetry(func() gax.Retryer {
		r := &unavailableFor{after: after}
		if base != nil {
			r.base = base()
		}
		return r
	}))
	admin.CallOptions = &opts
	own := *client
	own.TopicAdminClient = &admin
	return &own
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
	// the last attempt far past the allowance, nor notice the end of an
	// outage seconds late. An attempt while the connection is down fails
	// at once, without a round trip, so one a second costs nothing.
	return min(pause, left, maxPause), true
}

// maxPause is the longest wait between two attempts that met Unavailable.
const maxPause = time.Second
