package event

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// Policy is how a Publisher sends: how long one publish request may take,
// how long it rides out a Pub/Sub that refuses, and how many events it
// carries. Each part that publishes passes its own, chosen for its contract
// (receive.PublishPolicy, changes.PublishPolicy, renew.PublishPolicy;
// docs/DESIGN.md, "Publishers by purpose").
type Policy struct {
	// Timeout bounds one publish request, its retries included. Past it
	// the request is given up for good: it is not sent again in the
	// background.
	Timeout time.Duration
	// UnavailableFor is how long a request retries Unavailable, the answer
	// of a Pub/Sub that refuses connections or cannot be reached, after
	// the first one; Timeout still bounds the whole. The client library's
	// own policy retries it until the timeout: measured through a proxy
	// that refused, every publish took the whole 15 s it then had, each
	// attempt failing within a millisecond. The library's policy still
	// decides every other error.
	UnavailableFor time.Duration
	// Batch is the most events one request carries, from 1 to
	// pubsub.MaxPublishRequestCount (1000). One watch's requests go out
	// one after another (its ordering key), so with 1 a page of 2,500
	// events is 2,500 round trips; with more, it is a few. A request waits
	// at most a millisecond for more events to fill it, and one that
	// reaches Batch goes at once.
	Batch int
}

// check refuses a policy that would not bound a publish: a zero Policy is a
// caller that forgot to choose one.
func (p Policy) check() error {
	switch {
	case p.Timeout <= 0:
		return fmt.Errorf("event: publish timeout %v, want more than zero", p.Timeout)
	case p.UnavailableFor <= 0:
		return fmt.Errorf("event: UnavailableFor %v, want more than zero", p.UnavailableFor)
	case p.Batch < 1 || p.Batch > pubsub.MaxPublishRequestCount:
		return fmt.Errorf("event: batch of %d, want 1 to %d", p.Batch, pubsub.MaxPublishRequestCount)
	}
	return nil
}

// Publisher sends events to one topic and waits until Pub/Sub has them.
type Publisher struct {
	p *pubsub.Publisher
}

// NewPublisher publishes to topic (an id or a full name) through client's
// connection, under policy, with message ordering on, as ordering keys
// require. The client is left as it was: publishers of one client, each
// under its own policy, do not change each other's (see withPolicy).
func NewPublisher(client *pubsub.Client, topic string, policy Policy) (*Publisher, error) {
	if client == nil || topic == "" {
		return nil, errors.New("event: NewPublisher needs a client and a topic")
	}
	if err := policy.check(); err != nil {
		return nil, err
	}
	p := withPolicy(client, policy.UnavailableFor).Publisher(topic)
	p.EnableMessageOrdering = true
	// Send a request once it holds Batch events, or a millisecond after
	// its first, rather than after the default 10 ms: a bundle of one is
	// sent without waiting at all (receive's BenchmarkReceive: about
	// 0.2 ms instead of 1.5 ms per notification).
	p.PublishSettings.DelayThreshold = time.Millisecond
	p.PublishSettings.CountThreshold = policy.Batch
	p.PublishSettings.Timeout = policy.Timeout
	return &Publisher{p: p}, nil
}

// Publish sends e and returns once Pub/Sub has confirmed it is stored.
func (p *Publisher) Publish(ctx context.Context, e Event) error {
	msg, err := e.Message()
	if err != nil {
		return err
	}
	if _, err := p.p.Publish(ctx, msg).Get(ctx); err != nil {
		// A failed publish pauses its ordering key; resume it so the
		// next attempt (Google's retry) can go through.
		p.p.ResumePublish(msg.OrderingKey)
		return fmt.Errorf("%w: %s %s: %v", ErrUnavailable, e.Type, e.ID, err)
	}
	return nil
}

// PublishAll sends es in order and returns once Pub/Sub has confirmed them
// all. They go out together, in requests of up to the policy's Batch,
// rather than one round trip each (a page of a thousand Drive changes), and
// on one ordering key they keep their order. On a failure some may be
// stored and others not: the caller publishes them all again, and
// consumers dedupe on ce-id.
func (p *Publisher) PublishAll(ctx context.Context, es []Event) error {
	results := make([]*pubsub.PublishResult, len(es))
	for i, e := range es {
		msg, err := e.Message()
		if err != nil {
			return err
		}
		results[i] = p.p.Publish(ctx, msg)
	}
	var first error
	failed := map[string]bool{}
	for i, r := range results {
		if _, err := r.Get(ctx); err != nil {
			failed[es[i].WatchID] = true
			if first == nil {
				first = fmt.Errorf("%w: %s %s: %v", ErrUnavailable, es[i].Type, es[i].ID, err)
			}
		}
	}
	// Resumed only now: the requests queued behind a failed one on its
	// key fail at once while it is paused, so a page fails after one
	// request's timeout rather than after each of its requests' in turn.
	for key := range failed {
		p.p.ResumePublish(key)
	}
	return first
}

// Stop flushes and stops the publisher.
func (p *Publisher) Stop() { p.p.Stop() }
