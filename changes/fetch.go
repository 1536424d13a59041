package changes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// fetch is one request's work on a watch while it holds the fetch lease.
type fetch struct {
	*Syncer
	w      store.Watch
	holder string
	until  func() time.Time
	// start is the page token of the triggering notification's resource
	// URI: a drive.changes channel's feed begins there, so a watch with no
	// cursor yet reads from where its channel started, not from now.
	start string
	out   Outcome
	// released: the last once found no notification came during it, and
	// gave the lease back.
	released bool
}

// once is one fetch under the lease: it marks the read's start (from then
// on notifications are counted, not covered), reads since the cursor, and
// gives the lease back unless notifications came meanwhile (compare and
// clear: the last notification of a storm is never lost).
func (f *fetch) once(ctx context.Context) error {
	c, err := f.store.BeginFetch(ctx, f.w.ID, f.holder, f.until(), f.opts.Now())
	if err != nil {
		return err
	}
	if err := f.run(ctx, c.Token); err != nil {
		return err
	}
	_, f.released, err = f.store.FinishSync(ctx, f.w.ID, f.holder, c.Wanted, f.until(), f.opts.Now())
	return err
}

// run reads everything since cursor, page by page. Each page's events are
// confirmed by Pub/Sub before the cursor moves past the page, so a crash
// anywhere replays a page (the same ce-ids) and never skips one.
func (f *fetch) run(ctx context.Context, cursor string) error {
	f.out.Fetches++
	req := google.ReadRequest{Cursor: cursor}
	if cursor == "" {
		req.StartPageToken = f.start
	}
	resynced := false
	for {
		page, err := f.read.ReadChanges(ctx, f.w, req)
		if errors.Is(err, google.ErrCursorExpired) && !resynced {
			if err := f.resync(ctx, cursor, err); err != nil {
				return err
			}
			resynced, cursor, req = true, "", google.ReadRequest{}
			continue
		}
		if err != nil {
			return err
		}
		if err := f.publish(ctx, page); err != nil {
			return err
		}
		next := page.Resume
		if page.Next == "" {
			next = page.Cursor
		}
		if next != "" && next != cursor {
			if err := f.store.AdvanceCursor(ctx, f.w.ID, f.holder, next, f.until(), f.opts.Now()); err != nil {
				return err
			}
			cursor = next
		}
		if page.Next == "" {
			return nil
		}
		req.Page = page.Next
	}
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

// resync reports an expired cursor and forgets it. The event goes first: if
// the cursor were cleared first and the request died, the baseline would be
// taken with no one told that changes fell between the two.
func (f *fetch) resync(ctx context.Context, cursor string, cause error) error {
	reason := google.Reason(cause)
	f.log.Warn("resync", "watch", f.w.ID, "kind", f.w.Kind, "reason", reason)
	if err := f.pub.PublishAll(ctx, []event.Event{f.resyncEvent(f.w, cursor, reason)}); err != nil {
		return err
	}
	f.out.Resynced = true
	return f.store.AdvanceCursor(ctx, f.w.ID, f.holder, "", f.until(), f.opts.Now())
}

// fail gives the lease back after a fetch went wrong and says whether the
// trigger is to be delivered again. Google's refusals for good end the
// watch, as Renew ends it (google.Classify); everything else is retried by
// Pub/Sub, whose redelivery takes the fetch again from the cursor.
func (f *fetch) fail(ctx context.Context, err error) (Outcome, error) {
	// ctx may be what ran out; the release must still reach the store.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	reason := google.Reason(err)
	rerr := f.store.ReleaseSync(ctx, f.w.ID, f.holder, reason, f.opts.Now())
	if errors.Is(err, store.ErrLeaseLost) || errors.Is(rerr, store.ErrLeaseLost) {
		// A redelivery of this trigger took the fetch over; it
		// publishes what this one did not.
		f.log.Info("sync taken over", "watch", f.w.ID, "kind", f.w.Kind)
		return f.out, nil
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
