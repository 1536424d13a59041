package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/watchrelay/watchrelay/internal/wait"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Each change of a cursor reads the document and writes it back only if
// nothing wrote it in between (a precondition on its update time; a create
// when there was none), and starts again from the read if something did:
// BatchGetDocuments and Commit, two RPCs. A transaction would cost a third
// (BeginTransaction) and, worse, its read lock makes a storm of
// notifications for one watch queue on lock waits and backoffs of a second
// and more: on the emulator, 20 concurrent WantSyncs for one watch took 5 to
// 70 seconds in transactions, and take about one second this way. The rules
// of cursor.go decide on what was read, so two attempts never both hold the
// lease and no count is lost.

// casAttempts bounds the read-and-write rounds of one call. A round is lost
// only to another call's write that succeeded, so a call gives up only
// under a storm far past what one watch's notifications make; it then
// reports ErrUnavailable, and Pub/Sub redelivers.
const casAttempts = 50

// errCursorChanged: the document changed between the read and the write.
var errCursorChanged = errors.New("store: cursor changed")

func decodeCursor(snap *firestore.DocumentSnapshot) (Cursor, error) {
	var c Cursor
	if err := snap.DataTo(&c); err != nil {
		return Cursor{}, fmt.Errorf("store: decode cursor %s: %w", snap.Ref.ID, err)
	}
	c.WatchID = snap.Ref.ID
	return c, nil
}

// fields is every field of c, to write it whole with a precondition (which
// Set does not take). Empty optional fields are deleted, so an updated
// document looks like a created one.
func (c Cursor) fields() []firestore.Update {
	opt := func(s string) any {
		if s == "" {
			return firestore.Delete
		}
		return s
	}
	return []firestore.Update{
		{Path: "token", Value: c.Token},
		{Path: "page", Value: opt(c.Page)},
		{Path: "wanted", Value: c.Wanted},
		{Path: "done", Value: c.Done},
		{Path: "holder", Value: opt(c.Holder)},
		{Path: "message", Value: opt(c.Message)},
		{Path: "leaseUntil", Value: c.LeaseUntil},
		{Path: "heldAt", Value: c.HeldAt},
		{Path: "fetching", Value: c.Fetching},
		{Path: "syncedAt", Value: c.SyncedAt},
		{Path: "lastError", Value: opt(c.LastError)},
		{Path: "failures", Value: c.Failures},
		{Path: "updatedAt", Value: c.UpdatedAt},
	}
}

// changeCursor applies change to the watch's cursor and writes the result,
// unless change refuses, in one atomic read-and-write (see above). change
// gets ok false when there is no cursor; it may create one.
func (f *Firestore) changeCursor(ctx context.Context, ref *firestore.DocumentRef, what string, change func(c Cursor, ok bool) (Cursor, error)) (Cursor, error) {
	for attempt := range casAttempts {
		if attempt > 0 {
			// Jittered, so that the losers of a round do not meet
			// again in the next.
			if err := wait.Sleep(ctx, time.Duration(rand.Int64N(int64(attempt)*int64(5*time.Millisecond)))); err != nil {
				return Cursor{}, fail(what, err)
			}
		}
		c, err := f.casCursor(ctx, ref, change)
		if !errors.Is(err, errCursorChanged) {
			if err != nil {
				return Cursor{}, fail(what, err)
			}
			return c, nil
		}
	}
	return Cursor{}, fmt.Errorf("store: %s: %w: %w after %d attempts", what, ErrUnavailable, errCursorChanged, casAttempts)
}

// casCursor is one round of changeCursor; errCursorChanged when another
// write came between its read and its write.
func (f *Firestore) casCursor(ctx context.Context, ref *firestore.DocumentRef, change func(Cursor, bool) (Cursor, error)) (Cursor, error) {
	snap, err := ref.Get(ctx)
	exists := err == nil
	if err != nil && status.Code(err) != codes.NotFound {
		return Cursor{}, err
	}
	c := Cursor{WatchID: ref.ID}
	if exists {
		if c, err = decodeCursor(snap); err != nil {
			return Cursor{}, err
		}
	}
	if c, err = change(c, exists); err != nil {
		return Cursor{}, err
	}
	if exists {
		_, err = ref.Update(ctx, c.fields(), firestore.LastUpdateTime(snap.UpdateTime))
	} else {
		_, err = ref.Create(ctx, c)
	}
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.NotFound, codes.AlreadyExists:
		// Written, deleted or created since the read.
		return Cursor{}, errCursorChanged
	}
	return c, err
}

