package renew

import (
	"context"
	"time"

	"github.com/watchrelay/watchrelay/store"
)

// DueSweep is how a pass gives the watches of a store from before
// store.Watch.DueAt the field, without which the due query never reads
// them (store.DueSweep).
type DueSweep interface {
	SweepDue(ctx context.Context, limit int, dueAt func(store.Watch) time.Time, now time.Time) (store.SweepPage, error)
}

// sweepDue sweeps a page of the watches for those without a due time, as
// many as the pass can hand out (limit), before the pass's queries: a
// watch it finds due is then renewed by this pass. Each is given its real
// due time (dueAt), from the watch as the sweep's transaction reads it, so
// one whose channel is not due costs no lease. Once the store says the
// sweep is done, this Pass asks no more: a long-lived one (the service's)
// then spends nothing on it. A sweep that fails is logged and tried again
// by the next pass; the watches it swept already keep their due time.
func (r *run) sweepDue(ctx context.Context, limit int) {
	if r.swept.Load() {
		return
	}
	page, err := r.store.SweepDue(ctx, limit, r.dueAt, r.opts.Now())
	r.add(func(s *Summary) { s.Dated += page.Dated })
	if err != nil {
		r.log.Error("due sweep failed; the next pass goes on with it", "error", err)
		return
	}
	if page.Done {
		r.swept.Store(true)
	}
}
