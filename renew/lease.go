package renew

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/store"
)

// claim is a pass's hold on one watch: the lease's holder token, fresh for
// every claim, which the activation and the release check.
type claim struct {
	watchID string
	holder  string
}

// lease takes a watch's lease for a fresh claim; open, when given, names the
// channel to create pending in the same commit (see store.LeaseWatch). The
// error is the store's: see claimed.
func (r *run) lease(ctx context.Context, id string, open func(store.Watch) (store.Channel, bool)) (store.Watch, claim, error) {
	cl := claim{watchID: id, holder: uuid.NewString()}
	now := r.opts.Now()
	w, err := r.store.LeaseWatch(ctx, id, store.Lease{Holder: cl.holder, Until: now.Add(r.leaseFor)}, now, open)
	return w, cl, err
}

// claimed reports whether a lease was taken. A watch another pass holds, or
// one that is gone, is that pass's work or nobody's, and is not counted
// (see Summary); a store failure leaves the watch for the next pass.
func (r *run) claimed(id string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrLeased), errors.Is(err, store.ErrNotFound):
	default:
		r.log.Error("lease failed", "watch", id, "error", err)
		r.remaining(1)
	}
	return false
}

// withLease runs work on a watch while holding its lease, and releases it
// after.
func (r *run) withLease(ctx context.Context, id string, work func(context.Context, store.Watch, claim)) {
	w, cl, err := r.lease(ctx, id, nil)
	if !r.claimed(id, err) {
		return
	}
	work(ctx, w, cl)
	r.release(ctx, cl, store.WatchUpdate{})
}

// release gives the claim's lease back with u, the pass's last word on the
// watch, and the events that report it, and says whether it did. A lease
// that ran out and was taken over is the new holder's: it is left alone,
// and u with it. A failure only delays the watch until the lease lapses.
func (r *run) release(ctx context.Context, cl claim, u store.WatchUpdate, events ...store.OutboxEvent) bool {
	err := r.store.ReleaseWatch(ctx, cl.watchID, cl.holder, u, r.opts.Now(), events...)
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		r.log.Warn("lease lost to another pass; leaving the watch to it", "watch", cl.watchID)
	case err != nil:
		r.log.Warn("lease not released; it lapses by itself", "watch", cl.watchID, "error", err)
	}
	return err == nil
}
