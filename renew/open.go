package renew

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// errNoAddress: the watch names no webhook and the deployment has none. It
// is transient: the watch keeps its live channel and is tried again once
// WATCHRELAY_ADDRESS is set, rather than ended for a deployment's mistake.
var errNoAddress = errors.New("renew: no webhook address: set WATCHRELAY_ADDRESS or the watch's address")

// renewAt is when w's channel enters its renewal window, google.
// RenewThreshold before it expires; the zero time (at once) when w has
// none. due and dueAt both read it, so the pass and the due query agree to
// the instant.
func (r *run) renewAt(w store.Watch) time.Time {
	if w.ChannelID == "" {
		return time.Time{}
	}
	return w.ChannelExpiration.Add(-google.RenewThreshold(w, r.opts.RenewBefore))
}

// due reports whether w needs a new channel at now: it is active and its
// renewal time has come.
func (r *run) due(w store.Watch, now time.Time) bool {
	return w.State == store.WatchActive && !r.renewAt(w).After(now)
}

// dueAt is when w is next to be worked on (store.Watch.DueAt): its
// renewal time, and not before its RetryAt.
func (r *run) dueAt(w store.Watch) time.Time {
	at := r.renewAt(w)
	if w.RetryAt.After(at) {
		at = w.RetryAt
	}
	return at
}

// renew gives a due watch a fresh channel and retires the old one: claim the
// watch and store the new channel pending (one commit), call watch, activate
// (one transaction: the new channel active and named by the watch, the old
// one retired, the lease given back), then stop the old channel.
func (r *run) renew(ctx context.Context, w store.Watch) {
	now := r.opts.Now()
	address, ok := r.ready(ctx, w, now)
	if ok {
		w, ok = r.canonical(ctx, w)
	}
	if !ok {
		return
	}
	api := apiOf(w.Kind)
	token, err := newToken()
	if err != nil {
		r.log.Error("no channel token", "error", err)
		r.remaining(1)
		return
	}
	var c store.Channel
	w, cl, err := r.lease(ctx, w.ID, func(cur store.Watch) (store.Channel, bool) {
		c = store.Channel{} // a transaction that met contention runs this again
		if !r.due(cur, now) || cur.RetryAt.After(now) {
			return store.Channel{}, false // renewed or removed since the query
		}
		c = pendingChannel(cur, token, now)
		return c, true
	})
	if !r.claimed(cl.watchID, err) {
		return
	}
	if c.ID == "" {
		r.release(ctx, cl, r.rescheduled(w, now))
		return
	}
	old := w.ChannelID
	lapsed := old != "" && !w.ChannelExpiration.After(now)
	var events []event.Event // reported with the state that ends this claim
	if lapsed {
		r.add(func(s *Summary) { s.Lapsed++ })
		events = append(events, r.event(event.TypeLapsed, event.LifecycleOf(w, old, w.ChannelExpiration, "", time.Time{}, "")))
	}
	ask, ok := r.prepare(ctx, w, cl, c, old == "", events)
	if !ok {
		return
	}
	req := google.ChannelRequest{ID: c.ID, Token: token, Address: address, Expiration: c.Expiration}
	if supersedes(w.Kind) {
		req.Current = r.currentResource(ctx, w) // the grant to renew (a Workspace subscription)
	}
	var granted google.Granted
	err = r.call(ctx, api, 1, func(ctx context.Context) (err error) {
		granted, err = r.google.Watch(ctx, ask, req)
		return err
	})
	if err != nil {
		r.watchFailed(ctx, w, cl, c, err, events)
		return
	}
	if granted.Expiration.IsZero() {
		granted.Expiration = req.Expiration
	}
	if granted.Reactivated != "" && w.Failures+1 >= maxReactivations {
		// The grant is the current one, which the watch's end stops.
		r.finish(ctx, c.ID, store.ChannelStopped)
		r.end(ctx, w, cl, &google.SuspendedError{Subscription: granted.ResourceID, Reason: granted.Reactivated, Repeated: w.Failures + 1}, events)
		return
	}
	typ := event.TypeRenewed
	if old == "" {
		typ = event.TypeStarted
	}
	events = append(events, r.event(typ, event.LifecycleOf(w, old, w.ChannelExpiration, c.ID, granted.Expiration, "")))
	if !r.activate(ctx, w, cl, c, granted, events) {
		return
	}
	r.replaced(ctx, w, old, lapsed, granted, r.announce(ctx, events...))
}

