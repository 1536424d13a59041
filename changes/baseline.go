package changes

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// Baseline takes a watch's first cursor: Renew calls it before it opens the
// watch's first channel (renew.Changes), so the cursor predates the channel
// and no change made once the channel is live can fall into the baseline
// unpublished. With a snapshot, the baseline's items are published here. A
// watch that has a cursor already (a retried or lapsed one), or whose
// changes are off or have no read (google.Reads), needs none.
//
// A baseline is read under ctx's deadline, Renew's budget for the call, and
// keeps where it got to after every page: a listing longer than the budget
// reports done false and goes on at the next pass's call. Should
// notifications be counted meanwhile (an imported or lapsed channel still
// delivering), it reads again for them before it gives the lease back.
//
// Its errors are Google's own, unended: Renew classifies them as it does
// the watch call's, and ends or defers the watch.
func (s *Syncer) Baseline(ctx context.Context, w store.Watch) (done bool, err error) {
	if !w.WantsChanges() || !google.Reads(w.Kind) {
		return true, nil
	}
	c, err := s.store.Cursor(ctx, w.ID)
	switch {
	case err == nil && c.Baselined():
		return true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	holder := uuid.NewString()
	c, held, err := s.store.WantSync(ctx, store.SyncClaim{WatchID: w.ID, Holder: holder, Until: s.leaseEnd(), Now: s.opts.Now()})
	if err != nil {
		return false, err
	} else if !held {
		return false, fmt.Errorf("%w: another request is reading watch %s", ErrTransient, w.ID)
	}
	f := &fetch{Syncer: s, w: w, holder: holder, until: s.leaseEnd, first: true}
	if w.ChannelID != "" {
		// An imported channel: a drive.changes feed starts where the
		// channel began (its resource URI's page token), not now.
		if ch, err := s.store.Channel(ctx, w.ChannelID); err == nil {
			f.start = google.PageTokenOfURI(ch.ResourceURI)
		}
	}
	for !f.released {
		if c, err = f.once(ctx, c); errors.Is(err, errUnfinished) {
			return false, f.release(ctx, err)
		} else if err != nil {
			_ = f.release(ctx, err)
			return false, err
		}
	}
	return true, nil
}
