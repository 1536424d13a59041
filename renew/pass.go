// Package renew is watchrelay's reconcile pass: it makes Google's
// notification channels match the watches/ collection. One pass starts a
// channel for every new watch, replaces every channel that expires soon,
// restarts lapsed ones, stops and purges watches the user removed, and
// finishes whatever a crashed pass left half done.
//
// Every step of a renewal is durable before the next one starts, in the order
// DESIGN.md gives: the new channel is stored pending before Google is asked
// for it (a sync may arrive first), it is active and named by its watch before
// the old channel is retired, and the old one is marked stopping before
// channels.stop is called. A crash between any two steps leaves records the
// next pass completes (an orphan whose resource id was never heard of waits
// for the watch's next channel to name the resource, one pass more), so no
// path leaves a watch without a live channel or a live channel without a
// record.
package renew

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// Watches is the part of the store a pass reads and writes watches through.
type Watches interface {
	Watch(ctx context.Context, id string) (store.Watch, error)
	DueWatches(ctx context.Context, before time.Time, limit int) ([]store.Watch, error)
	Watches(ctx context.Context, state store.WatchState) ([]store.Watch, error)
	LeaseWatch(ctx context.Context, id string, now, until time.Time) (store.Watch, error)
	UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error
	DeleteWatch(ctx context.Context, id string) error
}

// Channels is the part of the store a pass keeps channels in.
type Channels interface {
	CreateChannel(ctx context.Context, c store.Channel) error
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
	ActivateChannel(ctx context.Context, id, resourceID, resourceURI string, expiration, acceptOldUntil, now time.Time) error
	ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error)
}

// Store is everything a pass needs of the store; *store.Memory and
// *store.Firestore both are one.
type Store interface {
	Watches
	Channels
}

// Publisher sends lifecycle events; *event.Publisher is one.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Options bound and tune a pass. Zero values take the defaults noted.
type Options struct {
	// Address is the webhook URL for watches that name none.
	Address string
	// RenewBefore: a channel expiring within it is replaced (default 90m).
	RenewBefore time.Duration
	// Grace: a retired channel's notifications are accepted this long
	// (default 10m).
	Grace time.Duration
	// Concurrency bounds the watches worked on at once (default 8).
	Concurrency int
	// QPS bounds Google API calls per second, token bucket (default 10).
	QPS float64
	// Budget bounds a pass when its context has no deadline (default 4m).
	// Renew's request context has one when functions-framework-go sets it
	// from the function's timeout (CLOUD_RUN_TIMEOUT_SECONDS); that
	// deadline then bounds the pass instead. No new work is claimed within
	// Margin of the deadline.
	Budget time.Duration
	// Margin is the time kept back at the end of the pass for the work in
	// flight to finish (default 30s, or a tenth of a short pass).
	Margin time.Duration
	// Lease is how long a pass holds a watch (default Budget + a minute):
	// longer than any one watch's work, so two passes never overlap.
	Lease time.Duration
	// Attempts for a call that fails transiently (default 3), with
	// exponential backoff from Backoff (default 200ms), jittered by ±50%.
	Attempts int
	Backoff  time.Duration
	// MaxWork caps the due watches one pass reads (default 100000).
	MaxWork int
	// Now is the clock of the records: expirations, leases, timestamps
	// (default time.Now). The pass's own deadline is real time, as its
	// context's is.
	Now func() time.Time
	// Logger gets one line per failure (default slog.Default()).
	Logger *slog.Logger
}

// Pass runs reconcile passes. It is safe to run several at once, in one
// process or many: leases keep them off each other's watches.
type Pass struct {
	store   Store
	google  Google
	events  Publisher
	opts    Options
	limiter *rate.Limiter
	log     *slog.Logger
}

