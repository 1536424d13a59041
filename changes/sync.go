package changes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/config"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/internal/wait"
	"github.com/watchrelay/watchrelay/store"
)

// Store is what Sync needs of the store: the watch a notification names,
// its cursor, the claims of the admin kinds' bodies, and the end of a
// watch Google refused, whose event goes through the outbox.
type Store interface {
	Watch(ctx context.Context, id string) (store.Watch, error)
	WatchesOf(ctx context.Context, kind, subject string) ([]store.Watch, error)
	EndWatch(ctx context.Context, e store.End) (store.Channel, bool, error)
	Forget(ctx context.Context, published []string, channelID string, u store.ChannelUpdate) error
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
	Cursor(ctx context.Context, watchID string) (store.Cursor, error)
	WantSync(ctx context.Context, c store.SyncClaim) (store.Cursor, bool, error)
	AdvanceCursor(ctx context.Context, watchID, holder string, at store.Position, until, now time.Time) error
	FinishSync(ctx context.Context, fi store.Finish) (store.Cursor, bool, error)
	ReleaseSync(ctx context.Context, watchID, holder, lastError string, now time.Time) error
	ClaimBody(ctx context.Context, b store.BodyClaim) (store.Latest, store.Verdict, error)
}

// Reader reads one page of a watch's changes (google.APIs).
type Reader interface {
	ReadChanges(ctx context.Context, w store.Watch, req google.ReadRequest) (google.Page, error)
}

// Publisher sends events and returns once Pub/Sub has them all.
type Publisher interface {
	PublishAll(ctx context.Context, es []event.Event) error
}

// Options tune a Syncer; zero values take config.Defaults.
type Options struct {
	// Debounce is waited before each fetch, so a storm's notifications
	// gather into one (WATCHRELAY_SYNC_DEBOUNCE). Zero fetches at once.
	Debounce time.Duration
	// Timeout bounds one Handle (WATCHRELAY_SYNC_TIMEOUT); the fetch lease
	// lasts a minute longer, so that a live holder is never overtaken.
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Syncer is the Sync function's logic. It is safe for concurrent use, and
// instances of it anywhere share the work through the store.
type Syncer struct {
	store Store
	read  Reader
	pub   Publisher
	opts  Options
	log   *slog.Logger
}

// New checks its dependencies and returns a Syncer. A zero Debounce is
// kept (no debounce), unlike the other options.
func New(s Store, r Reader, p Publisher, opts Options) (*Syncer, error) {
	if s == nil || r == nil || p == nil {
		return nil, errors.New("changes: New needs a store, a reader and a publisher")
	}
	if opts.Debounce < 0 {
		return nil, fmt.Errorf("changes: negative debounce %v", opts.Debounce)
	}
	opts.Timeout = cmp.Or(opts.Timeout, config.Defaults.SyncTimeout)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Syncer{store: s, read: r, pub: p, opts: opts, log: opts.Logger}, nil
}

// Trigger is one reason to sync a watch: a notification event, or a person
// asking (watch sync), which has no message and no notification.
type Trigger struct {
	WatchID string
	// Message is the Pub/Sub message id of the notification event; a
	// redelivery of the message that started a fetch takes that fetch
	// over (see store.SyncClaim).
	Message      string
	Notification event.NotificationData
}

// Outcome says what Handle did, for logs and the CLI.
type Outcome struct {
	// Skipped says why nothing was read: the watch is gone from the
	// store, not active, or opted out of changes.
	Skipped string `json:"skipped,omitempty"`
	// Joined: another request holds the watch's fetch; it counted this
	// notification and will fetch again for it.
	Joined bool `json:"joined,omitempty"`
	// Fetches and Published count the fetches run and change events sent.
	Fetches   int  `json:"fetches"`
	Published int  `json:"published"`
	Resynced  bool `json:"resynced,omitempty"`
	// Ended is the state a watch was put in when Google refused it for
	// good (failed or gone).
	Ended store.WatchState `json:"ended,omitempty"`
}

// skippedNoWatch is why a notification of a watch not in the store is
// read for nothing.
const skippedNoWatch = "no such watch"

// ErrTransient wraps every error after which the trigger must be delivered
// again (a 5xx from Google, a rate limit, the store or Pub/Sub down): the
// push handler answers 503, the pull subscriber nacks.
var ErrTransient = errors.New("changes: transient failure, deliver again")

// Handle syncs the watch a trigger names. A nil error means the trigger may
// be acknowledged: its changes are published, or will be by the request
// that holds the watch's fetch, or there is nothing to read.
func (s *Syncer) Handle(ctx context.Context, t Trigger) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	w, err := s.store.Watch(ctx, t.WatchID)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidID):
		return Outcome{Skipped: skippedNoWatch}, nil
	case err != nil:
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	case w.State != store.WatchActive:
		return Outcome{Skipped: "watch is " + string(w.State)}, nil
	}
	switch NoCursor(w) {
	case "":
		return s.coalesce(ctx, w, t)
	case noCursorChangesOff:
		return Outcome{Skipped: "watch has changes off"}, nil
	}
	if google.FromBody(w.Kind) {
		return s.fromBody(ctx, w, t.Notification)
	}
	return Outcome{Skipped: "kind has no change reads: its events carry the resource"}, nil
}

