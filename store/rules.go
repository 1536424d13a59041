package store

import (
	"fmt"
	"time"
)

// Finished is the update that records a channel's last state (stopped,
// expired or failed) and when its record may go. The record is kept
// Retention for operators reading the console, then the Firestore TTL policy
// on deleteAt removes it: nothing else ever deletes a channel, so a finished
// record without a deleteAt would stay forever. StoppedAt is set only for
// ChannelStopped, the one state in which Google confirmed the stop.
//
// A pass and the CLI's channel stop both finish channels; this is the one
// place that says what finishing writes.
func Finished(state ChannelState, now time.Time) ChannelUpdate {
	u := ChannelUpdate{State: &state, DeleteAt: Ptr(now.Add(Retention))}
	if state == ChannelStopped {
		u.StoppedAt = &now
	}
	return u
}

// Retiring is the update that retires a channel: stopping, until
// channels.stop is confirmed, and its notifications still accepted until
// acceptUntil, as Google may retry real changes sent before the retirement.
func Retiring(acceptUntil time.Time) ChannelUpdate {
	return ChannelUpdate{State: Ptr(ChannelStopping), AcceptUntil: &acceptUntil}
}

// retirement is the update of a channel its watch no longer names (a
// renewal replaced it, or the watch ended): stopping, or expired (a
// finished record) if its expiration has passed at now; its notifications
// accepted until acceptUntil either way, as Google may still retry real
// changes.
func retirement(expiration, now, acceptUntil time.Time) ChannelUpdate {
	if !expiration.After(now) {
		u := Finished(ChannelExpired, now)
		u.AcceptUntil = &acceptUntil
		return u
	}
	return Retiring(acceptUntil)
}

// The rules of a watch's lease and of an activation under it, written
// once: each store reads the documents, applies a rule and writes what it
// returns in one atomic step (a transaction, or under Memory's mutex). A
// change to a rule is one edit here, which the contract suite checks on
// both stores.

// creatable refuses to create a record under an id no document can have
// (CheckID), alike on both stores.
func creatable(what, id string) error {
	if err := CheckID(id); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	return nil
}

// claim is LeaseWatch's rule: w leased to l, unless another claim's lease
// runs past now (ErrLeased), and the pending channel open returns for the
// watch as leased (nil: none), its id checked.
func (w Watch) claim(l Lease, now time.Time, open func(Watch) (Channel, bool)) (Watch, *Channel, error) {
	if w.LeaseUntil.After(now) {
		return Watch{}, nil, fmt.Errorf("lease watch %s: %w", w.ID, ErrLeased)
	}
	w.LeaseUntil, w.LeaseHolder = normal(l.Until), l.Holder
	if open == nil {
		return w, nil, nil
	}
	c, ok := open(w.clone())
	if !ok {
		return w, nil, nil
	}
	if err := creatable("channel", c.ID); err != nil {
		return Watch{}, nil, fmt.Errorf("lease watch %s: %w", w.ID, err)
	}
	return w, &c, nil
}

// heldBy refuses a caller whose claim on w another claim has taken over
// (the lease ran out), or that never had it: ErrLeaseLost. what is the
// step refused, for the message.
func (w Watch) heldBy(holder, what string) error {
	if w.LeaseHolder != holder {
		return fmt.Errorf("%s watch %s: %w", what, w.ID, ErrLeaseLost)
	}
	return nil
}

// release is ReleaseWatch's rule: u with the lease given back, if holder
// still holds w.
func (w Watch) release(holder string, u WatchUpdate) (WatchUpdate, error) {
	if err := w.heldBy(holder, "release"); err != nil {
		return WatchUpdate{}, err
	}
	return u.released(), nil
}

// due is u with DueAt set to zero (due at once) when u changes what the
// due time follows (the channel, its expiration, RetryAt) and does not say
// what it becomes: see WatchUpdate.DueAt.
func (u WatchUpdate) due() WatchUpdate {
	if u.DueAt == nil && (u.ChannelID != nil || u.ChannelExpiration != nil || u.RetryAt != nil) {
		u.DueAt = &time.Time{}
	}
	return u
}

// released is u with the lease given back.
func (u WatchUpdate) released() WatchUpdate {
	u.LeaseUntil, u.LeaseHolder = &time.Time{}, Ptr("")
	return u
}

// activating is what ActivateChannel writes: the channel's update, its
// watch's, and the update of the channel the watch named before (old; ""
// when it named none, or this one).
type activating struct {
	channel ChannelUpdate
	watch   WatchUpdate
	old     string
	retire  ChannelUpdate
}

// plan is ActivateChannel's rule over the channel c and its watch w as they
// are now (found false: no record). It refuses unless both exist and c is
// w's (ErrNotFound), c is still pending and a.Holder still holds w
// (ErrLeaseLost), and w is still active (ErrNotActive). Otherwise c becomes
// active with what Google granted (its resource ids kept when a sync
// recorded them and the grant has none); w names it, with the lease given
// back; and the channel w named before is retired: stopping, or expired if
// its expiration (the watch's copy) has passed.
func (a Activation) plan(c Channel, cFound bool, w Watch, wFound bool) (activating, error) {
	what := "activate channel " + a.ChannelID
	switch {
	case !cFound:
		return activating{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	case !wFound || c.WatchID != a.WatchID:
		return activating{}, fmt.Errorf("%s: watch %s: %w", what, a.WatchID, ErrNotFound)
	case c.State != ChannelPending:
		return activating{}, fmt.Errorf("%s: it is %s: %w", what, c.State, ErrLeaseLost)
	}
	if err := w.heldBy(a.Holder, what+" for"); err != nil {
		return activating{}, err
	}
	if w.State != WatchActive {
		return activating{}, fmt.Errorf("%s: watch %s is %s: %w", what, w.ID, w.State, ErrNotActive)
	}
	p := activating{channel: ChannelUpdate{State: Ptr(ChannelActive), Expiration: &a.Expiration}}
	if a.ResourceID != "" {
		p.channel.ResourceID = &a.ResourceID
	}
	if a.ResourceURI != "" {
		p.channel.ResourceURI = &a.ResourceURI
	}
	p.watch = WatchUpdate{
		ChannelID: &a.ChannelID, ChannelExpiration: &a.Expiration,
		LastError: Ptr(a.LastError), Failures: Ptr(a.Failures), RetryAt: &time.Time{}, DueAt: &a.DueAt,
	}.released()
	if w.ChannelID != "" && w.ChannelID != c.ID {
		p.old, p.retire = w.ChannelID, retirement(w.ChannelExpiration, a.Now, a.AcceptOldUntil)
	}
	return p, nil
}