// prepare readies the watch call of a claimed watch: its first cursor, for
// a first channel (baseline), and what the call asks for (mailboxRequest).
// It reports false when the call is not to be made; c is then finished
// failed, and the watch waits or ends.
func (r *run) prepare(ctx context.Context, w store.Watch, cl claim, c store.Channel, first bool, events []event.Event) (store.Watch, bool) {
	if first && !r.baseline(ctx, w, cl, c) {
		return w, false
	}
	ask, err := r.mailboxRequest(ctx, w)
	if err != nil {
		r.finish(ctx, c.ID, store.ChannelFailed) // no watch call was made
		r.settle(ctx, w, cl, err, events)
		return w, false
	}
	return ask, true
}

// replaced finishes an activated renewal: it counts it, and ends the
// channel it replaced, which the activation retired, forgetting the
// published events in that write. A first or lapsed channel replaced
// nothing live; a Pub/Sub kind's grant was superseded at Google.
func (r *run) replaced(ctx context.Context, w store.Watch, old string, lapsed bool, granted google.Granted, published []string) {
	r.add(func(s *Summary) {
		if old == "" || lapsed {
			s.Started++
		} else {
			s.Renewed++
		}
	})
	switch {
	case old == "" || lapsed:
		r.forget(ctx, published)
	case supersedes(w.Kind):
		r.finish(ctx, old, store.ChannelStopped, published...)
	default:
		// Google's resource ids name the resource, not the channel, so
		// the new grant's stops the old.
		r.stopRetired(ctx, store.Channel{ID: old, WatchID: w.ID, Kind: w.Kind, Subject: w.Subject, ResourceID: granted.ResourceID}, published...)
	}
}

// ready reports whether a watch from the due query is to be renewed now,
// with the webhook address to give Google; a watch waiting out its backoff,
// of a throttled API, or without an address is counted as deferred.
func (r *run) ready(ctx context.Context, w store.Watch, now time.Time) (address string, ok bool) {
	switch {
	case !r.due(w, now):
		r.reschedule(ctx, w, now)
		return "", false
	case w.RetryAt.After(now):
		r.deferred(w.LastError)
		r.reschedule(ctx, w, now)
		return "", false
	case r.isThrottled(apiOf(w.Kind)):
		r.deferred(throttledReason(apiOf(w.Kind)))
		return "", false
	}
	address = w.Address
	if address == "" {
		address = r.opts.Address
	}
	switch k, _ := google.LookupKind(w.Kind); k.Delivery {
	case google.DeliverGmail:
		address = r.opts.GmailTopic
	case google.DeliverEvents:
		address = r.opts.EventsTopic
	}
	if address == "" {
		r.noAddress(ctx, w)
		return "", false
	}
	return address, true
}

// maxReactivations is how many renewals in a row may find a Workspace
// subscription suspended for an endpoint reason and reactivate it before the
// watch ends failed: a grant Workspace keeps suspending is not delivering,
// and reactivating it every pass would hide that from everyone.
const maxReactivations = 3

// supersedes reports whether kind is kept alive by calling its watch again
// (the Pub/Sub kinds): the new grant replaces the old one at Google, which
// is then finished without a stop call, since a users.stop or a
// subscription's deletion would end the new grant too.
func supersedes(kind string) bool {
	k, _ := google.LookupKind(kind)
	return k.Delivery != google.DeliverWebhook
}

// pendingChannel is the record of a channel about to be asked for.
func pendingChannel(w store.Watch, token string, now time.Time) store.Channel {
	return store.Channel{
		ID:        uuid.NewString(),
		WatchID:   w.ID,
		Kind:      w.Kind,
		Subject:   w.Subject,
		TokenHash: store.HashToken(token),
		// What we ask for bounds what Google grants, so if we never hear
		// the answer, past this the channel is known gone at Google.
		Expiration: google.RequestedExpiration(w, now),
		State:      store.ChannelPending,
		Labels:     w.Labels,
		CreatedAt:  now,
	}
}

