package changes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// Baseline takes a watch's first cursor: Renew calls it before it opens the
// watch's first channel (renew.Baseliner), so the cursor predates the
// channel and no change made once the channel is live can fall into the
// baseline unpublished. With a snapshot, the baseline's items are published
// here. A watch that has a cursor already (a retried or lapsed one), or
// whose changes are off or come in its notifications, needs none.
//
// Its errors are Google's own, unended: Renew classifies them as it does
// the watch call's, and ends or defers the watch.
func (s *Syncer) Baseline(ctx context.Context, w store.Watch) error {
	if !w.WantsChanges() || google.FromBody(w.Kind) {
		return nil
	}
	c, err := s.store.Cursor(ctx, w.ID)
	switch {
	case err == nil && c.Token != "":
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	holder := uuid.NewString()
	until := s.leaseEnd
	if _, held, err := s.store.WantSync(ctx, store.SyncClaim{WatchID: w.ID, Holder: holder, Until: until(), Now: s.opts.Now()}); err != nil {
		return err
	} else if !held {
		return fmt.Errorf("%w: another request is reading watch %s", ErrTransient, w.ID)
	}
	f := &fetch{Syncer: s, w: w, holder: holder, until: until}
	err = f.once(ctx)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = s.store.ReleaseSync(rctx, w.ID, holder, google.Reason(err), s.opts.Now())
	}
	return err
}
