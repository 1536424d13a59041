package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Firestore is the production store: watches and channels as Firestore
// documents laid out as docs/DESIGN.md says. It behaves exactly like *Memory (the
// shared contract tests run both). Errors wrap ErrNotFound, ErrExists,
// ErrLeased or, when Firestore could not be reached or gave up,
// ErrUnavailable.
type Firestore struct {
	client   *firestore.Client
	watches  *firestore.CollectionRef
	channels *firestore.CollectionRef
	strays   *firestore.CollectionRef
	passes   *firestore.CollectionRef
	outbox   *firestore.CollectionRef
	cursors  *firestore.CollectionRef
	latest   *firestore.CollectionRef
	// cursorRevs: the cursors as this store last read or wrote them
	// (firestore_revs.go).
	cursorRevs revisions[Cursor]
}

// OpenFirestore connects to the given project's Firestore database ("" means
// "(default)"). Two stores are kept apart by database (a deployment) or by
// project (a test, internal/testing/backend), never inside one database.
// FIRESTORE_EMULATOR_HOST, when set, selects the emulator, as for every
// Google client library.
func OpenFirestore(ctx context.Context, project, database string, opts ...option.ClientOption) (*Firestore, error) {
	if project == "" {
		return nil, errors.New("store: project is empty")
	}
	if database == "" {
		database = firestore.DefaultDatabaseID
	}
	client, err := firestore.NewClientWithDatabase(ctx, project, database, append(clientOptions(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("store: open firestore: %w", err)
	}
	return &Firestore{
		client:   client,
		watches:  client.Collection(WatchesCollection),
		channels: client.Collection(ChannelsCollection),
		strays:   client.Collection(StraysCollection),
		passes:   client.Collection(PassesCollection),
		outbox:   client.Collection(OutboxCollection),
		cursors:  client.Collection(CursorsCollection),
		latest:   client.Collection(LatestCollection),
	}, nil
}

// watch and channel name a document, or say why none can have that id.
func (f *Firestore) watch(id string) (*firestore.DocumentRef, error) {
	return doc(f.watches, "watch", id)
}

func (f *Firestore) channel(id string) (*firestore.DocumentRef, error) {
	return doc(f.channels, "channel", id)
}

// doc names the document id of c, or, when no document can have that id
// (CheckID), says that there is none, as Memory does: a lookup of a forged
// id finds nothing rather than failing.
func doc(c *firestore.CollectionRef, what, id string) (*firestore.DocumentRef, error) {
	if err := CheckID(id); err != nil {
		return nil, fmt.Errorf("%s %q: %w (no document can have that id)", what, id, ErrNotFound)
	}
	return c.Doc(id), nil
}

// createDoc creates the document id of c (what names its kind) holding v:
// ErrInvalidID when no document can have that id, ErrExists when it is
// taken.
func createDoc(ctx context.Context, c *firestore.CollectionRef, what, id string, v any) error {
	if err := creatable(what, id); err != nil {
		return err
	}
	if _, err := c.Doc(id).Create(ctx, v); err != nil {
		return fail("create "+what+" "+id, err)
	}
	return nil
}

// getDoc reads the document id of c (what names its kind) and decodes it:
// ErrNotFound when there is none, or none can have that id.
func getDoc[T any](ctx context.Context, c *firestore.CollectionRef, what, id string, decode func(*firestore.DocumentSnapshot) (T, error)) (T, error) {
	var zero T
	ref, err := doc(c, what, id)
	if err != nil {
		return zero, err
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		return zero, fail("get "+what+" "+id, err)
	}
	return decode(snap)
}

// Close releases the client's connections.
func (f *Firestore) Close() error { return f.client.Close() }

// fail turns a Firestore error into one that wraps the store's sentinels,
// keeping the original for the message. An error the store made itself (a
// rule's refusal in a transaction: it wraps a kind) is already said in the
// store's terms and passes through unchanged.
func fail(what string, err error) error {
	if errors.As(err, new(kind)) {
		return err
	}
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case codes.AlreadyExists:
		return fmt.Errorf("%s: %w", what, ErrExists)
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Internal:
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	// The client returns the context's own error when a deadline runs out
	// between attempts; a caller's deadline is as good as an outage for
	// Receive (Google retries) and Renew (the next pass picks up).
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func decodeWatch(snap *firestore.DocumentSnapshot) (Watch, error) {
	w, err := decodeAs[Watch](snap, "watch")
	w.ID = snap.Ref.ID
	return w, err
}

func decodeChannel(snap *firestore.DocumentSnapshot) (Channel, error) {
	c, err := decodeAs[Channel](snap, "channel")
	c.ID = snap.Ref.ID
	return c, err
}

// decodeFound decodes snap if its document exists; found is false when it
// does not, or on an error.
func decodeFound[T any](snap *firestore.DocumentSnapshot, decode func(*firestore.DocumentSnapshot) (T, error)) (v T, found bool, err error) {
	if !snap.Exists() {
		return v, false, nil
	}
	v, err = decode(snap)
	return v, err == nil, err
}

// CreateWatch stores a new watch; ErrExists if the id is taken.
func (f *Firestore) CreateWatch(ctx context.Context, w Watch) error {
	return createDoc(ctx, f.watches, "watch", w.ID, w.normal())
}

// Watch returns one watch; ErrNotFound if there is none.
func (f *Firestore) Watch(ctx context.Context, id string) (Watch, error) {
	return getDoc(ctx, f.watches, "watch", id, decodeWatch)
}

// Watches returns the watches in the given state (every watch when state is
// empty), ordered by id, at most limit of them (no limit when zero or less).
func (f *Firestore) Watches(ctx context.Context, state WatchState, limit int) ([]Watch, error) {
	q := f.watches.OrderBy(firestore.DocumentID, firestore.Asc)
	if state != "" {
		// An equality filter ordered by document id needs no composite
		// index.
		q = f.watches.Where("state", "==", string(state)).OrderBy(firestore.DocumentID, firestore.Asc)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	return f.queryWatches(ctx, q, "list watches")
}

// DueWatches returns a page of the active watches due by now (DueAt at or
// before it), in due order (DueAt, then id), starting after the watch
// after (the last of the previous page; a zero Watch starts at the first),
// at most limit of them (no limit when zero or less). A pass pages through
// them as it works, so what it reads follows what it does, not the
// backlog.
func (f *Firestore) DueWatches(ctx context.Context, now time.Time, after Watch, limit int) ([]Watch, error) {
	return f.queryWatches(ctx, f.dueWatchesQuery(now, after, limit), "due watches")
}

// dueWatchesQuery is DueWatches' query, apart so that queries_test.go can
// check it against Indexes. Served by the first of Indexes, which ends in
// the document id as every index does.
func (f *Firestore) dueWatchesQuery(now time.Time, after Watch, limit int) firestore.Query {
	q := f.watches.Where("state", "==", string(WatchActive)).Where("dueAt", "<=", normal(now)).
		OrderBy("dueAt", firestore.Asc).OrderBy(firestore.DocumentID, firestore.Asc)
	if after.ID != "" {
		q = q.StartAfter(normal(after.DueAt), after.ID)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	return q
}

// expiring is the shape of ChannelsByState's query: the documents in one state
// whose expiration field is before a time, soonest first, at most limit of
// them (no limit when zero or less).
func expiring(c *firestore.CollectionRef, state, field string, before time.Time, limit int) firestore.Query {
	q := c.Where("state", "==", state).Where(field, "<", before).OrderBy(field, firestore.Asc)
	if limit > 0 {
		q = q.Limit(limit)
	}
	return q
}

func (f *Firestore) queryWatches(ctx context.Context, q firestore.Query, what string) ([]Watch, error) {
	return queryAll(ctx, q, what, decodeWatch)
}

// queryAll runs q and decodes every document it returns, in order; what
// names the query in an error.
func queryAll[T any](ctx context.Context, q firestore.Query, what string, decode func(*firestore.DocumentSnapshot) (T, error)) ([]T, error) {
	it := q.Documents(ctx)
	defer it.Stop()
	var out []T
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fail(what, err)
		}
		v, err := decode(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// updates lists the Firestore field updates for the fields u names, plus
// updatedAt.
func (u WatchUpdate) updates(now time.Time) []firestore.Update {
	var ups []firestore.Update
	add := func(path string, v any) { ups = append(ups, firestore.Update{Path: path, Value: v}) }
	if u.Subject != nil {
		add("subject", *u.Subject)
	}
	if u.State != nil {
		add("state", string(*u.State))
	}
	if u.ChannelID != nil {
		add("channelId", *u.ChannelID)
	}
	if u.ChannelExpiration != nil {
		add("channelExpiration", normal(*u.ChannelExpiration))
	}
	if u.LastError != nil {
		add("lastError", *u.LastError)
	}
	if u.Failures != nil {
		add("failures", *u.Failures)
	}
	if u.LeaseUntil != nil {
		add("leaseUntil", normal(*u.LeaseUntil))
	}
	if u.LeaseHolder != nil {
		add("leaseHolder", *u.LeaseHolder)
	}
	if u.RetryAt != nil {
		add("retryAt", normal(*u.RetryAt))
	}
	if u = u.due(); u.DueAt != nil {
		add("dueAt", normal(*u.DueAt))
	}
	add("updatedAt", normal(now))
	return ups
}

func (u ChannelUpdate) updates() []firestore.Update {
	var ups []firestore.Update
	add := func(path string, v any) { ups = append(ups, firestore.Update{Path: path, Value: v}) }
	if u.State != nil {
		add("state", string(*u.State))
	}
	if u.ResourceID != nil {
		add("resourceId", *u.ResourceID)
	}
	if u.ResourceURI != nil {
		add("resourceUri", *u.ResourceURI)
	}
	times := []struct {
		path string
		t    *time.Time
	}{
		{"expiration", u.Expiration},
		{"acceptUntil", u.AcceptUntil},
		{"syncedAt", u.SyncedAt},
		{"stoppedAt", u.StoppedAt},
		{"deleteAt", u.DeleteAt},
	}
	for _, f := range times {
		if f.t != nil {
			add(f.path, normal(*f.t))
		}
	}
	return ups
}

// UpdateWatch changes the fields u names, and UpdatedAt to now; ErrNotFound
// if the watch is gone. Only those fields are written, so a user's edit of
// another field at the same time survives.
func (f *Firestore) UpdateWatch(ctx context.Context, id string, u WatchUpdate, now time.Time) error {
	ref, err := f.watch(id)
	if err != nil {
		return err
	}
	if _, err := ref.Update(ctx, u.updates(now)); err != nil {
		return fail("update watch "+id, err)
	}
	return nil
}

// DeleteWatch removes a watch and its cursor, and puts events in the
// outbox, in one commit, after its items' latest records (deleteLatest);
// removing one that is not there is no error. The cursor goes with the
// watch so that a watch created again under the same id takes a fresh
// baseline rather than reading on from the old one's token.
func (f *Firestore) DeleteWatch(ctx context.Context, id string, events ...OutboxEvent) error {
	ref, err := f.watch(id)
	if err != nil {
		return nil // no watch can have that id
	}
	if err := f.deleteLatest(ctx, id); err != nil {
		return err
	}
	// A transaction with writes only: BeginTransaction and Commit. The
	// deprecated WriteBatch would save the first, but nothing else here
	// uses it.
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		if err := tx.Delete(ref); err != nil {
			return err
		}
		if err := tx.Delete(f.cursors.Doc(id)); err != nil {
			return err
		}
		return f.keep(tx, events)
	})
	if err != nil {
		return fail("delete watch "+id, err)
	}
	return nil
}

// CreateChannel stores a new channel; ErrExists if the id is taken.
func (f *Firestore) CreateChannel(ctx context.Context, c Channel) error {
	return createDoc(ctx, f.channels, "channel", c.ID, c.normal())
}

// Channel returns one channel; ErrNotFound if there is none. It is Receive's
// only read per notification.
func (f *Firestore) Channel(ctx context.Context, id string) (Channel, error) {
	return getDoc(ctx, f.channels, "channel", id, decodeChannel)
}

// UpdateChannel changes the fields u names; ErrNotFound if the channel is
// gone.
func (f *Firestore) UpdateChannel(ctx context.Context, id string, u ChannelUpdate) error {
	ref, err := f.channel(id)
	if err != nil {
		return err
	}
	ups := u.updates()
	if len(ups) == 0 {
		// Firestore refuses an empty update; existence is all there is
		// to check.
		_, err := f.Channel(ctx, id)
		return err
	}
	if _, err := ref.Update(ctx, ups); err != nil {
		return fail("update channel "+id, err)
	}
	return nil
}

// ChannelsByState returns up to limit channels in the given state whose
// expiration is before the given time, soonest first. A limit of zero or less
// means no limit.
func (f *Firestore) ChannelsByState(ctx context.Context, state ChannelState, before time.Time, limit int) ([]Channel, error) {
	return queryAll(ctx, f.channelsByStateQuery(state, before, limit), "channels by state", decodeChannel)
}

// channelsByStateQuery is ChannelsByState's query, apart so that
// queries_test.go can check it against Indexes. Served by the second of
// Indexes.
func (f *Firestore) channelsByStateQuery(state ChannelState, before time.Time, limit int) firestore.Query {
	return expiring(f.channels, string(state), "expiration", before, limit)
}
