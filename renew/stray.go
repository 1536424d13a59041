package renew

import (
	"context"
	"errors"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/store"
)

// Strays is the part of the store a pass finds Receive's strays in.
type Strays interface {
	Strays(ctx context.Context, state store.StrayState, limit int) ([]store.Stray, error)
	UpdateStray(ctx context.Context, id string, u store.StrayUpdate) error
}

// stopStray stops a channel Google sends on but no record knows, through
// the API its resource URI names, as the service account (a stray's
// subject is unknown; Google answers another principal's channel 404, which
// ends it here too). A channel the store knows is never stopped as a
// stray: it is marked known and left to the pass's other work. A transient
// failure leaves the stray for a later pass.
func (r *run) stopStray(ctx context.Context, s store.Stray) {
	now := r.opts.Now()
	finish := func(state store.StrayState, reason string) {
		u := store.StrayUpdate{State: &state, DeleteAt: store.Ptr(now.Add(store.Retention))}
		if reason != "" {
			u.LastError = &reason
		}
		if state == store.StrayStopped {
			u.StoppedAt = &now
		}
		if err := r.store.UpdateStray(ctx, s.ChannelID, u); err != nil {
			r.log.Error("record stray", "channel", s.ChannelID, "state", state, "error", err)
		}
	}
	_, err := r.store.Channel(ctx, s.ChannelID)
	switch {
	case err == nil:
		finish(store.StrayKnown, "")
		return
	case !errors.Is(err, store.ErrNotFound):
		r.remaining(1)
		return
	}
	kind, ok := google.KindOfURI(s.ResourceURI)
	if !ok || s.ResourceID == "" {
		finish(store.StrayFailed, "no Google API named by its resource URI, or no resource id: cannot be stopped")
		return
	}
	err = r.call(ctx, apiOf(kind), r.opts.Attempts, func(ctx context.Context) error {
		return r.google.Stop(ctx, store.Watch{Kind: kind}, s.ChannelID, s.ResourceID)
	})
	switch {
	case err == nil || google.IsNotFound(err):
		finish(store.StrayStopped, "")
		r.add(func(s *Summary) { s.StraysStopped++ })
	case google.Classify(err) == google.ClassTransient:
		r.remaining(1)
	default:
		finish(store.StrayFailed, reason(apiOf(kind), err))
	}
}