// activate records the grant under the claim. It reports whether the watch
// now names the channel. Otherwise the channel is live at Google and serves
// no one, and it is dealt with here: a watch removed or ended meanwhile, or
// a claim lost to another pass (which may have stopped the record before
// Google opened the channel), gets it stopped at once, by the resource id
// the grant names; a removed watch is purged by this pass, which holds it.
// A store failure leaves it pending for the next pass's cleanup.
func (r *run) activate(ctx context.Context, w store.Watch, cl claim, c store.Channel, g google.Granted, events []event.Event) bool {
	now := r.opts.Now()
	a := store.Activation{
		ChannelID: c.ID, WatchID: w.ID, Holder: cl.holder,
		ResourceID: g.ResourceID, ResourceURI: g.ResourceURI, Expiration: g.Expiration,
		AcceptOldUntil: now.Add(r.opts.Grace), Now: now, Events: r.outboxed(events...),
	}
	next := w
	next.ChannelID, next.ChannelExpiration, next.RetryAt = c.ID, g.Expiration, time.Time{}
	a.DueAt = r.dueAt(next)
	if g.Reactivated != "" {
		a.LastError = "renewed after reactivating a subscription Workspace suspended with " + g.Reactivated
		a.Failures = w.Failures + 1
		r.log.Warn("subscription reactivated", "watch", w.ID, "kind", w.Kind, "reason", g.Reactivated, "times", a.Failures)
	}
	err := r.store.ActivateChannel(ctx, a)
	if err == nil {
		return true
	}
	if !errors.Is(err, store.ErrNotActive) && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrLeaseLost) {
		r.log.Error("activate channel", "watch", w.ID, "channel", c.ID, "error", err)
		r.remaining(1)
		r.release(ctx, cl, store.WatchUpdate{})
		return false
	}
	c.ResourceID, c.Expiration = g.ResourceID, g.Expiration
	if errors.Is(err, store.ErrLeaseLost) && supersedes(w.Kind) {
		// The grant is the one the other pass keeps alive (one Gmail
		// watch per mailbox, one subscription per target): ending it
		// would end theirs.
		r.finish(ctx, c.ID, store.ChannelStopped)
		return false
	}
	r.log.Warn("opened a channel its watch no longer wants; stopping it", "watch", w.ID, "channel", c.ID, "why", err)
	r.stopOrphan(ctx, c)
	if errors.Is(err, store.ErrLeaseLost) {
		return false // the watch is another pass's now
	}
	if cur, err := r.store.Watch(ctx, w.ID); err == nil && cur.State == store.WatchDeleted {
		r.purge(ctx, cur, cl)
	}
	r.release(ctx, cl, store.WatchUpdate{})
	return false
}

// watchFailed settles a watch call that did not open a channel. An
// ambiguous outcome (a timeout, a lost connection) may have opened it at
// Google: it stays pending, and the next pass's cleanup stops it. An answer
// means it was not opened: the record is finished as failed at once, so
// nothing is left to stop. Then the watch waits (transient) or ends, with
// the events of the claim (a lapse) reported by its end.
func (r *run) watchFailed(ctx context.Context, w store.Watch, cl claim, c store.Channel, err error, events []event.Event) {
	// The pass's deadline may be what cut the call: the records must still
	// say what happened, and the lease go back.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if answered(err) {
		r.finish(ctx, c.ID, store.ChannelFailed)
	}
	r.settle(ctx, w, cl, err, events)
}

// settle leaves a watch Google refused for later (transient) or ends it.
func (r *run) settle(ctx context.Context, w store.Watch, cl claim, err error, events []event.Event) {
	if google.Classify(err) == google.ClassTransient {
		r.deferWatch(ctx, w, cl, err)
		return
	}
	r.end(ctx, w, cl, err, events)
}

// answered reports whether a watch call's failure says no channel was
// opened: Google answered, or the call was never made.
func answered(err error) bool { return google.IsAnswer(err) || errors.Is(err, errThrottled) }

// deferWatch leaves a watch for a later pass after a transient failure. When
// Google answered (a throttle, a 5xx), the watch also waits RetryBase,
// doubled per failure up to RetryMax, or Google's Retry-After when longer,
// so that a throttled API is not asked again by every pass. An ambiguous
// outcome (a timeout) waits for nothing: the next pass tries again.
func (r *run) deferWatch(ctx context.Context, w store.Watch, cl claim, err error) {
	reason := reason(apiOf(w.Kind), err)
	r.log.Warn("renewal deferred", "watch", w.ID, "kind", w.Kind, "error", reason)
	r.deferred(reason)
	u := store.WatchUpdate{LastError: &reason, Failures: store.Ptr(w.Failures + 1)}
	if answered(err) {
		wait := min(r.opts.RetryBase<<min(w.Failures, 20), r.opts.RetryMax)
		w.RetryAt = r.opts.Now().Add(max(wait, google.RetryAfter(err)))
		u.RetryAt, u.DueAt = &w.RetryAt, store.Ptr(r.dueAt(w))
	}
	r.release(ctx, cl, u)
}

