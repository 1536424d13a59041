package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// WantSync counts a notification of cl's watch, creating its cursor if need
// be, and takes the cursor's lease for cl when it may (see SyncClaim),
// marking when its read begins (cl.Begins). A notification the holder's
// coming read covers (Cursor.Covers) is not counted. It returns the cursor
// as it stands and whether cl holds the lease.
func (m *Memory) WantSync(_ context.Context, cl SyncClaim) (Cursor, bool, error) {
	if err := CheckID(cl.WatchID); err != nil {
		return Cursor{}, false, fmt.Errorf("want sync: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[cl.WatchID]
	if !ok {
		c = Cursor{WatchID: cl.WatchID}
	}
	c, took, changed := c.want(cl)
	if changed {
		m.cursors[cl.WatchID] = c
	}
	return c, took, nil
}

// AdvanceCursor records where the watch's read stands, and extends the
// lease to until, if holder holds it; ErrLeaseLost if not, ErrNotFound if
// there is no cursor.
func (m *Memory) AdvanceCursor(_ context.Context, watchID, holder string, at Position, until, now time.Time) error {
	_, err := m.changeCursor(watchID, func(c Cursor) (Cursor, error) { return c.advance(holder, at, until, now) })
	return err
}

// FinishSync records the holder's completed fetch, begun when Wanted was
// fi.Seen, and where it ended. It releases the lease and reports true when
// no notification came since; otherwise the holder keeps the lease until
// fi.Until and must fetch once more, from fi.Next. ErrLeaseLost if the
// holder does not hold the lease.
func (m *Memory) FinishSync(_ context.Context, fi Finish) (Cursor, bool, error) {
	var released bool
	c, err := m.changeCursor(fi.WatchID, func(c Cursor) (Cursor, error) {
		var err error
		c, released, err = c.finish(fi)
		return c, err
	})
	return c, released, err
}

// ReleaseSync gives holder's lease back after a failed fetch, recording
// lastError; the fetch stays owed. ErrLeaseLost if holder does not hold it.
func (m *Memory) ReleaseSync(_ context.Context, watchID, holder, lastError string, now time.Time) error {
	_, err := m.changeCursor(watchID, func(c Cursor) (Cursor, error) { return c.release(holder, lastError, now) })
	return err
}

// changeCursor applies change to the watch's cursor under the mutex and
// keeps the result, unless change refuses.
func (m *Memory) changeCursor(watchID string, change func(Cursor) (Cursor, error)) (Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := find(m.cursors, "cursor", watchID)
	if err == nil {
		c, err = change(c)
	}
	if err != nil {
		return Cursor{}, err
	}
	m.cursors[watchID] = c
	return c, nil
}

// Cursor returns the watch's cursor; ErrNotFound if there is none.
func (m *Memory) Cursor(_ context.Context, watchID string) (Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return find(m.cursors, "cursor", watchID)
}

// OwedCursors returns up to limit cursors whose read is owed at now
// (Cursor.Owed), longest owed first.
func (m *Memory) OwedCursors(_ context.Context, now time.Time, limit int) ([]Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Cursor
	for _, c := range m.cursors {
		if c.Owed(now) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Cursor) int {
		return cmp.Or(a.LeaseUntil.Compare(b.LeaseUntil), cmp.Compare(a.WatchID, b.WatchID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Cursors returns up to limit cursors (all when limit <= 0), ordered by
// watch id.
func (m *Memory) Cursors(_ context.Context, limit int) ([]Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Cursor
	for _, id := range slices.Sorted(maps.Keys(m.cursors)) {
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, m.cursors[id])
	}
	return out, nil
}
