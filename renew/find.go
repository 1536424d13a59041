package renew

import (
	"context"
	"fmt"

	"github.com/watchrelay/watchrelay/store"
)

// What a pass reads before it works: each phase's records, by the queries
// below, each capped one reading one more than its cap.

// found is what a pass's queries found to do.
type found struct {
	stopping, pending []store.Channel
	deleted, due      []store.Watch
	strays            []store.Stray
	outbox            []store.OutboxEvent
	owed              []store.Cursor
}

// find runs a pass's queries. Each capped one reads one more than its cap,
// to know whether it was cut.
func (p *Pass) find(ctx context.Context) (found, error) {
	var f found
	var err error
	if f.stopping, err = p.store.ChannelsByState(ctx, store.ChannelStopping, farFuture, p.opts.MaxWork+1); err != nil {
		return f, fmt.Errorf("renew: query stopping channels: %w", err)
	}
	if f.pending, err = p.store.ChannelsByState(ctx, store.ChannelPending, farFuture, p.opts.MaxWork+1); err != nil {
		return f, fmt.Errorf("renew: query pending channels: %w", err)
	}
	if f.deleted, err = p.store.Watches(ctx, store.WatchDeleted); err != nil {
		return f, fmt.Errorf("renew: query deleted watches: %w", err)
	}
	if f.strays, err = p.store.Strays(ctx, store.StraySeen, p.opts.MaxStrays); err != nil {
		return f, fmt.Errorf("renew: query strays: %w", err)
	}
	if f.outbox, err = p.store.Outbox(ctx, maxDrain); err != nil {
		return f, fmt.Errorf("renew: query the outbox: %w", err)
	}
	if p.opts.Changes != nil {
		if f.owed, err = p.store.OwedCursors(ctx, p.opts.Now(), maxOwed); err != nil {
			return f, fmt.Errorf("renew: query owed reads: %w", err)
		}
	}
	if f.due, err = p.store.DueWatches(ctx, p.opts.Now().Add(p.opts.RenewBefore), p.opts.MaxWork+1); err != nil {
		return f, fmt.Errorf("renew: query due watches: %w", err)
	}
	return f, nil
}

// byWatch groups channels by their watch, in query order.
func byWatch(cs []store.Channel) [][]store.Channel {
	var groups [][]store.Channel
	at := map[string]int{}
	for _, c := range cs {
		i, ok := at[c.WatchID]
		if !ok {
			i = len(groups)
			at[c.WatchID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], c)
	}
	return groups
}

// atMost trims what a query read, asked for n+1, to n. A record past n means
// the query was cut; it counts as one remaining, since counting them all
// would read what MaxWork exists to leave unread.
func atMost[T any](r *run, records []T, n int) []T {
	if len(records) <= n {
		return records
	}
	r.remaining(1)
	return records[:n]
}