// WantSync counts a notification and takes the lease for cl when it may, in
// one atomic read-and-write; see Memory.WantSync.
func (f *Firestore) WantSync(ctx context.Context, cl SyncClaim) (Cursor, bool, error) {
	if err := CheckID(cl.WatchID); err != nil {
		return Cursor{}, false, fmt.Errorf("store: want sync: %w", err)
	}
	var took bool
	c, err := f.changeCursor(ctx, f.cursors.Doc(cl.WatchID), "want sync "+cl.WatchID, func(c Cursor, _ bool) (Cursor, error) {
		// A missing cursor is the watch's first notification: its
		// cursor starts here.
		c, took = c.want(cl)
		return c, nil
	})
	return c, took, err
}

// AdvanceCursor records where the read stands and extends holder's lease;
// see Memory.AdvanceCursor.
func (f *Firestore) AdvanceCursor(ctx context.Context, watchID, holder string, at Position, until, now time.Time) error {
	_, err := f.changeHeld(ctx, watchID, "advance cursor", func(c Cursor) (Cursor, error) {
		return c.advance(holder, at, until, now)
	})
	return err
}

// BeginFetch marks the start of holder's read and returns the cursor as it
// stands; see Memory.BeginFetch.
func (f *Firestore) BeginFetch(ctx context.Context, watchID, holder string, until, now time.Time) (Cursor, error) {
	return f.changeHeld(ctx, watchID, "begin fetch", func(c Cursor) (Cursor, error) {
		return c.begin(holder, until, now)
	})
}

// FinishSync records holder's completed fetch and releases the lease unless
// notifications came during it; see Memory.FinishSync.
func (f *Firestore) FinishSync(ctx context.Context, watchID, holder string, seen int64, until, now time.Time) (Cursor, bool, error) {
	var released bool
	c, err := f.changeHeld(ctx, watchID, "finish sync", func(c Cursor) (Cursor, error) {
		var err error
		c, released, err = c.finish(holder, seen, until, now)
		return c, err
	})
	return c, released, err
}

// ReleaseSync gives holder's lease back after a failed fetch; see
// Memory.ReleaseSync.
func (f *Firestore) ReleaseSync(ctx context.Context, watchID, holder, lastError string, now time.Time) error {
	_, err := f.changeHeld(ctx, watchID, "release sync", func(c Cursor) (Cursor, error) {
		return c.release(holder, lastError, now)
	})
	return err
}

// changeHeld is changeCursor for the holder's calls: the cursor must exist.
func (f *Firestore) changeHeld(ctx context.Context, watchID, what string, change func(Cursor) (Cursor, error)) (Cursor, error) {
	ref, err := f.cursor(watchID)
	if err != nil {
		return Cursor{}, err
	}
	return f.changeCursor(ctx, ref, what+" "+watchID, func(c Cursor, ok bool) (Cursor, error) {
		if !ok {
			return Cursor{}, fmt.Errorf("store: %s: cursor %s: %w", what, watchID, ErrNotFound)
		}
		return change(c)
	})
}

// cursor names a cursor's document, or says why none can have that id.
func (f *Firestore) cursor(watchID string) (*firestore.DocumentRef, error) {
	if err := CheckID(watchID); err != nil {
		return nil, fmt.Errorf("store: cursor: %w: %w", ErrNotFound, err)
	}
	return f.cursors.Doc(watchID), nil
}

// Cursor returns the watch's cursor; ErrNotFound if there is none.
func (f *Firestore) Cursor(ctx context.Context, watchID string) (Cursor, error) {
	ref, err := f.cursor(watchID)
	if err != nil {
		return Cursor{}, err
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		return Cursor{}, fail("get cursor "+watchID, err)
	}
	return decodeCursor(snap)
}

// OwedCursors returns up to limit cursors whose read is owed at now
// (Cursor.Owed), longest owed first, in one RunQuery: a range on
// leaseUntil, which its single-field index serves. A released cursor with
// nothing owed has the zero time, before the range's start.
func (f *Firestore) OwedCursors(ctx context.Context, now time.Time, limit int) ([]Cursor, error) {
	q := f.cursors.Where("leaseUntil", ">", time.Unix(0, 0)).Where("leaseUntil", "<=", now).
		OrderBy("leaseUntil", firestore.Asc).OrderBy(firestore.DocumentID, firestore.Asc)
	return f.queryCursors(ctx, q, limit, "owed cursors")
}

// Cursors returns up to limit cursors (all when limit <= 0), ordered by
// watch id, in one RunQuery.
func (f *Firestore) Cursors(ctx context.Context, limit int) ([]Cursor, error) {
	return f.queryCursors(ctx, f.cursors.OrderBy(firestore.DocumentID, firestore.Asc), limit, "cursors")
}

// queryCursors runs q for up to limit cursors (all when limit <= 0).
func (f *Firestore) queryCursors(ctx context.Context, q firestore.Query, limit int, what string) ([]Cursor, error) {
	if limit > 0 {
		q = q.Limit(limit)
	}
	it := q.Documents(ctx)
	defer it.Stop()
	var out []Cursor
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fail(what, err)
		}
		c, err := decodeCursor(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}