// deferred counts a watch left for a later pass, and why.
func (r *run) deferred(reason string) {
	r.add(func(s *Summary) {
		s.Remaining++
		if s.Deferred == nil {
			s.Deferred = map[string]int{}
		}
		s.Deferred[reason]++
	})
}

// noAddress defers a watch that has no webhook address, without claiming
// it: its live channel serves on, and lastError says what to set.
func (r *run) noAddress(ctx context.Context, w store.Watch) {
	reason := errNoAddress.Error()
	r.deferred(reason)
	if w.LastError == reason {
		return // said already: one write, not one per pass
	}
	r.log.Warn("renewal deferred", "watch", w.ID, "kind", w.Kind, "error", reason)
	if err := r.store.UpdateWatch(ctx, w.ID, store.WatchUpdate{LastError: &reason}, r.opts.Now()); err != nil {
		r.log.Error("record failure", "watch", w.ID, "error", err)
	}
}

// end ends a watch that Google refused for good, as gone or failed, in one
// step on the watch as it is now (store.EndWatch, as Sync ends one): its
// channel retired (stopping, or expired if lapsed), the lease released with
// the state, and its event (and any lapse) kept in the outbox. Then it
// publishes them and stops the channel; if the pass dies first, the next
// pass does both. A watch its user removed meanwhile is not ended: the
// lease goes back, and the next pass purges it.
func (r *run) end(ctx context.Context, w store.Watch, cl claim, err error, events []event.Event) {
	class, reason := google.Classify(err), google.Reason(err)
	state := store.WatchFailed
	if class == google.ClassGone {
		state = store.WatchGone
	}
	now := r.opts.Now()
	var ended []event.Event
	current, ok, err := r.store.EndWatch(ctx, store.End{
		WatchID: w.ID, Holder: cl.holder, State: state, LastError: reason,
		AcceptUntil: now.Add(r.opts.Grace), Now: now,
		Events: func(cur store.Watch) []store.OutboxEvent {
			ended = append(slices.Clone(events), event.Ended(cur, state, reason, r.opts.Now()))
			return r.outboxed(ended...)
		},
	})
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		r.log.Warn("lease lost to another pass; leaving the watch to it", "watch", w.ID)
		return
	case err != nil:
		r.log.Error("end watch", "watch", w.ID, "error", err)
		r.remaining(1)
		r.release(ctx, cl, store.WatchUpdate{})
		return
	case !ok:
		r.log.Info("watch no longer active; not ended", "watch", w.ID, "kind", w.Kind)
		r.release(ctx, cl, store.WatchUpdate{})
		return
	}
	r.log.Error("watch ended", "watch", w.ID, "kind", w.Kind, "state", state, "error", reason)
	r.add(func(s *Summary) {
		if class == google.ClassGone {
			s.Gone++
		} else {
			s.Failed++
		}
	})
	published := r.announce(ctx, ended...)
	if current.State == store.ChannelStopping {
		r.stopRetired(ctx, current, published...)
		return
	}
	r.forget(ctx, published)
}

// reschedule corrects the due time of a watch the due query read before
// its work is due: one whose DueAt was set to "at once" by a writer that
// does not know the renewal window (an import, a hand-made stop, a store
// from before DueAt), or by an older RENEW_BEFORE. It is written under the
// watch's lease, from the watch as leased, so that it cannot undo a
// renewal or a retry made since the query: those would make it due
// earlier, and a due time written late would leave the watch unread.
func (r *run) reschedule(ctx context.Context, w store.Watch, now time.Time) {
	if sameTime(r.dueAt(w), w.DueAt) {
		return // due later only by its retry time, which is stored already
	}
	w, cl, err := r.lease(ctx, w.ID, nil)
	if !r.claimed(cl.watchID, err) {
		return
	}
	r.release(ctx, cl, r.rescheduled(w, now))
}

// rescheduled is the update that sets a leased watch's due time, if its
// work is not due at now; none otherwise.
func (r *run) rescheduled(w store.Watch, now time.Time) store.WatchUpdate {
	if at := r.dueAt(w); w.State == store.WatchActive && at.After(now) && !sameTime(at, w.DueAt) {
		return store.WatchUpdate{DueAt: &at}
	}
	return store.WatchUpdate{}
}

// sameTime compares times as the store keeps them, to the microsecond.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}
