package renew

import (
	"context"
	"errors"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// retireCurrent retires the channel w names, for a watch that ends or is
// purged: stopping (accepted for the grace period), or finished as expired
// if it has lapsed. It returns the channel as retired; ok is false when the
// store could not be read or written, and the watch must wait.
func (r *run) retireCurrent(ctx context.Context, w store.Watch, now time.Time) (store.Channel, bool) {
	c, err := r.store.Channel(ctx, w.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Channel{}, true
	}
	if err != nil {
		r.log.Error("read channel to stop", "channel", w.ChannelID, "error", err)
		return store.Channel{}, false
	}
	switch {
	case c.State != store.ChannelActive && c.State != store.ChannelPending:
		return c, true // retired or finished already
	case !c.Expiration.After(now):
		c.State = store.ChannelExpired
		r.finish(ctx, c.ID, c.State)
		return c, true
	}
	if err := r.store.UpdateChannel(ctx, c.ID, store.Retiring(now.Add(r.opts.Grace))); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.Error("retire channel", "channel", c.ID, "error", err)
		return store.Channel{}, false
	}
	c.State = store.ChannelStopping
	return c, true
}

// stopRetired calls channels.stop for a retired channel, as the subject it
// was opened as, and records it stopped, forgetting the published events
// in the same write; Google's 404 means stopped already. A grant of a
// mailbox another active watch still uses is recorded stopped with no
// call (mailboxInUse). If the stop fails, the channel stays stopping and
// counts as remaining: the next pass tries again.
func (r *run) stopRetired(ctx context.Context, c store.Channel, published ...string) bool {
	inUse, err := r.mailboxInUse(ctx, c)
	if inUse && err == nil {
		r.finish(ctx, c.ID, store.ChannelStopped, published...)
		return true
	}
	if err == nil {
		err = r.call(ctx, apiOf(c.Kind), r.opts.Attempts, func(ctx context.Context) error {
			return r.google.Stop(ctx, store.Watch{ID: c.WatchID, Kind: c.Kind, Subject: c.Subject}, c.ID, c.ResourceID)
		})
	}
	if err != nil && !google.IsNotFound(err) {
		r.log.Warn("channel not stopped; the next pass tries again", "channel", c.ID, "watch", c.WatchID, "error", google.Reason(err))
		r.remaining(1)
		r.forget(ctx, published)
		return false
	}
	r.finish(ctx, c.ID, store.ChannelStopped, published...)
	r.add(func(s *Summary) { s.ChannelsStopped++ })
	return true
}

// finish records a channel's last state and when its record may go, and
// forgets the published events in the same write.
func (r *run) finish(ctx context.Context, id string, state store.ChannelState, published ...string) {
	if err := r.store.Forget(ctx, published, id, store.Finished(state, r.opts.Now())); err != nil {
		r.log.Error("record channel state", "channel", id, "state", state, "error", err)
	}
}

// finishStop completes a stop that an earlier pass began.
func (r *run) finishStop(ctx context.Context, c store.Channel) {
	r.stopOrphan(ctx, r.withSubject(ctx, c))
}

// withSubject fills in the subject of a channel recorded before channels
// kept theirs, from its watch.
func (r *run) withSubject(ctx context.Context, c store.Channel) store.Channel {
	if c.Subject == "" {
		if w, err := r.store.Watch(ctx, c.WatchID); err == nil {
			c.Subject = w.Subject
		}
	}
	return c
}

