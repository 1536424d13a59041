package changes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// errUnfinished: the read stopped before its budget ran out, with where it
// got to kept in the cursor; the next turn goes on from there.
var errUnfinished = errors.New("read unfinished within its budget; the next turn goes on where it stopped")

// pageTimeout bounds one page's read, and KeepTimeout the publishing and
// recording of a page read, which runs to its end even past the request's
// budget: a page read is kept, so a page is read again only after a crash,
// never because each turn's budget ended in it. A holder writes after
// every page, so the two keep a live holder from going quiet for
// store.TakeoverQuiet, after which a redelivery of its message may take
// its read over.
const (
	pageTimeout = store.TakeoverQuiet / 3
	// KeepTimeout is how far past WATCHRELAY_SYNC_TIMEOUT a request may
	// run; Terraform leaves it between that and the function's timeout.
	KeepTimeout = store.TakeoverQuiet / 3
)

// PublishPolicy is the policy of Sync's publisher: a page's worth. A page
// (up to 2,500 events, all on the watch's ordering key) goes out in
// requests of up to a thousand events, a few round trips rather than one
// per event (2,500 events on the emulator: 3 s one per request, 0.1 s in
// bundles; at Pub/Sub's tens of milliseconds a request, one per event
// would outlast pageTimeout). A refusing Pub/Sub is retried for 8 s, as a
// page given up is read again from Google: gRPC dials again after about 1,
// 2.6 and 5.2 s, so an outage of up to some 5 s costs a wait, not the
// page. A request is given up after 10 s, and a page's first failed
// request fails the rest at once (event.Publisher.PublishAll), so a page's
// read and its publish stay well inside store.TakeoverQuiet between the
// holder's writes.
func PublishPolicy() event.Policy {
	return event.Policy{Timeout: 10 * time.Second, UnavailableFor: 8 * time.Second, Batch: pubsub.MaxPublishRequestCount}
}

// fetch is one request's work on a watch while it holds the fetch lease.
type fetch struct {
	*Syncer
	w      store.Watch
	holder string
	until  func() time.Time
	// debounce is waited before each read (zero: none); see loop.
	debounce time.Duration
	// start is the page token of the triggering notification's resource
	// URI: a drive.changes channel's feed begins there, so a watch with no
	// cursor yet reads from where its channel started, not from now.
	start string
	// first: this is the watch's first cursor, taken before its channel
	// opens (Baseline). Any other read that finds no cursor comes after a
	// channel opened, and says so with a resync (see run).
	first bool
	out   Outcome
	// released: the last once found no notification came during it, and
	// gave the lease back.
	released bool
	// slowest is the longest a page of this request took, read and
	// published: the read stops when less than that is left (budget).
	slowest time.Duration
}

// once is one fetch under the lease, as c (written by the claim or by the
// last finish) says: its read began at c.Fetching, from when notifications
// are counted, not covered, so c.Wanted is what it covers. It reads since
// the cursor and, in one write, moves the cursor past the last page and
// gives the lease back unless notifications came meanwhile (compare and
// clear: the last notification of a storm is never lost). It returns the
// cursor as that write left it.
func (f *fetch) once(ctx context.Context, c store.Cursor) (store.Cursor, error) {
	at, err := f.run(ctx, c)
	if err != nil {
		return c, err
	}
	now := f.opts.Now()
	c, f.released, err = f.store.FinishSync(ctx, store.Finish{WatchID: f.w.ID, Holder: f.holder, Seen: c.Wanted, At: at,
		Next: now.Add(f.debounce), Until: f.until(), Now: now})
	return c, err
}

// run reads everything since c's position, page by page, and returns where
// the read ends. Each page's events are confirmed by Pub/Sub before the
// cursor moves past the page, and the cursor keeps where the read stands
// after every page but the last (google.ResumeAt), whose position the
// finish writes (once), so a crash replays a page (the same ce-ids) and
// never skips one, and a read longer than one request's budget goes on at
// the next turn.
func (f *fetch) run(ctx context.Context, c store.Cursor) (store.Position, error) {
	f.out.Fetches++
	at := c.At()
	req := google.ReadRequest{Cursor: at.Token, Page: at.Page}
	if at == (store.Position{}) {
		req.StartPageToken = f.start
		// No read of this watch ever completed (a resync's fresh
		// baseline, cut off before its first page, has one behind it,
		// and its resync said so already).
		if !f.first && f.start == "" && f.w.ChannelID != "" && c.SyncedAt.IsZero() {
			if err := f.resync(ctx, "channel "+f.w.ChannelID, unbaselined); err != nil {
				return at, err
			}
		}
	}
	resynced := false
	for {
		if !f.budget(ctx) {
			return at, errUnfinished
		}
		began := time.Now()
		page, err := f.readPage(ctx, req)
		if errors.Is(err, google.ErrCursorExpired) && !resynced {
			if at.Token != "" || at.Page == "" {
				// A baseline listing's expired page needs no resync:
				// nothing was promised from it; it starts again.
				if err := f.resync(ctx, at.Token, google.Reason(err)); err != nil {
					return at, err
				}
			}
			resynced, at, req = true, store.Position{}, google.ReadRequest{}
			if err := f.store.AdvanceCursor(ctx, f.w.ID, f.holder, at, f.until(), f.opts.Now()); err != nil {
				return at, err
			}
			continue
		}
		if err != nil {
			return at, err
		}
		if at, err = f.keep(ctx, at, page); err != nil {
			return at, err
		}
		f.slowest = max(f.slowest, time.Since(began))
		if page.Next == "" {
			return at, nil
		}
		req.Page = page.Next
	}
}

