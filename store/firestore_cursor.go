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
	optTime := func(t time.Time) any {
		if t.IsZero() {
			return firestore.Delete
		}
		return t
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
		{Path: "notifiedAt", Value: optTime(c.NotifiedAt)},
		{Path: "lastError", Value: opt(c.LastError)},
		{Path: "failures", Value: c.Failures},
		{Path: "updatedAt", Value: c.UpdatedAt},
	}
}

// changeCursor applies change to the watch's cursor and writes the result,
// unless change refuses, in one atomic read-and-write (changeDoc). change
// gets ok false when there is no cursor; it may create one.
func (f *Firestore) changeCursor(ctx context.Context, ref *firestore.DocumentRef, what string, change func(c Cursor, ok bool) (Cursor, error)) (Cursor, error) {
	return changeDoc(ctx, ref, what, &f.cursorRevs, decodeCursor, func(c Cursor, ok bool) (Cursor, bool, error) {
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
	ref := f.cursors.Doc(cl.WatchID)
	c, err := changeDoc(ctx, ref, "want sync "+cl.WatchID, &f.cursorRevs, decodeCursor, func(c Cursor, ok bool) (Cursor, bool, error) {
		// A missing cursor is the watch's first notification: its
		// cursor starts here.
		if !ok {
			c.WatchID = ref.ID
		}
		var changed bool
		c, took, changed = c.want(cl)
		return c, changed, nil
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

// FinishSync records the holder's completed fetch and where it ended, and
// releases the lease unless notifications came during it, in one write;
// see Memory.FinishSync.
func (f *Firestore) FinishSync(ctx context.Context, fi Finish) (Cursor, bool, error) {
	var released bool
	c, err := f.changeHeld(ctx, fi.WatchID, "finish sync", func(c Cursor) (Cursor, error) {
		var err error
		c, released, err = c.finish(fi)
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

// Cursor returns the watch's cursor; ErrNotFound if there is none. The
// store remembers it as read, so that the turn's first write of it needs
// no read of its own (firestore_revs.go).
func (f *Firestore) Cursor(ctx context.Context, watchID string) (Cursor, error) {
	ref, err := f.cursor(watchID)
	if err != nil {
		return Cursor{}, err
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		return Cursor{}, fail("get cursor "+watchID, err)
	}
	c, err := decodeCursor(snap)
	if err == nil {
		f.cursorRevs.put(ref.Path, c, snap.UpdateTime)
	}
	return c, err
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
