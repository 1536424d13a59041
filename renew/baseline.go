package renew

import (
	"context"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// Baseliner takes a watch's first cursor (changes.Syncer). A pass asks for
// it before it opens a watch's first channel, so the cursor is older than
// the channel: every change made once the channel is live comes after the
// cursor, and the channel's first notification has Sync read it. A cursor
// taken after the channel opened would swallow the changes made between
// the two into the baseline, unpublished.
type Baseliner interface {
	Baseline(ctx context.Context, w store.Watch) error
}

// baseline asks for w's cursor under the claim that stored c pending, and
// reports whether the watch call may go ahead. When it fails no watch call
// was made, so c is finished as failed, with nothing to stop; the watch
// then waits or ends as a refused watch call would.
func (r *run) baseline(ctx context.Context, w store.Watch, cl claim, c store.Channel) bool {
	if r.opts.Baseline == nil {
		return true
	}
	err := r.call(ctx, apiOf(w.Kind), 1, func(ctx context.Context) error { return r.opts.Baseline.Baseline(ctx, w) })
	if err == nil {
		return true
	}
	// The pass's deadline may be what cut the call: the records must
	// still say what happened, and the lease go back.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	r.finish(ctx, c.ID, store.ChannelFailed)
	r.settle(ctx, w, cl, err, nil)
	return false
}