const (
	noCursorChangesOff = "changes off"
	noCursorNoReads    = "no change reads"
)

// NoCursor says why Sync keeps no cursor for an active watch, and so
// records none of its notifications (store.Cursor.NotifiedAt): its changes
// are off, or its kind has none to read (the notification carries the
// item, or Workspace's events the resource). "" when Sync reads w's
// changes from a cursor. Handle and watchrelay status both decide by it.
func NoCursor(w store.Watch) string {
	switch {
	case !w.WantsChanges():
		return noCursorChangesOff
	case google.FromBody(w.Kind) || !google.Reads(w.Kind):
		return noCursorNoReads
	}
	return ""
}

// Retry makes the read a failed or cut-off one left owed (store.Cursor.Owed):
// Renew's pass calls it for the cursors it finds owed, so that a read whose
// trigger will not come again (a `watch sync` that failed, a message
// dead-lettered, a holder that died) is made all the same. A watch that
// needs no read any more (removed, ended, changes off) has its cursor
// settled instead, so it is not found owed again.
func (s *Syncer) Retry(ctx context.Context, watchID string) error {
	out, err := s.Handle(ctx, Trigger{WatchID: watchID})
	if err != nil || out.Skipped == "" {
		return err
	}
	holder := uuid.NewString()
	c, held, err := s.store.WantSync(ctx, store.SyncClaim{WatchID: watchID, Holder: holder, Until: s.leaseEnd(), Now: s.opts.Now()})
	if err != nil || !held {
		return err
	}
	_, _, err = s.store.FinishSync(ctx, store.Finish{WatchID: watchID, Holder: holder, Seen: c.Wanted, At: c.At(),
		Until: s.leaseEnd(), Now: s.opts.Now()})
	return err
}

// fromBody publishes the item an admin notification carries: the body is
// the resource, so there is nothing to read, and every notification is its
// own change. The sync message carries none. A body older than the one
// published last for its item (store.BodyClaim, by the channel's message
// number) is dropped: published, it would stand as the item's last word.
func (s *Syncer) fromBody(ctx context.Context, w store.Watch, n event.NotificationData) (Outcome, error) {
	if n.ResourceState == "sync" {
		return Outcome{Skipped: "sync message"}, nil
	}
	item, err := google.BodyItem(w.Kind, n.ResourceState, n.Body)
	if err != nil {
		// A redelivery cannot mend a body; the notification event
		// itself is on the topic for whoever wants it.
		s.log.Warn("notification body is not the resource", "watch", w.ID, "kind", w.Kind, "error", err)
		return Outcome{Skipped: "body is not the resource"}, nil
	}
	if google.Mutable(w.Kind) {
		newer, err := s.latest(ctx, w, n, item)
		if err != nil {
			return Outcome{}, err
		}
		if !newer {
			return Outcome{Skipped: "a newer body of the item was published"}, nil
		}
	}
	if err := s.pub.PublishAll(ctx, []event.Event{s.change(w, item)}); err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	return Outcome{Published: 1}, nil
}

