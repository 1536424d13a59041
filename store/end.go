package store

import (
	"fmt"
	"time"
)

// End asks EndWatch to end a watch Google refused for good. Renew (a
// refused watch call, under its lease) and Sync (a refused read, under no
// lease of the watch) ask the same way, so a watch ends the same whoever
// saw the refusal.
type End struct {
	WatchID string
	// Holder is the lease the caller holds on the watch, given back in
	// the same step; empty for a caller that holds none (Sync), which
	// leaves the lease to whoever has it: a pass renewing the watch
	// finds it no longer active at activation.
	Holder string
	// State is WatchFailed or WatchGone; LastError says why.
	State     WatchState
	LastError string
	// AcceptUntil: the retired channel's notifications are accepted until
	// then, as Google may retry real changes sent before the end.
	AcceptUntil time.Time
	Now         time.Time
	// Events returns the lifecycle events that report the end, built
	// from the watch as it was just before it (its ChannelID is the
	// channel the end retires), kept in the outbox in the same step. It
	// runs inside that step, perhaps more than once (Firestore runs a
	// contended transaction again), so it must not call the store.
	Events func(Watch) []OutboxEvent
}

func (e End) check() error {
	if e.State != WatchFailed && e.State != WatchGone {
		return fmt.Errorf("store: end watch %s: state %q is not an end (failed or gone)", e.WatchID, e.State)
	}
	return nil
}

// ending is what EndWatch writes: the watch's update, the update of the
// channel it names (nil: nothing to write to it), that channel as it is
// after, and the events.
type ending struct {
	watch   WatchUpdate
	channel *ChannelUpdate
	retired Channel
	events  []OutboxEvent
}

// plan is EndWatch's rule, which both stores apply to the watch as it is
// now and the channel it names (found is false when it names none or the
// record is missing). A watch that is no longer active (ended, or removed
// by its user) is not ended: ok is false and nothing is to be written.
// Otherwise it is failed or gone, with no channel, failures+1 and the
// lease given back if the caller held it; its channel, if still live, is
// retired (stopping, for Renew's next pass to stop, or expired if it
// lapsed); and the events are kept.
func (e End) plan(w Watch, c Channel, found bool) (p ending, ok bool, err error) {
	if e.Holder != "" {
		if err := w.heldBy(e.Holder, "end"); err != nil {
			return ending{}, false, err
		}
	}
	if w.State != WatchActive {
		return ending{}, false, nil
	}
	p.watch = WatchUpdate{
		State: &e.State, ChannelID: Ptr(""), ChannelExpiration: &time.Time{},
		LastError: &e.LastError, Failures: Ptr(w.Failures + 1),
	}
	if e.Holder != "" {
		p.watch = p.watch.released()
	}
	if found && (c.State == ChannelActive || c.State == ChannelPending) {
		u := retirement(c.Expiration, e.Now, e.AcceptUntil)
		p.channel, c = &u, u.apply(c).normal()
	}
	p.retired = c
	if e.Events != nil {
		p.events = e.Events(w.clone())
	}
	return p, true, nil
}