// release gives the lease back after err: a failure, recorded on the
// cursor, or errUnfinished, which is none. ctx may be what ran out, so the
// release has its own.
func (f *fetch) release(ctx context.Context, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reason := google.Reason(err)
	if errors.Is(err, errUnfinished) {
		reason = "" // no failure: the read goes on
	}
	return f.store.ReleaseSync(ctx, f.w.ID, f.holder, reason, f.opts.Now())
}

// keep publishes a page read from at and records where the read stands
// after it, within KeepTimeout however little of the request's budget is
// left (see pageTimeout). The last page's position is returned unwritten:
// the finish writes it, in the write that releases the lease.
func (f *fetch) keep(ctx context.Context, at store.Position, page google.Page) (store.Position, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), KeepTimeout)
	defer cancel()
	if err := f.publish(ctx, page); err != nil {
		return at, err
	}
	next := google.ResumeAt(at, page)
	if next == at || page.Next == "" {
		return next, nil
	}
	return next, f.store.AdvanceCursor(ctx, f.w.ID, f.holder, next, f.until(), f.opts.Now())
}

// readPage reads one page within pageTimeout.
func (f *fetch) readPage(ctx context.Context, req google.ReadRequest) (google.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, pageTimeout)
	defer cancel()
	return f.read.ReadChanges(ctx, f.w, req)
}

// budget reports whether the request has time for another page: at least
// as long as its slowest page so far took, with a second to spare for the
// writes after it. The first page is always tried.
func (f *fetch) budget(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return !ok || f.slowest == 0 || time.Until(deadline) > f.slowest+time.Second
}

// publish sends a page's items: always when they are changes, and when they
// are the baseline only if the watch asked for a snapshot.
func (f *fetch) publish(ctx context.Context, page google.Page) error {
	if len(page.Items) == 0 || (page.Snapshot && !f.w.Snapshot) {
		return nil
	}
	es := make([]event.Event, len(page.Items))
	for i, it := range page.Items {
		es[i] = f.change(f.w, it)
	}
	if err := f.pub.PublishAll(ctx, es); err != nil {
		return err
	}
	f.out.Published += len(es)
	return nil
}

// resync tells subscribers, with a watchrelay.watch.resync.v1, that changes
// of the watch went unpublished and they must read the resource whole: an
// expired cursor (run then forgets it; the event goes first, since a
// cursor cleared first by a request that then died would leave the
// baseline taken with no one told), or no cursor behind a live channel.
// key names the cursor or channel, and makes a retried resync one event.
func (f *fetch) resync(ctx context.Context, key, reason string) error {
	f.log.Warn("resync", "watch", f.w.ID, "kind", f.w.Kind, "reason", reason)
	if err := f.pub.PublishAll(ctx, []event.Event{f.resyncEvent(f.w, key, reason)}); err != nil {
		return err
	}
	f.out.Resynced = true
	return nil
}

// unbaselined is why a read that finds no cursor once the watch's channel
// is live resyncs: an imported channel (channel import, serve --channel)
// opened before watchrelay took any cursor, so the changes made between
// the two are in the baseline, unpublished.
const unbaselined = "no cursor before the watch's channel opened (an imported channel): changes made before this first read are not published; read the resource whole"

// fail gives the lease back after a fetch went wrong or ran out of its
// budget, and says whether the trigger is to be delivered again. Google's
// refusals for good end the watch, as Renew ends it (google.Classify);
// everything else is retried by Pub/Sub, whose redelivery takes the fetch
// again from where the cursor stands.
func (f *fetch) fail(ctx context.Context, err error) (Outcome, error) {
	// ctx may be what ran out; ending the watch must still reach the store.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reason := google.Reason(err)
	rerr := f.release(ctx, err)
	if errors.Is(err, store.ErrLeaseLost) || errors.Is(rerr, store.ErrLeaseLost) {
		// A redelivery of this trigger took the fetch over; it
		// publishes what this one did not.
		f.log.Info("sync taken over", "watch", f.w.ID, "kind", f.w.Kind)
		return f.out, nil
	}
	if errors.Is(err, errUnfinished) {
		f.log.Info("sync continues", "watch", f.w.ID, "kind", f.w.Kind, "published", f.out.Published)
		return f.out, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	if class := google.Classify(err); class != google.ClassTransient && !errors.Is(err, google.ErrCursorExpired) {
		f.log.Error("sync failed", "watch", f.w.ID, "kind", f.w.Kind, "error", reason)
		if eerr := f.end(ctx, class, reason); eerr != nil {
			return f.out, fmt.Errorf("%w: %v", ErrTransient, eerr)
		}
		return f.out, nil
	}
	f.log.Warn("sync retried", "watch", f.w.ID, "kind", f.w.Kind, "error", reason)
	return f.out, fmt.Errorf("%w: %s", ErrTransient, reason)
}