// New checks its inputs and returns a Pass.
func New(s Store, g Google, p Publisher, opts Options) (*Pass, error) {
	if s == nil || g == nil || p == nil {
		return nil, errors.New("renew: New needs a store, a Google and a publisher")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.RenewBefore, 90*time.Minute)
	def(&opts.Grace, 10*time.Minute)
	def(&opts.Budget, 4*time.Minute)
	def(&opts.Lease, opts.Budget+time.Minute)
	def(&opts.Backoff, 200*time.Millisecond)
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.QPS <= 0 {
		opts.QPS = 10
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.MaxWork <= 0 {
		opts.MaxWork = 100000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Pass{
		store:   s,
		google:  g,
		events:  p,
		opts:    opts,
		limiter: rate.NewLimiter(rate.Limit(opts.QPS), max(1, int(opts.QPS/10))),
		log:     opts.Logger,
	}, nil
}

// Summary is what one pass did. Remaining counts the work it found but left
// for the next pass: transient failures, channels it could not stop yet, and
// what the deadline cut off. Work past MaxWork, which the pass does not read,
// counts as one: Remaining > 0 then says that more is due, not how much.
// Watches another pass holds the lease of are not counted: they are that
// pass's work, in its summary, and two overlapping passes would count them
// twice.
type Summary struct {
	Started         int `json:"started"`
	Renewed         int `json:"renewed"`
	Stopped         int `json:"stopped"`
	Lapsed          int `json:"lapsed"`
	Failed          int `json:"failed"`
	Gone            int `json:"gone"`
	Remaining       int `json:"remaining"`
	ChannelsStopped int `json:"channelsStopped"`
}

// JSON renders the summary as Renew answers it.
func (s Summary) JSON() []byte {
	b, _ := json.Marshal(s) // a struct of ints always marshals
	return b
}

// tally is a Summary shared by the workers of one pass.
type tally struct {
	mu sync.Mutex
	s  Summary
}

func (t *tally) add(f func(*Summary)) {
	t.mu.Lock()
	f(&t.s)
	t.mu.Unlock()
}

// Run runs one pass. It returns an error only when the pass could not run at
// all (the store could not be queried); a watch that fails is counted and
// reported as an event, not returned.
func (p *Pass) Run(ctx context.Context) (Summary, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		deadline = time.Now().Add(p.opts.Budget)
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	margin := p.opts.Margin
	if margin <= 0 {
		// From the pass's own length, not Budget: a short function timeout
		// must not be eaten whole by a margin sized for the default budget.
		margin = min(30*time.Second, time.Until(deadline)/10)
	}
	claimUntil := deadline.Add(-margin)
	t := &tally{}

	// Each query reads one more than MaxWork, to know whether it was cut.
	stopping, err := p.store.ChannelsByState(ctx, store.ChannelStopping, farFuture, p.opts.MaxWork+1)
	if err != nil {
		return Summary{}, fmt.Errorf("renew: query stopping channels: %w", err)
	}
	pending, err := p.store.ChannelsByState(ctx, store.ChannelPending, farFuture, p.opts.MaxWork+1)
	if err != nil {
		return Summary{}, fmt.Errorf("renew: query pending channels: %w", err)
	}
	deleted, err := p.store.Watches(ctx, store.WatchDeleted)
	if err != nil {
		return Summary{}, fmt.Errorf("renew: query deleted watches: %w", err)
	}
	now := p.opts.Now()
	due, err := p.store.DueWatches(ctx, now.Add(p.opts.RenewBefore), p.opts.MaxWork+1)
	if err != nil {
		return Summary{}, fmt.Errorf("renew: query due watches: %w", err)
	}

	// Three phases, each done before the next starts. Orphans first: they
	// are live at Google with nothing serving them. Clearing pending ones
	// holds their watch's lease, so the purges and renewals, which take the
	// same leases, come after: run beside it, they would find the watch
	// leased and skip it. For the same reason a watch's pending orphans are
	// cleared together, under one lease. And a watch's orphans are cleared
	// before the watch gets a new channel.
	var orphans, purges, work []func(context.Context)
	for _, c := range atMost(stopping, p.opts.MaxWork, t) {
		orphans = append(orphans, func(ctx context.Context) { p.finishStop(ctx, c, t) })
	}
	var watchIDs []string // of pending orphans, in query order
	byWatch := map[string][]store.Channel{}
	for _, c := range atMost(pending, p.opts.MaxWork, t) {
		if byWatch[c.WatchID] == nil {
			watchIDs = append(watchIDs, c.WatchID)
		}
		byWatch[c.WatchID] = append(byWatch[c.WatchID], c)
	}
	for _, id := range watchIDs {
		cs := byWatch[id]
		orphans = append(orphans, func(ctx context.Context) { p.clearPending(ctx, id, cs, t) })
	}
	for _, w := range deleted {
		purges = append(purges, func(ctx context.Context) { p.withLease(ctx, w.ID, t, p.purge) })
	}
	for _, w := range atMost(due, p.opts.MaxWork, t) {
		work = append(work, func(ctx context.Context) { p.withLease(ctx, w.ID, t, p.renew) })
	}
	p.runAll(ctx, orphans, claimUntil, t)
	p.runAll(ctx, purges, claimUntil, t)
	p.runAll(ctx, work, claimUntil, t)
	return t.s, nil
}

// atMost trims what a query read, asked for n+1, to n. A record past n means
// the query was cut; it counts as one remaining, since counting them all
// would read what MaxWork exists to leave unread.
func atMost[T any](records []T, n int, t *tally) []T {
	if len(records) <= n {
		return records
	}
	t.add(func(s *Summary) { s.Remaining++ })
	return records[:n]
}

// runAll runs jobs, at most Concurrency at once, claiming none after
// claimUntil; what it leaves is counted as remaining.
func (p *Pass) runAll(ctx context.Context, jobs []func(context.Context), claimUntil time.Time, t *tally) {
	sem := make(chan struct{}, p.opts.Concurrency)
	var wg sync.WaitGroup
	for i, job := range jobs {
		if !time.Now().Before(claimUntil) || ctx.Err() != nil {
			t.add(func(s *Summary) { s.Remaining += len(jobs) - i })
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			job(ctx)
		})
	}
	wg.Wait()
}

// farFuture is past any expiration: "every channel in this state".
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// withLease runs work on a watch while holding its lease, and releases it
// after. A watch leased by another pass is that pass's work: skipped, and
// not counted as remaining (see Summary).
func (p *Pass) withLease(ctx context.Context, id string, t *tally, work func(context.Context, store.Watch, *tally)) {
	now := p.opts.Now()
	w, err := p.store.LeaseWatch(ctx, id, now, now.Add(p.opts.Lease))
	switch {
	case errors.Is(err, store.ErrLeased), errors.Is(err, store.ErrNotFound):
		return
	case err != nil:
		p.log.Error("lease failed", "watch", id, "error", err)
		t.add(func(s *Summary) { s.Remaining++ })
		return
	}
	work(ctx, w, t)
	p.release(ctx, id)
}

// release gives a watch's lease back. A purged watch has nothing to
// release; a failure only delays the watch until the lease lapses.
func (p *Pass) release(ctx context.Context, id string) {
	if err := p.store.UpdateWatch(ctx, id, store.WatchUpdate{LeaseUntil: &time.Time{}}, p.opts.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.Warn("lease not released; it lapses by itself", "watch", id, "error", err)
	}
}

// renew gives a due watch a fresh channel and retires the old one.
func (p *Pass) renew(ctx context.Context, w store.Watch, t *tally) {
	now := p.opts.Now()
	// Re-check under the lease: another pass may have renewed it between
	// our query and our lease, or the user may have removed it.
	if w.State != store.WatchActive || !w.ChannelExpiration.Before(now.Add(p.opts.RenewBefore)) {
		return
	}
	old := w.ChannelID
	lapsed := old != "" && !w.ChannelExpiration.After(now)
	if lapsed {
		p.retire(ctx, old, store.ChannelExpired)
		t.add(func(s *Summary) { s.Lapsed++ })
		p.publish(ctx, event.TypeLapsed, w, lifecycle(w, old, w.ChannelExpiration, "", time.Time{}, ""))
	}

	granted, id, err := p.open(ctx, w)
	if err != nil {
		p.fail(ctx, w, err, t)
		return
	}
	if old == "" || lapsed {
		t.add(func(s *Summary) { s.Started++ })
		typ := event.TypeStarted
		if lapsed {
			typ = event.TypeRenewed
		}
		p.publish(ctx, typ, w, lifecycle(w, old, w.ChannelExpiration, id, granted.Expiration, ""))
		return
	}
	t.add(func(s *Summary) { s.Renewed++ })
	p.publish(ctx, event.TypeRenewed, w, lifecycle(w, old, w.ChannelExpiration, id, granted.Expiration, ""))
	if !p.stopChannel(ctx, w, old, t) {
		t.add(func(s *Summary) { s.Remaining++ })
	}
}

// open stores a pending channel, asks Google for it, and activates it. On a
// transient error the channel stays pending: Google may have opened it, and
// the next pass stops it (see clearPending).
func (p *Pass) open(ctx context.Context, w store.Watch) (google.Granted, string, error) {
	address := w.Address
	if address == "" {
		address = p.opts.Address
	}
	if address == "" {
		return google.Granted{}, "", errNoAddress
	}
	now := p.opts.Now()
	token, err := newToken()
	if err != nil {
		return google.Granted{}, "", err
	}
	c := store.Channel{
		ID:        uuid.NewString(),
		WatchID:   w.ID,
		Kind:      w.Kind,
		TokenHash: store.HashToken(token),
		// What we ask for bounds what Google grants, so if we never hear
		// the answer, past this the channel is known gone at Google.
		Expiration: google.RequestedExpiration(w, now),
		State:      store.ChannelPending,
		Labels:     w.Labels,
		CreatedAt:  now,
	}
	if err := p.store.CreateChannel(ctx, c); err != nil {
		return google.Granted{}, "", fmt.Errorf("renew: store pending channel: %w", err)
	}
	req := google.ChannelRequest{ID: c.ID, Token: token, Address: address, Expiration: c.Expiration}
	var granted google.Granted
	err = p.call(ctx, func(ctx context.Context) (err error) {
		granted, err = p.google.Watch(ctx, w, req)
		return err
	})
	if err != nil {
		if google.Classify(err) != google.ClassTransient {
			// Google refused: no channel exists, nothing to stop.
			p.finish(ctx, c.ID, store.ChannelFailed)
		}
		return google.Granted{}, "", err
	}
	if granted.Expiration.IsZero() {
		granted.Expiration = req.Expiration
	}
	// Activation also retires the old channel, in the same transaction: once
	// the watch names the new one, the old one is stopping, whatever happens
	// next, and the next pass stops it if this one cannot.
	now = p.opts.Now()
	if err := p.store.ActivateChannel(ctx, c.ID, granted.ResourceID, granted.ResourceURI, granted.Expiration, now.Add(p.opts.Grace), now); err != nil {
		// The channel is live at Google and recorded as pending, without
		// a watch pointing at it: the next pass's cleanup stops it.
		return google.Granted{}, "", fmt.Errorf("renew: activate channel: %w", err)
	}
	return granted, c.ID, nil
}

// errNoAddress is a configuration error: the watch cannot be served.
var errNoAddress = errors.New("renew: no webhook address: set WATCHRELAY_ADDRESS or the watch's address")

// fail records why a watch could not get a channel. A transient error leaves
// the watch due, so the next pass tries again; a terminal one ends the watch
// as gone or failed, stops its channel and says so in an event.
func (p *Pass) fail(ctx context.Context, w store.Watch, err error, t *tally) {
	class := google.ClassFailed
	reason := err.Error()
	if !errors.Is(err, errNoAddress) {
		class, reason = google.Classify(err), google.Reason(err)
	}
	now := p.opts.Now()
	u := store.WatchUpdate{LastError: &reason, Failures: store.Ptr(w.Failures + 1)}
	if class == google.ClassTransient {
		p.log.Warn("renewal deferred", "watch", w.ID, "kind", w.Kind, "error", reason)
		t.add(func(s *Summary) { s.Remaining++ })
		if err := p.store.UpdateWatch(ctx, w.ID, u, now); err != nil {
			p.log.Error("record failure", "watch", w.ID, "error", err)
		}
		return
	}
	state, typ := store.WatchFailed, event.TypeFailed
	if class == google.ClassGone {
		state, typ = store.WatchGone, event.TypeGone
	}
	p.log.Error("watch ended", "watch", w.ID, "kind", w.Kind, "state", state, "error", reason)
	u.State, u.ChannelID, u.ChannelExpiration = &state, store.Ptr(""), &time.Time{}
	if err := p.store.UpdateWatch(ctx, w.ID, u, now); err != nil {
		p.log.Error("record failure", "watch", w.ID, "error", err)
	}
	t.add(func(s *Summary) {
		if class == google.ClassGone {
			s.Gone++
		} else {
			s.Failed++
		}
	})
	p.publish(ctx, typ, w, lifecycle(w, w.ChannelID, w.ChannelExpiration, "", time.Time{}, reason))
	if w.ChannelID != "" && w.ChannelExpiration.After(now) && !p.stopChannel(ctx, w, w.ChannelID, t) {
		t.add(func(s *Summary) { s.Remaining++ })
	}
}

// purge stops a removed watch's channel and deletes the watch.
func (p *Pass) purge(ctx context.Context, w store.Watch, t *tally) {
	if w.State != store.WatchDeleted {
		return
	}
	if w.ChannelID != "" {
		if w.ChannelExpiration.After(p.opts.Now()) {
			if !p.stopChannel(ctx, w, w.ChannelID, t) {
				t.add(func(s *Summary) { s.Remaining++ })
				return
			}
		} else {
			p.retire(ctx, w.ChannelID, store.ChannelExpired)
		}
	}
	// The event goes out before the record goes: if the pass dies between
	// the two, the next pass purges again and publishes the same event id
	// again, which consumers dedupe; the other order would lose it.
	p.publish(ctx, event.TypeStopped, w, lifecycle(w, w.ChannelID, w.ChannelExpiration, "", time.Time{}, ""))
	if err := p.store.DeleteWatch(ctx, w.ID); err != nil {
		p.log.Error("purge watch", "watch", w.ID, "error", err)
		t.add(func(s *Summary) { s.Remaining++ })
		return
	}
	t.add(func(s *Summary) { s.Stopped++ })
}

// stopChannel retires a channel (stopping, accepted for the grace period),
// stops it at Google and marks it stopped. It reports whether the channel is
// known stopped; if not, it stays stopping for the next pass.
func (p *Pass) stopChannel(ctx context.Context, w store.Watch, id string, t *tally) bool {
	c, err := p.store.Channel(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	if err != nil {
		p.log.Error("read channel to stop", "channel", id, "error", err)
		return false
	}
	switch c.State {
	case store.ChannelStopped, store.ChannelExpired, store.ChannelFailed:
		return true // an earlier pass finished it
	case store.ChannelStopping:
	default:
		if !p.retire(ctx, id, store.ChannelStopping) {
			return false
		}
	}
	return p.stopAtGoogle(ctx, w, c, t)
}

// retire marks a channel stopping or expired and keeps accepting its
// notifications for the grace period: Google may still retry real changes.
func (p *Pass) retire(ctx context.Context, id string, state store.ChannelState) bool {
	if err := p.store.UpdateChannel(ctx, id, p.retirement(state)); err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.Error("retire channel", "channel", id, "error", err)
		return false
	}
	return true
}

// retirement is the update that retires a channel into state.
func (p *Pass) retirement(state store.ChannelState) store.ChannelUpdate {
	now := p.opts.Now()
	u := store.ChannelUpdate{State: &state, AcceptUntil: store.Ptr(now.Add(p.opts.Grace))}
	if state == store.ChannelExpired {
		u.DeleteAt = store.Ptr(now.Add(store.Retention))
	}
	return u
}

// stopAtGoogle calls channels.stop for a retired channel and records the
// outcome. Google's 404 means it is stopped already.
func (p *Pass) stopAtGoogle(ctx context.Context, w store.Watch, c store.Channel, t *tally) bool {
	err := p.call(ctx, func(ctx context.Context) error {
		return p.google.Stop(ctx, w, c.ID, c.ResourceID)
	})
	if err != nil && !google.IsNotFound(err) {
		p.log.Warn("channel not stopped; the next pass tries again", "channel", c.ID, "watch", c.WatchID, "error", google.Reason(err))
		return false
	}
	p.finish(ctx, c.ID, store.ChannelStopped)
	t.add(func(s *Summary) { s.ChannelsStopped++ })
	return true
}

// finish records a channel's last state and when its record may go.
func (p *Pass) finish(ctx context.Context, id string, state store.ChannelState) {
	now := p.opts.Now()
	u := store.ChannelUpdate{State: &state, DeleteAt: store.Ptr(now.Add(store.Retention))}
	if state == store.ChannelStopped {
		u.StoppedAt = &now
	}
	if err := p.store.UpdateChannel(ctx, id, u); err != nil {
		p.log.Error("record channel state", "channel", id, "state", state, "error", err)
	}
}

// finishStop completes a stop that an earlier pass began.
func (p *Pass) finishStop(ctx context.Context, c store.Channel, t *tally) {
	p.stopOrphan(ctx, p.owner(ctx, c), c, t)
}

// clearPending handles a watch's channels left pending by passes that
// crashed or failed transiently between storing and activating them. Under
// the watch's lease no other pass is opening them, so they are orphans:
// Google may have opened them.
func (p *Pass) clearPending(ctx context.Context, watchID string, pending []store.Channel, t *tally) {
	now := p.opts.Now()
	w, err := p.store.LeaseWatch(ctx, watchID, now, now.Add(p.opts.Lease))
	switch {
	case errors.Is(err, store.ErrLeased):
		return // in flight in another pass
	case errors.Is(err, store.ErrNotFound):
		w = store.Watch{ID: watchID, Kind: pending[0].Kind}
	case err != nil:
		t.add(func(s *Summary) { s.Remaining += len(pending) })
		return
	default:
		defer p.release(ctx, w.ID)
	}
	for _, c := range pending {
		// Re-read: the lease guarantees no one changes it now.
		c, err := p.store.Channel(ctx, c.ID)
		if err == nil && c.State == store.ChannelPending {
			p.stopOrphan(ctx, w, c, t)
		}
	}
}

// stopOrphan stops a channel of w's that serves no one: pending with no pass
// opening it, or stopping. Its expiration, as Google granted it or, while
// pending, as asked (which bounds the grant), says when it is gone at Google
// by itself. channels.stop needs the resource id, from the watch call or the
// sync; without one, that of the watch's current channel serves, since
// Google's resource ids name the resource, not the channel. Without any, the
// channel is left as it is until the watch's next channel names the resource
// or the channel expires: a stop with a wrong resource id is answered 404,
// which would read as stopped.
func (p *Pass) stopOrphan(ctx context.Context, w store.Watch, c store.Channel, t *tally) {
	if !c.Expiration.After(p.opts.Now()) {
		p.finish(ctx, c.ID, store.ChannelExpired)
		return
	}
	if c.ResourceID == "" {
		c.ResourceID = p.currentResource(ctx, w)
	}
	if c.ResourceID == "" {
		p.log.Warn("orphaned channel waits for its resource id or its expiration", "channel", c.ID, "watch", c.WatchID, "state", c.State)
		t.add(func(s *Summary) { s.Remaining++ })
		return
	}
	if c.State == store.ChannelPending {
		// Stopping, with the resource id to stop it by, before Google is
		// called: if the stop fails or the pass dies, the next pass
		// finishes it as any stopping channel.
		u := p.retirement(store.ChannelStopping)
		u.ResourceID = &c.ResourceID
		if err := p.store.UpdateChannel(ctx, c.ID, u); err != nil {
			p.log.Error("retire channel", "channel", c.ID, "error", err)
			t.add(func(s *Summary) { s.Remaining++ })
			return
		}
	}
	if !p.stopAtGoogle(ctx, w, c, t) {
		t.add(func(s *Summary) { s.Remaining++ })
	}
}

// currentResource returns the resource id of w's current channel, or "".
func (p *Pass) currentResource(ctx context.Context, w store.Watch) string {
	if w.ChannelID == "" {
		return ""
	}
	cur, err := p.store.Channel(ctx, w.ChannelID)
	if err != nil {
		return ""
	}
	return cur.ResourceID
}

// owner returns a channel's watch, for the credentials (subject) a stop
// needs; a purged watch leaves only what the channel knows.
func (p *Pass) owner(ctx context.Context, c store.Channel) store.Watch {
	w, err := p.store.Watch(ctx, c.WatchID)
	if err != nil {
		return store.Watch{ID: c.WatchID, Kind: c.Kind}
	}
	return w
}

// call makes one Google call under the rate limit, retrying transient errors
// with exponential backoff while the pass has time. Each wait is the step
// jittered by ±50%, not "full jitter" (anywhere from zero): with only a few
// attempts, a retry must still wait for Google to recover, while the jitter
// keeps the workers that failed together from retrying together.
func (p *Pass) call(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := range p.opts.Attempts {
		if werr := p.limiter.Wait(ctx); werr != nil {
			if err == nil {
				err = werr
			}
			return err
		}
		if err = f(ctx); err == nil || google.Classify(err) != google.ClassTransient {
			return err
		}
		if attempt == p.opts.Attempts-1 {
			break
		}
		backoff := p.opts.Backoff << attempt
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff/2 + mrand.N(backoff)):
		}
	}
	return err
}