// latest claims item's body as the latest of the item before it is
// published (see store.Memory.ClaimBody), and reports whether it is to be
// published: false, logged, when a newer body was published already.
func (s *Syncer) latest(ctx context.Context, w store.Watch, n event.NotificationData, item google.Item) (bool, error) {
	b := store.BodyClaim{WatchID: w.ID, ItemID: item.ID, Version: item.Version,
		ChannelID: n.ChannelID, Number: n.MessageNumber, Current: w.ChannelID, Now: s.opts.Now()}
	if n.ChannelExpiration != nil {
		b.Expiration = *n.ChannelExpiration
	}
	l, v, err := s.store.ClaimBody(ctx, b)
	switch {
	case errors.Is(err, store.ErrInvalidID):
		// No channel to order by (Receive always records one): a
		// redelivery cannot mend it, so the body goes out unordered.
		s.log.Warn("body not ordered", "watch", w.ID, "kind", w.Kind, "item", item.ID, "error", err)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	if v == store.BodyOlder {
		s.log.Info("older body dropped", "watch", w.ID, "kind", w.Kind, "item", item.ID,
			"channel", n.ChannelID, "messageNumber", n.MessageNumber,
			"latestChannel", l.ChannelID, "latestMessageNumber", l.MessageNumber)
		return false, nil
	}
	return true, nil
}

// leaseEnd is when a lease on a watch's cursor taken now ends: a minute
// past the request's own timeout, so a live holder is never overtaken.
func (s *Syncer) leaseEnd() time.Time { return s.opts.Now().Add(s.opts.Timeout + time.Minute) }

// coalesce takes a turn at the watch's fetch. A notification that a live
// holder's coming read covers is acknowledged after one read (see
// store.Cursor.Covers); any other is counted and, if no one else is
// fetching, takes the lease with its read's start (the debounce's end) in
// the same write, and fetches until no notification came in during the
// last fetch. A redelivery of the holder's own message takes the fetch
// over.
func (s *Syncer) coalesce(ctx context.Context, w store.Watch, t Trigger) (Outcome, error) {
	c, err := s.store.Cursor(ctx, w.ID)
	if err == nil && c.Covers(s.opts.Now()) && (t.Message == "" || t.Message != c.Message) {
		return Outcome{Joined: true}, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	debounce := s.opts.Debounce
	if t.Message == "" {
		debounce = 0 // a person or Renew asked: now
	}
	holder := uuid.NewString()
	until := s.leaseEnd
	now := s.opts.Now()
	c, held, err := s.store.WantSync(ctx, store.SyncClaim{
		WatchID: w.ID, Holder: holder, Message: t.Message, Until: until(), Now: now, Begins: now.Add(debounce),
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrTransient, err)
	}
	switch {
	case !held && t.Message != "" && t.Message == c.Message:
		// A redelivery of the holder's own message, while the holder
		// wrote lately (store.TakeoverQuiet): it may still be
		// publishing, so the takeover waits for Pub/Sub's next try.
		return Outcome{}, fmt.Errorf("%w: the read this message started may still be running", ErrTransient)
	case !held:
		return Outcome{Joined: true}, nil
	}
	f := &fetch{Syncer: s, w: w, holder: holder, until: until, debounce: debounce,
		start: google.PageTokenOfURI(t.Notification.ResourceURI)}
	return f.loop(ctx, c)
}

// loop fetches under the lease claimed as c, each time after the debounce
// (the read's start the claim or the last finish wrote, Fetching, is the
// debounce's end by this clock), until a fetch finds that no notification
// came during it and gives the lease back.
func (f *fetch) loop(ctx context.Context, c store.Cursor) (Outcome, error) {
	for !f.released {
		if err := wait.Sleep(ctx, f.debounce); err != nil {
			return f.fail(ctx, err)
		}
		var err error
		if c, err = f.once(ctx, c); err != nil {
			return f.fail(ctx, err)
		}
	}
	return f.out, nil
}
