package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// RecordStray stores a stray the first time its channel id is seen;
// ErrExists after that.
func (m *Memory) RecordStray(_ context.Context, s Stray) error {
	if err := creatable("stray", s.ChannelID); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return put(m.strays, "stray", s.ChannelID, s.normal())
}

// Strays returns up to limit strays in the given state (all when state is
// empty, no limit when limit <= 0), ordered by channel id.
func (m *Memory) Strays(_ context.Context, state StrayState, limit int) ([]Stray, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Stray
	for _, id := range slices.Sorted(maps.Keys(m.strays)) {
		if s := m.strays[id]; state == "" || s.State == state {
			out = append(out, s)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UpdateStray changes the fields u names; ErrNotFound if there is no such
// stray.
func (m *Memory) UpdateStray(_ context.Context, id string, u StrayUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return change(m.strays, "stray", id, u.apply)
}

// RecordPass keeps p as the last pass.
func (m *Memory) RecordPass(_ context.Context, p PassRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.StartedAt = normal(p.StartedAt)
	p.Summary = maps.Clone(p.Summary)
	m.pass = &p
	return nil
}

// LastPass returns the last pass recorded; ErrNotFound before the first.
func (m *Memory) LastPass(_ context.Context) (PassRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pass == nil {
		return PassRecord{}, fmt.Errorf("pass %s: %w", lastPass, ErrNotFound)
	}
	p := *m.pass
	p.Summary = maps.Clone(p.Summary)
	return p, nil
}

// Outbox returns up to limit events of the outbox (all when limit <= 0),
// oldest first.
func (m *Memory) Outbox(_ context.Context, limit int) ([]OutboxEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return first(m.outbox, func(OutboxEvent) bool { return true },
		func(e OutboxEvent) (time.Time, string) { return e.CreatedAt, e.ID }, func(e OutboxEvent) OutboxEvent { return e }, limit), nil
}

// Forget takes the events Pub/Sub has (by event id) out of the outbox and,
// when channelID is set, updates that channel, in one step: a renewal's
// last write. ErrNotFound if the channel is gone; events not in the outbox
// are no error.
func (m *Memory) Forget(_ context.Context, published []string, channelID string, u ChannelUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if channelID != "" {
		if err := change(m.channels, "channel", channelID, func(c Channel) Channel { return u.apply(c).normal() }); err != nil {
			return err
		}
	}
	for _, id := range published {
		delete(m.outbox, outboxDoc(id))
	}
	return nil
}

// WatchesOf returns the active watches of kind acting as subject, ordered
// by id.
func (m *Memory) WatchesOf(_ context.Context, kind, subject string) ([]Watch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Watch
	for _, w := range m.watches {
		if w.Kind == kind && w.Subject == subject && w.State == WatchActive {
			out = append(out, w.clone())
		}
	}
	slices.SortFunc(out, func(a, b Watch) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