// publish sends a lifecycle event. The pass's work is already durable when
// it publishes, so a failure is logged, not undone.
func (p *Pass) publish(ctx context.Context, typ string, w store.Watch, data event.LifecycleData) {
	channel := data.NewChannelID
	if channel == "" {
		channel = data.OldChannelID
	}
	e := event.Event{
		ID:      w.ID + "/" + typ + "/" + channel,
		Source:  "//watchrelay/watches/" + w.ID,
		Type:    typ,
		Subject: w.ID,
		Time:    p.opts.Now(),
		WatchID: w.ID,
		Kind:    w.Kind,
		Data:    data,
	}
	if err := p.events.Publish(ctx, e); err != nil {
		p.log.Error("lifecycle event not published", "watch", w.ID, "type", typ, "error", err)
	}
}

func lifecycle(w store.Watch, oldID string, oldExp time.Time, newID string, newExp time.Time, reason string) event.LifecycleData {
	d := event.LifecycleData{
		WatchID:      w.ID,
		Kind:         w.Kind,
		Params:       w.Params,
		Labels:       w.Labels,
		OldChannelID: oldID,
		NewChannelID: newID,
		Error:        reason,
	}
	if oldID != "" && !oldExp.IsZero() {
		d.OldExpiration = &oldExp
	}
	if newID != "" {
		d.NewExpiration = &newExp
	}
	return d
}

// newToken returns a fresh channel token: 32 random bytes, base64url.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("renew: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
