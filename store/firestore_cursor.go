package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
)

func decodeCursor(snap *firestore.DocumentSnapshot) (Cursor, error) {
	c, err := decodeAs[Cursor](snap, "cursor")
	c.WatchID = snap.Ref.ID
	return c, err
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
// unless change refuses, in one atomic read-and-write (changeDoc). change
// gets ok false when there is no cursor; it may create one.
func (f *Firestore) changeCursor(ctx context.Context, ref *firestore.DocumentRef, what string, change func(c Cursor, ok bool) (Cursor, error)) (Cursor, error) {
	return changeDoc(ctx, ref, what, decodeCursor, func(c Cursor, ok bool) (Cursor, bool, error) {
		if !ok {
			c.WatchID = ref.ID
		}
		c, err := change(c, ok)
		return c, true, err
	})
}

// WantSync counts a notification and takes the lease for cl when it may, in
// one atomic read-and-write; see Memory.WantSync.
func (f *Firestore) WantSync(ctx context.Context, cl SyncClaim) (Cursor, bool, error) {
	if err := CheckID(cl.WatchID); err != nil {
		return Cursor{}, false, fmt.Errorf("want sync: %w", err)
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
			return Cursor{}, fmt.Errorf("%s: cursor %s: %w", what, watchID, ErrNotFound)
		}
		return change(c)
	})
}

// cursor names a cursor's document, or says why none can have that id.
func (f *Firestore) cursor(watchID string) (*firestore.DocumentRef, error) {
	return doc(f.cursors, "cursor", watchID)
}

// Cursor returns the watch's cursor; ErrNotFound if there is none.
func (f *Firestore) Cursor(ctx context.Context, watchID string) (Cursor, error) {
	return getDoc(ctx, f.cursors, "cursor", watchID, decodeCursor)
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
	return queryAll(ctx, q, what, decodeCursor)
}
