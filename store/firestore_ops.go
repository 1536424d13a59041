package store

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
)

// RecordStray stores a stray the first time its channel id is seen;
// ErrExists after that. See Memory.RecordStray.
func (f *Firestore) RecordStray(ctx context.Context, s Stray) error {
	if err := CheckID(s.ChannelID); err != nil {
		return fmt.Errorf("store: record stray: %w", err)
	}
	if _, err := f.strays.Doc(s.ChannelID).Create(ctx, s.normal()); err != nil {
		return fail("record stray "+s.ChannelID, err)
	}
	return nil
}

// Strays returns up to limit strays in the given state, ordered by channel
// id; see Memory.Strays. An equality filter ordered by document id needs no
// composite index.
func (f *Firestore) Strays(ctx context.Context, state StrayState, limit int) ([]Stray, error) {
	q := f.strays.OrderBy(firestore.DocumentID, firestore.Asc)
	if state != "" {
		q = f.strays.Where("state", "==", string(state)).OrderBy(firestore.DocumentID, firestore.Asc)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	it := q.Documents(ctx)
	defer it.Stop()
	var out []Stray
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fail("strays", err)
		}
		var s Stray
		if err := snap.DataTo(&s); err != nil {
			return nil, fmt.Errorf("store: decode stray %s: %w", snap.Ref.ID, err)
		}
		s.ChannelID = snap.Ref.ID
		out = append(out, s)
	}
}

// UpdateStray changes the fields u names; ErrNotFound if there is no such
// stray.
func (f *Firestore) UpdateStray(ctx context.Context, id string, u StrayUpdate) error {
	if err := CheckID(id); err != nil {
		return fmt.Errorf("store: stray: %w: %w", ErrNotFound, err)
	}
	var ups []firestore.Update
	add := func(path string, v any) { ups = append(ups, firestore.Update{Path: path, Value: v}) }
	if u.State != nil {
		add("state", string(*u.State))
	}
	if u.LastError != nil {
		add("lastError", *u.LastError)
	}
	if u.StoppedAt != nil {
		add("stoppedAt", normal(*u.StoppedAt))
	}
	if u.DeleteAt != nil {
		add("deleteAt", normal(*u.DeleteAt))
	}
	if len(ups) == 0 {
		return nil
	}
	if _, err := f.strays.Doc(id).Update(ctx, ups); err != nil {
		return fail("update stray "+id, err)
	}
	return nil
}

// RecordPass keeps p as the last pass.
func (f *Firestore) RecordPass(ctx context.Context, p PassRecord) error {
	p.StartedAt = normal(p.StartedAt)
	if _, err := f.passes.Doc(lastPass).Set(ctx, p); err != nil {
		return fail("record pass", err)
	}
	return nil
}

// LastPass returns the last pass recorded; ErrNotFound before the first.
func (f *Firestore) LastPass(ctx context.Context) (PassRecord, error) {
	snap, err := f.passes.Doc(lastPass).Get(ctx)
	if err != nil {
		return PassRecord{}, fail("last pass", err)
	}
	var p PassRecord
	if err := snap.DataTo(&p); err != nil {
		return PassRecord{}, fmt.Errorf("store: decode pass: %w", err)
	}
	return p, nil
}
