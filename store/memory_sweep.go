package store

import (
	"context"
	"time"
)

// SweepDue is Firestore.SweepDue. A Memory store never outlives its process,
// so it holds a watch without dueAt only when a test made one
// (CreateWatchWithoutDueAt), as an older version's Firestore document.
func (m *Memory) SweepDue(_ context.Context, limit int, dueAt func(Watch) time.Time, now time.Time) (SweepPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sweep
	if s.Done {
		return SweepPage{Done: true}, nil
	}
	limit = max(1, limit)
	ws := first(m.watches, func(w Watch) bool { return w.State == WatchActive && w.ID > s.After },
		func(w Watch) (time.Time, string) { return time.Time{}, w.ID }, func(w Watch) Watch { return w }, limit)
	page, last := SweepPage{Read: len(ws)}, s.After
	for _, w := range ws {
		last = w.ID
		if m.undated[w.ID] { // ws holds active watches only
			w.DueAt = normal(dueAt(w.clone()))
			m.watches[w.ID] = w
			delete(m.undated, w.ID)
			page.Dated++
		}
	}
	next := s.next(len(ws), limit, last, now)
	m.sweep, page.Done = next, next.Done
	return page, nil
}

// CreateWatchWithoutDueAt stores w as a version from before Watch.DueAt
// wrote it: without the field, so that DueWatches does not return it until
// a write gives it one, as Firestore's query would not. It is for tests of
// the upgrade (SweepDue); watchrelay itself never calls it.
func (m *Memory) CreateWatchWithoutDueAt(ctx context.Context, w Watch) error {
	w.DueAt = time.Time{}
	if err := m.CreateWatch(ctx, w); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.undated[w.ID] = true
	return nil
}

// dated records that a write gave watch id dueAt, as u's Firestore update
// would (WatchUpdate.due); m.mu must be held.
func (m *Memory) dated(id string, u WatchUpdate) {
	if u.due().DueAt != nil {
		delete(m.undated, id)
	}
}

// putWatch stores u applied to w, and what it does to w's dueAt; m.mu must
// be held. Every write of a whole watch goes through it, so Memory marks a
// watch dated exactly where Firestore would write the field.
func (m *Memory) putWatch(w Watch, u WatchUpdate, now time.Time) {
	m.watches[w.ID] = u.apply(w, now).normal()
	m.dated(w.ID, u)
}
