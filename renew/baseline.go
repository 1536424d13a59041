package renew

import (
	"context"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// Changes is Sync's part in a pass (changes.Syncer): a watch's first cursor
// before its first channel opens, and the reads that failed ones left owed.
type Changes interface {
	// Baseline takes w's first cursor. A pass asks for it before it opens
	// a watch's first channel, so the cursor is older than the channel:
	// every change made once the channel is live comes after the cursor,
	// and the channel's first notification has Sync read it. A cursor
	// taken after the channel opened would swallow the changes made
	// between the two into the baseline, unpublished. done is false when
	// the listing outlasted the call's budget: it kept where it got to,
	// and the next pass goes on.
	Baseline(ctx context.Context, w store.Watch) (done bool, err error)
	// Retry makes a watch's owed read (store.Cursor.Owed).
	Retry(ctx context.Context, watchID string) error
}

// Cursors is the part of the store a pass finds owed reads in.
type Cursors interface {
	OwedCursors(ctx context.Context, now time.Time, limit int) ([]store.Cursor, error)
}

// baselineUnfinished is a watch's lastError while its first cursor is
// still being read, across passes.
const baselineUnfinished = "taking the first cursor: the listing goes on at the next pass"

// baseline asks for w's cursor under the claim that stored c pending, and
// reports whether the watch call may go ahead. When it does not, no watch
// call was made, so c is finished as failed, with nothing to stop; the
// watch then waits for the next pass (a listing longer than the call's
// budget, which is no failure) or ends as a refused watch call would.
func (r *run) baseline(ctx context.Context, w store.Watch, cl claim, c store.Channel) bool {
	if r.opts.Changes == nil {
		return true
	}
	var done bool
	err := r.call(ctx, apiOf(w.Kind), 1, func(ctx context.Context) (err error) {
		done, err = r.opts.Changes.Baseline(ctx, w)
		return err
	})
	if err == nil && done {
		return true
	}
	// The pass's deadline may be what cut the call: the records must
	// still say what happened, and the lease go back.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	r.finish(ctx, c.ID, store.ChannelFailed)
	if err == nil {
		r.deferred(baselineUnfinished)
		r.release(ctx, cl, store.WatchUpdate{LastError: store.Ptr(baselineUnfinished)})
		return false
	}
	r.settle(ctx, w, cl, err, nil)
	return false
}

// maxOwed caps the owed reads one pass makes: a backlog of them (Google
// down for an hour) is worked off over passes, not in one.
const maxOwed = 100

// owed makes the reads that failed or cut-off ones left owed, under the
// pass's rate limit: a read whose trigger will not come again (a failed
// `watch sync`, a dead-lettered message, a holder that died) is made here,
// at the latest one pass later.
func (r *run) owed(cs []store.Cursor) []func(context.Context) {
	if r.opts.Changes == nil {
		return nil
	}
	jobs := make([]func(context.Context), len(cs))
	for i, c := range cs {
		jobs[i] = func(ctx context.Context) {
			err := r.call(ctx, "", 1, func(ctx context.Context) error { return r.opts.Changes.Retry(ctx, c.WatchID) })
			r.add(func(s *Summary) { s.OwedReads++ })
			if err != nil {
				r.log.Warn("owed read failed; the next pass tries again", "watch", c.WatchID, "error", fmt.Sprint(err))
				r.remaining(1)
			}
		}
	}
	return jobs
}
