package store

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SweepDue sweeps one page of the watches for those that lack dueAt (see
// DueSweep): unless the sweep is done, it reads up to limit active watches
// in id order after the last one swept, gives each that lacks the field the
// due time dueAt makes of it, and records how far it came, or that it is
// done. Once done, a call costs the record's one read.
func (f *Firestore) SweepDue(ctx context.Context, limit int, dueAt func(Watch) time.Time, now time.Time) (SweepPage, error) {
	ref := f.client.Collection(MetaCollection).Doc(dueSweepDoc)
	s, err := f.dueSweep(ctx, ref, nil)
	if err != nil || s.Done {
		return SweepPage{Done: s.Done}, err
	}
	limit = max(1, limit)
	// An equality filter ordered by document id needs no composite index.
	q := f.watches.Where("state", "==", string(WatchActive)).OrderBy(firestore.DocumentID, firestore.Asc)
	if s.After != "" {
		q = q.StartAfter(s.After)
	}
	snaps, err := q.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return SweepPage{}, fail("sweep watches", err)
	}
	page, last := SweepPage{Read: len(snaps)}, s.After
	for _, snap := range snaps {
		last = snap.Ref.ID
		if !hasDueAt(snap) {
			dated, err := f.date(ctx, snap.Ref, dueAt)
			if err != nil {
				return page, err
			}
			if dated {
				page.Dated++
			}
		}
	}
	next := s.next(len(snaps), limit, last, now)
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		stored, err := f.dueSweep(ctx, ref, tx)
		if err != nil || !next.supersedes(stored) {
			return err
		}
		return tx.Set(ref, next)
	})
	if err != nil {
		return page, fail("record the due sweep", err)
	}
	page.Done = next.Done
	return page, nil
}

// dueSweep reads the sweep's record, in tx when given; the zero DueSweep
// when there is none yet.
func (f *Firestore) dueSweep(ctx context.Context, ref *firestore.DocumentRef, tx *firestore.Transaction) (DueSweep, error) {
	var snap *firestore.DocumentSnapshot
	var err error
	if tx != nil {
		snap, err = tx.Get(ref)
	} else {
		snap, err = ref.Get(ctx)
	}
	if status.Code(err) == codes.NotFound {
		return DueSweep{}, nil
	}
	if err != nil {
		return DueSweep{}, fail("read the due sweep", err)
	}
	return decodeAs[DueSweep](snap, "due sweep")
}

// hasDueAt reports whether the document has the field at all: a zero
// time is a due time (at once), a missing field is none.
func hasDueAt(snap *firestore.DocumentSnapshot) bool {
	_, err := snap.DataAt("dueAt")
	return err == nil
}

// date gives the watch at ref the due time dueAt makes of it, in a
// transaction that reads it again, so that a watch given dueAt since the
// page was read (a renewal, a retry) keeps the one it was given, and one
// that ended since is left alone. updatedAt stays as it is: nothing a
// person reads changed. dated is false when nothing was written.
func (f *Firestore) date(ctx context.Context, ref *firestore.DocumentRef, dueAt func(Watch) time.Time) (dated bool, err error) {
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		dated = false
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil || hasDueAt(snap) {
			return err
		}
		w, err := decodeWatch(snap)
		if err != nil || !needsDueAt(w) {
			return err
		}
		dated = true
		return tx.Update(ref, []firestore.Update{{Path: "dueAt", Value: normal(dueAt(w))}})
	})
	if err != nil {
		return false, fail("date watch "+ref.ID, err)
	}
	return dated, nil
}
