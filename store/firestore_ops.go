package store

import (
	"context"
	"errors"

	"cloud.google.com/go/firestore"
)

// RecordStray stores a stray the first time its channel id is seen;
// ErrExists after that. See Memory.RecordStray.
func (f *Firestore) RecordStray(ctx context.Context, s Stray) error {
	return createDoc(ctx, f.strays, "stray", s.ChannelID, s.normal())
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
	return queryAll(ctx, q, "strays", func(snap *firestore.DocumentSnapshot) (Stray, error) {
		s, err := decodeAs[Stray](snap, "stray")
		s.ChannelID = snap.Ref.ID
		return s, err
	})
}

// UpdateStray changes the fields u names; ErrNotFound if there is no such
// stray.
func (f *Firestore) UpdateStray(ctx context.Context, id string, u StrayUpdate) error {
	ref, err := doc(f.strays, "stray", id)
	if err != nil {
		return err
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
	if _, err := ref.Update(ctx, ups); err != nil {
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
	return decodeAs[PassRecord](snap, "pass")
}

// keep puts events in the outbox within tx.
func (f *Firestore) keep(tx *firestore.Transaction, events []OutboxEvent) error {
	for _, e := range events {
		if err := tx.Set(f.outbox.Doc(outboxDoc(e.ID)), e.normal()); err != nil {
			return err
		}
	}
	return nil
}

// Outbox returns up to limit events of the outbox (all when limit <= 0),
// oldest first.
func (f *Firestore) Outbox(ctx context.Context, limit int) ([]OutboxEvent, error) {
	q := f.outbox.OrderBy("createdAt", firestore.Asc)
	if limit > 0 {
		q = q.Limit(limit)
	}
	return queryAll(ctx, q, "outbox", func(snap *firestore.DocumentSnapshot) (OutboxEvent, error) {
		return decodeAs[OutboxEvent](snap, "outbox event")
	})
}

// Forget takes the events Pub/Sub has out of the outbox and, when channelID
// is set, updates that channel; see Memory.Forget. The writes go in one
// BatchWrite, not a transaction: they need not be atomic (an event left in
// the outbox is published again, under the same ce-id), only cheap, as a
// renewal's last write.
func (f *Firestore) Forget(ctx context.Context, published []string, channelID string, u ChannelUpdate) error {
	if channelID == "" && len(published) == 0 {
		return nil
	}
	bw := f.client.BulkWriter(ctx)
	var jobs []*firestore.BulkWriterJob
	if channelID != "" {
		ref, err := f.channel(channelID)
		if err != nil {
			bw.End()
			return err
		}
		ups := u.updates()
		if len(ups) > 0 {
			job, err := bw.Update(ref, ups)
			if err != nil {
				bw.End()
				return fail("forget", err)
			}
			jobs = append(jobs, job)
		}
	}
	for _, id := range published {
		job, err := bw.Delete(f.outbox.Doc(outboxDoc(id)))
		if err != nil {
			bw.End()
			return fail("forget", err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	var errs []error
	for i, job := range jobs {
		if _, err := job.Results(); err != nil {
			what := "forget outbox event"
			if i == 0 && channelID != "" {
				what = "update channel " + channelID
			}
			errs = append(errs, fail(what, err))
		}
	}
	return errors.Join(errs...)
}

// WatchesOf returns the active watches of kind acting as subject, ordered
// by id: the watches a Gmail push for that mailbox is for. Equality
// filters only, which Firestore serves from its single-field indexes.
func (f *Firestore) WatchesOf(ctx context.Context, kind, subject string) ([]Watch, error) {
	q := f.watches.Where("kind", "==", kind).Where("subject", "==", subject).
		Where("state", "==", string(WatchActive)).OrderBy(firestore.DocumentID, firestore.Asc)
	return f.queryWatches(ctx, q, "watches of "+subject)
}
