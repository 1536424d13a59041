package store

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/firestore"
)

func decodeLatest(snap *firestore.DocumentSnapshot) (Latest, error) {
	return decodeAs[Latest](snap, "latest")
}

// fields is every field of l, for changeDoc. A zero expiration is deleted,
// so an updated record looks like a created one.
func (l Latest) fields() []firestore.Update {
	var exp any = l.ChannelExpiration
	if l.ChannelExpiration.IsZero() {
		exp = firestore.Delete
	}
	return []firestore.Update{
		{Path: "watchId", Value: l.WatchID},
		{Path: "itemId", Value: l.ItemID},
		{Path: "version", Value: l.Version},
		{Path: "channelId", Value: l.ChannelID},
		{Path: "messageNumber", Value: l.MessageNumber},
		{Path: "channelExpiration", Value: exp},
		{Path: "claimedAt", Value: l.ClaimedAt},
	}
}

// ClaimBody records b as its item's latest body if it is newer than the
// one published last, in one read and, only when it is, one conditional
// write; see Memory.ClaimBody.
func (f *Firestore) ClaimBody(ctx context.Context, b BodyClaim) (Latest, Verdict, error) {
	if err := b.check(); err != nil {
		return Latest{}, "", err
	}
	var v Verdict
	ref := f.latest.Doc(latestDoc(b.WatchID, b.ItemID))
	l, err := changeDoc(ctx, ref, "claim body "+b.WatchID+"/"+b.ItemID, nil, decodeLatest, func(l Latest, ok bool) (Latest, bool, error) {
		var write bool
		l, v, write = l.claim(b, ok)
		return l, write, nil
	})
	if err != nil {
		return Latest{}, "", err
	}
	return l, v, nil
}

// Latest returns the record of the body published last for an item of a
// watch; ErrNotFound if there is none.
func (f *Firestore) Latest(ctx context.Context, watchID, itemID string) (Latest, error) {
	if err := CheckID(watchID); err != nil {
		return Latest{}, fmt.Errorf("latest %q: %w (no document can have that id)", watchID, ErrNotFound)
	}
	snap, err := f.latest.Doc(latestDoc(watchID, itemID)).Get(ctx)
	if err != nil {
		return Latest{}, fail("get latest "+watchID+"/"+itemID, err)
	}
	return decodeLatest(snap)
}

// deleteLatest deletes a watch's latest records: one query on watchId (an
// equality on one field, which its single-field index serves) and one
// delete per record, through BatchWrite. DeleteWatch calls it before it
// deletes the watch, so a purge cut short in between leaves the watch, and
// the next pass's purge deletes the rest.
func (f *Firestore) deleteLatest(ctx context.Context, watchID string) error {
	refs, err := queryAll(ctx, f.latest.Where("watchId", "==", watchID).Select(), "latest of "+watchID,
		func(snap *firestore.DocumentSnapshot) (*firestore.DocumentRef, error) { return snap.Ref, nil })
	if err != nil {
		return err
	}
	return f.deleteAll(ctx, refs, "delete latest of "+watchID)
}

// deleteAll deletes refs through one BulkWriter, and reports every failure.
func (f *Firestore) deleteAll(ctx context.Context, refs []*firestore.DocumentRef, what string) error {
	if len(refs) == 0 {
		return nil
	}
	bw := f.client.BulkWriter(ctx)
	jobs := make([]*firestore.BulkWriterJob, 0, len(refs))
	for _, ref := range refs {
		job, err := bw.Delete(ref)
		if err != nil {
			bw.End()
			return fail(what, err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	var errs []error
	for _, job := range jobs {
		if _, err := job.Results(); err != nil {
			errs = append(errs, fail(what, err))
		}
	}
	return errors.Join(errs...)
}
