package renew

import (
	"context"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// What a pass reads: each phase's records, by the queries below, each
// capped by what the pass can hand out (capacity), reading one more than
// its cap to know whether it was cut. The due watches, the bulk of the
// work, are read a page at a time as the pass hands them out (dueFeed), so
// what a pass holds and reads follows its work, not the backlog.

// found is what a pass's queries found to do before it starts.
type found struct {
	stopping, pending []store.Channel
	deleted           []store.Watch
	strays            []store.Stray
	outbox            []store.OutboxEvent
	owed              []store.Cursor
	due               *dueFeed
}

// capacity is the most watches or channels a pass running until
// claimUntil can hand out, and so the most any of its queries reads: each
// renewal or stop makes at least one Google call, and the limiter allows
// QPS a second plus its burst, with Concurrency more claimed as the last
// calls run; never more than MaxWork.
func (p *Pass) capacity(claimUntil time.Time) int {
	n := p.opts.QPS*time.Until(claimUntil).Seconds() + float64(p.limiter.Burst()+p.opts.Concurrency)
	return max(1, int(min(n, float64(p.opts.MaxWork))))
}

// find runs a pass's queries, each capped at limit (see capacity) and
// reading one more than that, and the first page of the due watches.
func (p *Pass) find(ctx context.Context, limit int) (found, error) {
	var f found
	var err error
	if f.stopping, err = p.store.ChannelsByState(ctx, store.ChannelStopping, farFuture, limit+1); err != nil {
		return f, fmt.Errorf("renew: query stopping channels: %w", err)
	}
	if f.pending, err = p.store.ChannelsByState(ctx, store.ChannelPending, farFuture, limit+1); err != nil {
		return f, fmt.Errorf("renew: query pending channels: %w", err)
	}
	if f.deleted, err = p.store.Watches(ctx, store.WatchDeleted, limit+1); err != nil {
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
	// The first page is read here, so that a store that cannot be
	// queried fails the pass before it works, as the other queries do.
	f.due = &dueFeed{store: p.store, now: p.opts.Now, left: limit, page: p.page()}
	if err = f.due.read(ctx); err != nil {
		return f, fmt.Errorf("renew: query due watches: %w", err)
	}
	return f, nil
}

// page is how many due watches the pass reads at once: a round of its
// workers, so that what is read and left unworked when the pass stops (at
// most a page) stays small beside what it renewed; a query per round costs
// RPCs, which Firestore does not bill, and no reads beyond its watches.
func (p *Pass) page() int { return p.opts.Concurrency }

// dueFeed hands out the due watches a page at a time, in due order, each
// page read once the one before is handed out, and at most left in all.
type dueFeed struct {
	store Watches
	now   func() time.Time
	page  int
	left  int           // how many more it may hand out
	buf   []store.Watch // read, not handed out yet
	after store.Watch   // the last watch read: the next page starts after it
	more  bool          // the last read was full: more may be due
	err   error         // why a later page could not be read
}

// read reads the next page into buf: at most page watches, and not past
// left. The page that reaches left asks for one more, which is not handed
// out but tells whether work is left beyond what the pass can take.
func (d *dueFeed) read(ctx context.Context) error {
	n := min(d.page, d.left)
	ask := n
	if n == d.left {
		ask++
	}
	ws, err := d.store.DueWatches(ctx, d.now(), d.after, ask)
	if err != nil {
		return err
	}
	d.more = len(ws) == ask
	ws = ws[:min(len(ws), n)]
	if len(ws) > 0 {
		d.after = ws[len(ws)-1]
	}
	d.buf, d.left = ws, d.left-len(ws)
	return nil
}

// next hands out the next due watch, reading a page when the one before is
// handed out; false when there is none or the pass can take no more. A
// page that cannot be read ends the feed, and err says why.
func (d *dueFeed) next(ctx context.Context) (store.Watch, bool) {
	if len(d.buf) == 0 && d.more && d.left > 0 {
		if d.err = d.read(ctx); d.err != nil {
			return store.Watch{}, false
		}
	}
	if len(d.buf) == 0 {
		return store.Watch{}, false
	}
	w := d.buf[0]
	d.buf = d.buf[1:]
	return w, true
}

// unread counts the due work the feed leaves: what it read and did not hand
// out, and one more when more may be due beyond that, which it did not
// read, so that Remaining > 0 says more is due, not how much.
func (d *dueFeed) unread() int {
	n := len(d.buf)
	if d.more || d.err != nil {
		n++
	}
	return n
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
