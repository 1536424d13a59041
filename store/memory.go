package store

import (
	"container/heap"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory store with the same behaviour as Firestore, as the
// shared contract tests check, down to times: they come back in UTC,
// truncated to microseconds, as Firestore keeps them. It backs the embedded defaults (`watchrelay
// serve` and `demo` with no environment) and fast tests. It keeps nothing
// across restarts and has no TTL deletion.
type Memory struct {
	mu       sync.Mutex
	watches  map[string]Watch
	channels map[string]Channel
	strays   map[string]Stray
	outbox   map[string]OutboxEvent
	cursors  map[string]Cursor
	latest   map[string]map[string]Latest // watch id → item id → record
	pass     *PassRecord
	// undated names the watches without dueAt (CreateWatchWithoutDueAt),
	// which DueWatches leaves out, and sweep is meta/dueSweep.
	undated map[string]bool
	sweep   DueSweep
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{watches: map[string]Watch{}, channels: map[string]Channel{}, strays: map[string]Stray{}, outbox: map[string]OutboxEvent{}, cursors: map[string]Cursor{}, latest: map[string]map[string]Latest{}, undated: map[string]bool{}}
}

// copies keep callers from sharing maps with the store, as a round trip
// through Firestore would not share them either.
func (w Watch) clone() Watch {
	w.Params, w.Labels = maps.Clone(w.Params), maps.Clone(w.Labels)
	if w.Changes != nil {
		w.Changes = Ptr(*w.Changes)
	}
	return w
}

func (c Channel) clone() Channel {
	c.Labels = maps.Clone(c.Labels)
	return c
}

// normal is the form a time takes once stored: Firestore keeps microseconds
// and hands back UTC, so Memory stores times the same way and both stores
// return identical values.
func normal(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (w Watch) normal() Watch {
	w.ChannelExpiration = normal(w.ChannelExpiration)
	w.CreatedAt = normal(w.CreatedAt)
	w.UpdatedAt = normal(w.UpdatedAt)
	w.LeaseUntil = normal(w.LeaseUntil)
	w.RetryAt = normal(w.RetryAt)
	w.DueAt = normal(w.DueAt)
	return w
}

func (c Channel) normal() Channel {
	c.Expiration = normal(c.Expiration)
	c.AcceptUntil = normal(c.AcceptUntil)
	c.CreatedAt = normal(c.CreatedAt)
	c.SyncedAt = normal(c.SyncedAt)
	c.StoppedAt = normal(c.StoppedAt)
	c.DeleteAt = normal(c.DeleteAt)
	return c
}

// CreateWatch stores a new watch; ErrExists if the id is taken.
func (m *Memory) CreateWatch(_ context.Context, w Watch) error {
	if err := creatable("watch", w.ID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return put(m.watches, "watch", w.ID, w.clone().normal())
}

// Watch returns one watch; ErrNotFound if there is none.
func (m *Memory) Watch(_ context.Context, id string) (Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, err := find(m.watches, "watch", id)
	return w.clone(), err
}

// Watches returns the watches in the given state (every watch when state is
// empty), ordered by id, at most limit of them (no limit when zero or less).
func (m *Memory) Watches(_ context.Context, state WatchState, limit int) ([]Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return first(m.watches, func(w Watch) bool { return state == "" || w.State == state },
		func(w Watch) (time.Time, string) { return time.Time{}, w.ID }, Watch.clone, limit), nil
}

// DueWatches returns a page of the active watches due by now (DueAt at or
// before it), in due order (DueAt, then id), starting after the watch after
// (a zero Watch starts at the first), at most limit of them (no limit when
// zero or less).
func (m *Memory) DueWatches(_ context.Context, now time.Time, after Watch, limit int) ([]Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now, from := normal(now), normal(after.DueAt)
	return first(m.watches, func(w Watch) bool {
		if w.State != WatchActive || w.DueAt.After(now) || m.undated[w.ID] {
			return false
		}
		return after.ID == "" || orderBy(w.DueAt, w.ID, from, after.ID) > 0
	}, func(w Watch) (time.Time, string) { return w.DueAt, w.ID }, Watch.clone, limit), nil
}

// LeaseWatch takes the watch's lease for l.Holder until l.Until,
// atomically (see Watch.claim, its rule): ErrLeased if another claim's
// lease runs past now, ErrNotFound if the watch is gone. When open is given, it is called with the watch as
// leased, and the channel it returns, if any, is created in the same step:
// a renewal's claim and its pending channel are one write. It returns the
// watch as leased.
func (m *Memory) LeaseWatch(_ context.Context, id string, l Lease, now time.Time, open func(Watch) (Channel, bool)) (Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, err := find(m.watches, "watch", id)
	if err != nil {
		return Watch{}, err
	}
	w, c, err := w.claim(l, now, open)
	if err != nil {
		return Watch{}, err
	}
	if c != nil {
		if err := put(m.channels, "channel", c.ID, c.clone().normal()); err != nil {
			return Watch{}, err
		}
	}
	m.watches[id] = w
	return w.clone(), nil
}

// ReleaseWatch gives the lease back, with the update u (a pass's last word
// on the watch: its failure, its end) in the same step, if holder still
// holds it. A lease another claim took over is left alone, and u with it:
// ErrLeaseLost. A watch that is gone needs nothing.
func (m *Memory) ReleaseWatch(_ context.Context, id, holder string, u WatchUpdate, now time.Time, events ...OutboxEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.watches[id]
	if !ok {
		return nil
	}
	u, err := w.release(holder, u)
	if err != nil {
		return err
	}
	m.putWatch(w, u, now)
	m.keep(events)
	return nil
}

// EndWatch ends a watch Google refused for good, in one atomic step on the
// watch as it is now (see End and its rule, plan): only if it is still
// active, and retiring the channel it names now, which a renewal since
// the caller read it may have replaced. ended is false, and nothing
// written, when the watch is no longer active or is gone; ErrLeaseLost
// when e.Holder no longer holds it. retired is the channel the watch
// named, as the end left it (zero if it named none).
func (m *Memory) EndWatch(_ context.Context, e End) (retired Channel, ended bool, err error) {
	if err := e.check(); err != nil {
		return Channel{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.watches[e.WatchID]
	if !ok {
		return Channel{}, false, nil
	}
	c, found := m.channels[w.ChannelID]
	p, ok, err := e.plan(w, c.clone(), found)
	if !ok {
		return Channel{}, false, err
	}
	if p.channel != nil {
		m.channels[c.ID] = p.channel.apply(c).normal()
	}
	m.putWatch(w, p.watch, e.Now)
	m.keep(p.events)
	return p.retired, true, nil
}

// keep puts events in the outbox; m.mu must be held.
func (m *Memory) keep(events []OutboxEvent) {
	for _, e := range events {
		m.outbox[outboxDoc(e.ID)] = e.normal()
	}
}

// UpdateWatch changes the fields u names, and UpdatedAt to now; ErrNotFound
// if the watch is gone.
func (m *Memory) UpdateWatch(_ context.Context, id string, u WatchUpdate, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := change(m.watches, "watch", id, func(w Watch) Watch { return u.apply(w, now).normal() })
	if err == nil {
		m.dated(id, u)
	}
	return err
}

func (u WatchUpdate) apply(w Watch, now time.Time) Watch {
	u = u.due()
	set(&w.Subject, u.Subject)
	set(&w.State, u.State)
	set(&w.ChannelID, u.ChannelID)
	set(&w.ChannelExpiration, u.ChannelExpiration)
	set(&w.LastError, u.LastError)
	set(&w.Failures, u.Failures)
	set(&w.LeaseUntil, u.LeaseUntil)
	set(&w.LeaseHolder, u.LeaseHolder)
	set(&w.RetryAt, u.RetryAt)
	set(&w.DueAt, u.DueAt)
	w.UpdatedAt = now
	return w
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// DeleteWatch removes a watch, its cursor and its items' latest records;
// removing one that is not there is no error.
func (m *Memory) DeleteWatch(_ context.Context, id string, events ...OutboxEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.watches, id)
	delete(m.undated, id)
	delete(m.cursors, id)
	delete(m.latest, id)
	m.keep(events)
	return nil
}

// CreateChannel stores a new channel; ErrExists if the id is taken.
func (m *Memory) CreateChannel(_ context.Context, c Channel) error {
	if err := creatable("channel", c.ID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return put(m.channels, "channel", c.ID, c.clone().normal())
}

// Channel returns one channel; ErrNotFound if there is none. It is Receive's
// only read per notification.
func (m *Memory) Channel(_ context.Context, id string) (Channel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := find(m.channels, "channel", id)
	return c.clone(), err
}

// UpdateChannel changes the fields u names; ErrNotFound if the channel is
// gone.
func (m *Memory) UpdateChannel(_ context.Context, id string, u ChannelUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return change(m.channels, "channel", id, func(c Channel) Channel { return u.apply(c).normal() })
}

func (u ChannelUpdate) apply(c Channel) Channel {
	set(&c.State, u.State)
	set(&c.ResourceID, u.ResourceID)
	set(&c.ResourceURI, u.ResourceURI)
	set(&c.Expiration, u.Expiration)
	set(&c.AcceptUntil, u.AcceptUntil)
	set(&c.SyncedAt, u.SyncedAt)
	set(&c.StoppedAt, u.StoppedAt)
	set(&c.DeleteAt, u.DeleteAt)
	return c
}

// ActivateChannel records what Google granted for a pending channel (its
// resource id and URI, kept if a sync recorded them already, and its
// expiration), marks it active, points its watch at it, gives the lease
// back, and retires the channel the watch named before, all in one atomic
// step: a crash never leaves a live channel that no watch names, nor an old
// one that nothing will stop. Activation.plan is the rule: what it writes,
// and when it refuses, changing nothing (ErrLeaseLost, ErrNotActive).
func (m *Memory) ActivateChannel(_ context.Context, a Activation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, cFound := m.channels[a.ChannelID]
	w, wFound := m.watches[a.WatchID]
	p, err := a.plan(c, cFound, w, wFound)
	if err != nil {
		return err
	}
	if old, ok := m.channels[p.old]; ok {
		m.channels[old.ID] = p.retire.apply(old).normal()
	}
	m.channels[c.ID] = p.channel.apply(c).normal()
	m.putWatch(w, p.watch, a.Now)
	m.keep(a.Events)
	return nil
}

// ChannelsByState returns up to limit channels in the given state whose
// expiration is before the given time, soonest first.
func (m *Memory) ChannelsByState(_ context.Context, state ChannelState, before time.Time, limit int) ([]Channel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return first(m.channels, func(c Channel) bool { return c.State == state && c.Expiration.Before(before) },
		func(c Channel) (time.Time, string) { return c.Expiration, c.ID }, Channel.clone, limit), nil
}

// first returns copies of the records that match, ordered by a time, then
// by id (as Firestore's queries order ties: by document name), at most
// limit of them (all when limit is zero or less). With a limit it keeps
// the keys of the first limit matches only (a heap whose top is the last
// of them), and it copies just the records it returns, so a page of a
// large store holds the page, as a Firestore query does, and not
// everything that matched. m.mu must be held.
func first[T any](records map[string]T, match func(T) bool, key func(T) (time.Time, string), copyOf func(T) T, limit int) []T {
	h := &refHeap{}
	for k, r := range records {
		if !match(r) {
			continue
		}
		at, id := key(r)
		x := ref{at, id, k}
		switch {
		case limit <= 0 || h.Len() < limit:
			heap.Push(h, x)
		case x.before(h.refs[0]):
			h.refs[0] = x
			heap.Fix(h, 0)
		}
	}
	refs := h.refs
	slices.SortFunc(refs, func(a, b ref) int { return orderBy(a.at, a.id, b.at, b.id) })
	out := make([]T, len(refs))
	for i, r := range refs {
		out[i] = copyOf(records[r.key])
	}
	return out
}

// ref is where first finds a record: its order, and its key in the map.
type ref struct {
	at      time.Time
	id, key string
}

func (a ref) before(b ref) bool { return orderBy(a.at, a.id, b.at, b.id) < 0 }

// refHeap is a max-heap of refs (container/heap): its top is the last in
// order, the one a match that comes before it replaces.
type refHeap struct{ refs []ref }

func (h *refHeap) Len() int           { return len(h.refs) }
func (h *refHeap) Less(i, j int) bool { return h.refs[j].before(h.refs[i]) }
func (h *refHeap) Swap(i, j int)      { h.refs[i], h.refs[j] = h.refs[j], h.refs[i] }
func (h *refHeap) Push(x any)         { h.refs = append(h.refs, x.(ref)) }
func (h *refHeap) Pop() any {
	x := h.refs[len(h.refs)-1]
	h.refs = h.refs[:len(h.refs)-1]
	return x
}

// orderBy compares two records by time, then id.
func orderBy(ta time.Time, ia string, tb time.Time, ib string) int {
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return strings.Compare(ia, ib)
}

// find returns the record under id in records; ErrNotFound, naming it
// what, if there is none. m.mu must be held.
func find[T any](records map[string]T, what, id string) (T, error) {
	v, ok := records[id]
	if !ok {
		return v, fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return v, nil
}

// change replaces the record under id in records with what apply makes of
// it; ErrNotFound, naming it what, if there is none. m.mu must be held.
func change[T any](records map[string]T, what, id string, apply func(T) T) error {
	v, err := find(records, what, id)
	if err != nil {
		return err
	}
	records[id] = apply(v)
	return nil
}

// put keeps v under id in records, unless the id is taken: ErrExists,
// naming it what. m.mu must be held.
func put[T any](records map[string]T, what, id string, v T) error {
	if _, ok := records[id]; ok {
		return fmt.Errorf("%s %s: %w", what, id, ErrExists)
	}
	records[id] = v
	return nil
}