// clearPending handles a watch's channels left pending by passes that
// crashed, or whose watch call ended ambiguously, before activating them.
// Under the watch's lease no other pass is opening them, and none that lost
// its lease can activate them, so they are orphans: Google may have opened
// them. A watch that is gone leaves its channels to stop all the same.
func (r *run) clearPending(ctx context.Context, watchID string, pending []store.Channel) {
	w, cl, err := r.lease(ctx, watchID, nil)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w = store.Watch{ID: watchID} // gone: its channels are stopped all the same
	case !r.claimed(watchID, err):
		return // in flight in another pass, or left for the next
	default:
		defer r.release(ctx, cl, store.WatchUpdate{})
	}
	for _, c := range pending {
		// Re-read: a pass may have activated it before this lease.
		c, err := r.store.Channel(ctx, c.ID)
		if err != nil || c.State != store.ChannelPending {
			continue
		}
		if supersedes(c.Kind) {
			// Whatever the call did, the watch's next grant replaces
			// it, and stopping it would end the current one; a watch
			// removed meanwhile has that one ended by its purge.
			r.finish(ctx, c.ID, store.ChannelStopped)
			continue
		}
		if c.ResourceID == "" {
			// Google's resource ids name the resource, not the
			// channel: the watch's current channel's serves.
			c.ResourceID = r.currentResource(ctx, w)
		}
		if c.Subject == "" {
			c.Subject = w.Subject
		}
		r.stopOrphan(ctx, c)
	}
}

// stopOrphan stops a channel that serves no one: pending with no pass
// opening it, stopping, or opened for a watch removed meanwhile. Its
// expiration, as Google granted it or, while pending, as asked (which bounds
// the grant), says when it is gone at Google by itself. channels.stop needs
// the resource id; without one the channel is left as it is until the
// watch's next channel names the resource or the channel expires: a stop
// with a wrong resource id is answered 404, which would read as stopped.
func (r *run) stopOrphan(ctx context.Context, c store.Channel) {
	if !c.Expiration.After(r.opts.Now()) {
		r.finish(ctx, c.ID, store.ChannelExpired)
		return
	}
	if c.ResourceID == "" {
		r.log.Warn("orphaned channel waits for its resource id or its expiration", "channel", c.ID, "watch", c.WatchID, "state", c.State)
		r.remaining(1)
		return
	}
	if c.State != store.ChannelStopping {
		// Stopping, with the resource id to stop it by, before Google is
		// called: if the stop fails or the pass dies, the next pass
		// finishes it as any stopping channel.
		u := store.Retiring(r.opts.Now().Add(r.opts.Grace))
		u.ResourceID = &c.ResourceID
		if err := r.store.UpdateChannel(ctx, c.ID, u); err != nil {
			r.log.Error("retire channel", "channel", c.ID, "error", err)
			r.remaining(1)
			return
		}
	}
	r.stopRetired(ctx, c)
}

// currentResource returns the resource id of w's current channel, or "".
func (r *run) currentResource(ctx context.Context, w store.Watch) string {
	if w.ChannelID == "" {
		return ""
	}
	cur, err := r.store.Channel(ctx, w.ChannelID)
	if err != nil {
		return ""
	}
	return cur.ResourceID
}

// purge stops a removed watch's channel and deletes the watch.
func (r *run) purge(ctx context.Context, w store.Watch, _ claim) {
	if w.State != store.WatchDeleted {
		return
	}
	if w.ChannelID != "" {
		c, ok := r.retireCurrent(ctx, w, r.opts.Now())
		if !ok {
			r.remaining(1)
			return
		}
		if c.State == store.ChannelStopping && !r.stopRetired(ctx, r.withSubject(ctx, c)) {
			return // stopRetired counted it; the next pass purges
		}
	}
	// The event is kept in the same commit as the deletion: if the pass
	// dies before publishing it, the next pass does.
	stopped := r.event(event.TypeStopped, event.LifecycleOf(w, w.ChannelID, w.ChannelExpiration, "", time.Time{}, ""))
	if err := r.store.DeleteWatch(ctx, w.ID, r.outboxed(stopped)...); err != nil {
		r.log.Error("purge watch", "watch", w.ID, "error", err)
		r.remaining(1)
		return
	}
	r.add(func(s *Summary) { s.Stopped++ })
	r.forget(ctx, r.announce(ctx, stopped))
}
