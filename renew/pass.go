// Package renew is watchrelay's reconcile pass: it makes Google's
// notification channels match the watches/ collection. One pass starts a
// channel for every new watch, replaces every channel that expires soon,
// restarts lapsed ones, stops and purges watches the user removed, and
// finishes whatever a crashed pass left half done.
//
// A reader follows a renewal through the files in order: pass.go (the pass
// and its phases), find.go (what it reads), open.go (claiming a due
// watch, opening its new channel, what a failure does), stop.go (retiring
// and stopping channels, orphans, purges), mailbox.go (Gmail mailboxes
// shared by watches), call.go (Google calls under the rate limit,
// throttling, events), baseline.go (Sync's part: first cursors and owed
// reads) and manage.go (what a person asks for).
//
// Every step of a renewal is durable before the next one starts, in the order
// docs/DESIGN.md gives: the new channel is stored pending, in the same commit
// as the claim on its watch, before Google is asked for it (a sync may
// arrive first); it is active and named by its watch, and the old channel
// retired, in one transaction, before the old one is stopped. A crash
// between any two steps leaves records the next pass completes (an orphan
// whose resource id was never heard of waits for the watch's next channel to
// name the resource, one pass more), so no path leaves a watch without a live
// channel or a live channel without a record.
package renew

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// Watches is the part of the store a pass reads and writes watches through.
type Watches interface {
	Watch(ctx context.Context, id string) (store.Watch, error)
	DueWatches(ctx context.Context, now time.Time, after store.Watch, limit int) ([]store.Watch, error)
	Watches(ctx context.Context, state store.WatchState, limit int) ([]store.Watch, error)
	LeaseWatch(ctx context.Context, id string, l store.Lease, now time.Time, open func(store.Watch) (store.Channel, bool)) (store.Watch, error)
	ReleaseWatch(ctx context.Context, id, holder string, u store.WatchUpdate, now time.Time, events ...store.OutboxEvent) error
	EndWatch(ctx context.Context, e store.End) (store.Channel, bool, error)
	UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error
	DeleteWatch(ctx context.Context, id string, events ...store.OutboxEvent) error
}

// Channels is the part of the store a pass keeps channels in.
type Channels interface {
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
	ActivateChannel(ctx context.Context, a store.Activation) error
	ChannelsByState(ctx context.Context, state store.ChannelState, before time.Time, limit int) ([]store.Channel, error)
}

// Passes is where a pass records itself, for `watchrelay status`.
type Passes interface {
	RecordPass(ctx context.Context, p store.PassRecord) error
}

// Store is everything a pass needs of the store; *store.Memory and
// *store.Firestore both are one.
type Store interface {
	Watches
	Channels
	Mailboxes
	Strays
	Passes
	Outbox
	Cursors
	DueSweep
}

