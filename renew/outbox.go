package renew

import (
	"context"
	"time"

	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// Lifecycle events go through an outbox: each is written in the same commit
// as the state it reports (the activation, a watch's end, its purge), then
// published, then forgotten. A pass that dies after the commit leaves the
// event in the outbox, and the next pass publishes it (drain): no event is
// lost to a crash, and a repeat carries the same ce-id, so it dedupes.

// Outbox is the part of the store that keeps events until Pub/Sub has them.
type Outbox interface {
	Outbox(ctx context.Context, limit int) ([]store.OutboxEvent, error)
	Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error
}

// PublishPolicy is the policy of Renew's publisher. A lifecycle event is in
// the outbox before it is published, so one Pub/Sub does not confirm is
// only late: the next pass publishes it. And a pass awaits its publishes
// one at a time, in front of its renewals (the drain runs before the
// phases; a job announces its events before it ends), so a publish's
// bounds are paid once per event of the pass, and they stay short: 4 s, a
// hundred times a healthy publish, and Receive's half second for a
// refusing Pub/Sub. They are Renew's own, not Receive's share of
// WATCHRELAY_RECEIVE_TIMEOUT. An event is a request of its own: each is
// awaited before the next is sent.
func PublishPolicy() event.Policy {
	return event.Policy{Timeout: 4 * time.Second, UnavailableFor: receive.UnavailableFor, Batch: 1}
}

// maxDrain caps the leftover events one pass publishes; more wait for the
// next pass.
const maxDrain = 500

// event builds a lifecycle event (event.Lifecycle) by the pass's clock.
func (r *run) event(typ string, data event.LifecycleData) event.Event {
	return event.Lifecycle(typ, data, r.opts.Now())
}

// outboxed is what the store keeps of events.
func (r *run) outboxed(es ...event.Event) []store.OutboxEvent {
	out := make([]store.OutboxEvent, 0, len(es))
	for _, e := range es {
		o, err := e.Outboxed()
		if err != nil {
			r.log.Error("lifecycle event not kept", "id", e.ID, "error", err)
			continue
		}
		out = append(out, o)
	}
	return out
}

// announce publishes events whose state is durable, and returns the ids
// Pub/Sub has. A failure is logged, not undone: the event stays in the
// outbox for the next pass.
func (r *run) announce(ctx context.Context, es ...event.Event) []string {
	var published []string
	for _, e := range es {
		// One log line per lifecycle event, whatever becomes of the
		// publish: the alerts count these (terraform/monitoring.tf).
		r.log.Info("lifecycle event", "type", e.Type, "watch", e.WatchID, "kind", e.Kind)
		if err := r.events.Publish(ctx, e); err != nil {
			r.log.Error("lifecycle event not published; the next pass does", "watch", e.WatchID, "type", e.Type, "error", err)
			continue
		}
		published = append(published, e.ID)
	}
	return published
}

// forget takes published events out of the outbox.
func (r *run) forget(ctx context.Context, published []string) {
	if len(published) == 0 {
		return
	}
	if err := r.store.Forget(ctx, published, "", store.ChannelUpdate{}); err != nil {
		r.log.Warn("published events left in the outbox; the next pass publishes them again", "error", err)
	}
}

// drain publishes what earlier passes left in the outbox, oldest first,
// and stops at the first event Pub/Sub does not take: with Pub/Sub down,
// paying a refusal's bound for each of up to maxDrain events would spend
// the pass in front of its renewals, and the events lose nothing by
// waiting for the next pass.
func (r *run) drain(ctx context.Context, left []store.OutboxEvent) {
	var published []string
	for i, o := range left {
		e, err := event.FromOutbox(o)
		if err != nil {
			r.log.Error("outbox event unreadable; dropped", "id", o.ID, "error", err)
			r.forget(ctx, []string{o.ID})
			continue
		}
		ids := r.announce(ctx, e)
		if len(ids) == 0 {
			r.log.Warn("outbox drain stopped at a refused publish; the next pass goes on", "left", len(left)-i)
			break
		}
		published = append(published, ids...)
	}
	r.forget(ctx, published)
}