// Publisher sends lifecycle events; *event.Publisher is one.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Options bound and tune a pass. Zero values take the defaults noted; the
// configurable ones come from config.Defaults, their one source.
type Options struct {
	// Address is the webhook URL for watches that name none.
	Address string
	// GmailTopic and EventsTopic are the full names (projects/P/topics/T)
	// of the topics the Pub/Sub kinds deliver to: Gmail's users.watch to
	// watchrelay's inbound Gmail topic, a Workspace Events subscription to
	// the events topic itself (google.DeliverGmail, DeliverEvents).
	GmailTopic, EventsTopic string
	// RenewBefore: a channel is replaced this long before it expires, or
	// at half its lifetime when that comes later (google.RenewThreshold).
	RenewBefore time.Duration
	// Grace: a retired channel's notifications are accepted this long.
	Grace time.Duration
	// Concurrency bounds the watches worked on at once.
	Concurrency int
	// QPS bounds Google API calls per second, token bucket.
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
	// Lease is how long a claim holds a watch. By default it is the time
	// left to the pass's deadline plus a minute: no work of the pass runs
	// past its deadline, and every Google call ends within CallTimeout.
	// Tests shorten it to make a claim lapse under a slow call.
	Lease time.Duration
	// CallTimeout bounds each Google call (default 30s), so a call that
	// hangs cannot hold a watch for the whole pass.
	CallTimeout time.Duration
	// Attempts for a channels.stop that fails ambiguously (default 3),
	// with exponential backoff from Backoff (default 200ms), jittered by
	// ±50%. A watch call is made once per claim: retrying its channel id
	// after an ambiguous outcome would meet Google's refusal of a reused
	// id, and an answer needs no retry in the same pass.
	Attempts int
	Backoff  time.Duration
	// RetryBase is the first wait of a watch whose renewal failed
	// transiently (default 5m), doubled per failure up to RetryMax
	// (default 1h), or Google's Retry-After when longer: a throttled API
	// is not asked again by every pass.
	RetryBase time.Duration
	RetryMax  time.Duration
	// OrphanShare is the share of a pass's time after which no more
	// orphaned channels are claimed (default 0.25), so that leftovers
	// never crowd out renewals.
	OrphanShare float64
	// MaxWork caps what one pass reads of each kind of work (default
	// 100000); the pass's capacity (what its rate and time let it hand
	// out) caps it first, unless it is smaller.
	MaxWork int
	// MaxStrays caps the strays one pass stops (default 20): anyone can
	// post notifications of made-up channels, and what they cost Google
	// calls is bounded by this.
	MaxStrays int
	// Changes, when set, takes a watch's first cursor before its first
	// channel opens, and makes the reads failed ones left owed (see
	// Changes); the service sets Sync.
	Changes Changes
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
	// swept: the store's due sweep is done (see sweepDue).
	swept atomic.Bool
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
	def(&opts.RenewBefore, config.Defaults.RenewBefore)
	def(&opts.Grace, config.Defaults.Grace)
	def(&opts.Budget, 4*time.Minute)
	def(&opts.CallTimeout, 30*time.Second)
	def(&opts.Backoff, 200*time.Millisecond)
	def(&opts.RetryBase, 5*time.Minute)
	def(&opts.RetryMax, time.Hour)
	if opts.Concurrency <= 0 {
		opts.Concurrency = config.Defaults.RenewConcurrency
	}
	if opts.QPS <= 0 {
		opts.QPS = config.Defaults.RenewQPS
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.OrphanShare <= 0 || opts.OrphanShare > 1 {
		opts.OrphanShare = 0.25
	}
	if opts.MaxWork <= 0 {
		opts.MaxWork = 100000
	}
	if opts.MaxStrays <= 0 {
		opts.MaxStrays = 20
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
// for the next pass: transient failures, channels it could not stop yet,
// and what the deadline cut off. Due work the pass did not read (it reads
// the due watches a page at a time as it works, and no more than its
// capacity) counts as one: Remaining > 0 then says that more is due, not
// how much. A watch waiting out a backoff is not read before its retry
// time (store.Watch.DueAt), so it is counted only by the pass that
// deferred it. Watches another pass holds the lease
// of are not counted: they are that pass's work, in its summary, and two
// overlapping passes would count them twice. Deferred says why watches were
// left (reason → watches), Throttled which APIs asked the pass to slow down.
// Dated counts the watches from before dueAt the due sweep gave it
// (sweepDue).
type Summary struct {
	Started         int            `json:"started"`
	Renewed         int            `json:"renewed"`
	Stopped         int            `json:"stopped"`
	Lapsed          int            `json:"lapsed"`
	Failed          int            `json:"failed"`
	Gone            int            `json:"gone"`
	Remaining       int            `json:"remaining"`
	ChannelsStopped int            `json:"channelsStopped"`
	StraysStopped   int            `json:"straysStopped,omitempty"`
	OwedReads       int            `json:"owedReads,omitempty"` // reads made for owed cursors (Changes.Retry)
	Dated           int            `json:"dated,omitempty"`
	Deferred        map[string]int `json:"deferred,omitempty"`
	Throttled       []string       `json:"throttled,omitempty"`
}

// Idle reports whether the pass found nothing to do.
func (s Summary) Idle() bool {
	return s.Started+s.Renewed+s.Stopped+s.Lapsed+s.Failed+s.Gone+s.Remaining+s.ChannelsStopped+s.StraysStopped+s.OwedReads+s.Dated == 0 &&
		len(s.Deferred) == 0 && len(s.Throttled) == 0
}

// JSON renders the summary as Renew answers it.
func (s Summary) JSON() []byte {
	b, _ := json.Marshal(s) // ints, strings and a map of them always marshal
	return b
}

// run is one pass at work: what it has done so far, shared by its workers,
// and the APIs that asked it to slow down.
type run struct {
	*Pass
	leaseFor time.Duration // how long a claim holds a watch

	mu        sync.Mutex
	sum       Summary
	throttled map[string]bool
}

func (r *run) add(f func(*Summary)) {
	r.mu.Lock()
	f(&r.sum)
	r.mu.Unlock()
}

// remaining counts work left for the next pass.
func (r *run) remaining(n int) { r.add(func(s *Summary) { s.Remaining += n }) }

// Run runs one pass and records it (store.PassRecord) for `watchrelay
// status`. It returns an error only when the pass could not run at all (the
// store could not be queried); a watch that fails is counted and reported as
// an event, not returned.
func (p *Pass) Run(ctx context.Context) (Summary, error) {
	start, began := p.opts.Now(), time.Now()
	sum, err := p.run(ctx)
	rec := store.PassRecord{StartedAt: start, DurationMs: time.Since(began).Milliseconds()}
	if err != nil {
		rec.Error = err.Error()
	} else {
		_ = json.Unmarshal(sum.JSON(), &rec.Summary) // a Summary's JSON is an object
	}
	// Recorded even when the pass's own deadline has passed: a pass that
	// ran out of time is the one an operator needs to hear of.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rerr := p.store.RecordPass(rctx, rec); rerr != nil {
		p.log.Error("pass not recorded", "error", rerr)
	}
	return sum, err
}

func (p *Pass) run(ctx context.Context) (Summary, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		deadline = time.Now().Add(p.opts.Budget)
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	start := time.Now()
	margin := p.opts.Margin
	if margin <= 0 {
		// From the pass's own length, not Budget: a short function timeout
		// must not be eaten whole by a margin sized for the default budget.
		margin = min(30*time.Second, time.Until(deadline)/10)
	}
	claimUntil := deadline.Add(-margin)
	r := &run{Pass: p, leaseFor: p.opts.Lease, throttled: map[string]bool{}}
	if r.leaseFor <= 0 {
		r.leaseFor = time.Until(deadline) + time.Minute
	}

	r.sweepDue(ctx, p.capacity(claimUntil))
	// After the sweep: the time it took is no longer the pass's to hand out.
	limit := p.capacity(claimUntil)
	f, err := p.find(ctx, limit)
	if err != nil {
		return Summary{}, err
	}

	// Three phases, each done before the next starts. Orphans first: they
	// are live at Google with nothing serving them; but only for a share of
	// the pass, so that leftovers on a throttled API cannot crowd out the
	// renewals. Clearing pending ones holds their watch's lease, so the
	// purges and renewals, which take the same leases, come after: run
	// beside it, they would find the watch leased and skip it. For the same
	// reason a watch's pending orphans are cleared together, under one
	// lease. And a watch's orphans are cleared before the watch gets a new
	// channel.
	var orphans, purges []func(context.Context)
	for _, c := range atMost(r, f.stopping, limit) {
		orphans = append(orphans, func(ctx context.Context) { r.finishStop(ctx, c) })
	}
	for _, cs := range byWatch(atMost(r, f.pending, limit)) {
		orphans = append(orphans, func(ctx context.Context) { r.clearPending(ctx, cs[0].WatchID, cs) })
	}
	for _, s := range f.strays {
		orphans = append(orphans, func(ctx context.Context) { r.stopStray(ctx, s) })
	}
	for _, d := range atMost(r, f.deleted, limit) {
		purges = append(purges, func(ctx context.Context) { r.withLease(ctx, d.ID, r.purge) })
	}
	r.drain(ctx, f.outbox)
	orphansUntil := start.Add(time.Duration(float64(claimUntil.Sub(start)) * p.opts.OrphanShare))
	r.runAll(ctx, orphans, orphansUntil)
	r.runAll(ctx, purges, claimUntil)
	r.renewDue(ctx, f.due, claimUntil)
	// Owed reads last: a renewal keeps a channel from lapsing, and an
	// owed read loses nothing by waiting a pass.
	r.runAll(ctx, r.owed(f.owed), claimUntil)

	r.mu.Lock()
	defer r.mu.Unlock()
	for api := range r.throttled {
		r.sum.Throttled = append(r.sum.Throttled, api)
	}
	slices.Sort(r.sum.Throttled)
	return r.sum, nil
}

// runAll runs jobs, at most Concurrency at once, claiming none after
// claimUntil; what it leaves is counted as remaining.
func (r *run) runAll(ctx context.Context, jobs []func(context.Context), claimUntil time.Time) {
	i := 0
	r.runEach(ctx, claimUntil, func(context.Context) (func(context.Context), bool) {
		if i == len(jobs) {
			return nil, false
		}
		i++
		return jobs[i-1], true
	}, func() int { return len(jobs) - i })
}

// renewDue renews the due watches the feed hands out, as runAll runs jobs,
// so that the feed reads its next page only as a worker is free for it.
func (r *run) renewDue(ctx context.Context, d *dueFeed, claimUntil time.Time) {
	r.runEach(ctx, claimUntil, func(ctx context.Context) (func(context.Context), bool) {
		w, ok := d.next(ctx)
		return func(ctx context.Context) { r.renew(ctx, w) }, ok
	}, d.unread)
	if d.err != nil {
		r.log.Error("due watches not read; the next pass reads them", "error", d.err)
	}
}

// runEach runs the jobs next hands out, at most Concurrency at once, taking
// the next only once a worker is free for it, and none after claimUntil;
// left counts what is not taken, which is remaining.
func (r *run) runEach(ctx context.Context, claimUntil time.Time, next func(context.Context) (func(context.Context), bool), left func() int) {
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		sem <- struct{}{}
		if !time.Now().Before(claimUntil) || ctx.Err() != nil {
			r.remaining(left())
			return
		}
		job, ok := next(ctx)
		if !ok {
			r.remaining(left())
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			job(ctx)
		})
	}
}

// farFuture is past any expiration: "every channel in this state".
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
