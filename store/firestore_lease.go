package store

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The transactions of a renewal on Firestore: the claim (with its pending
// channel), the activation under it, and the release. Each is one
// transaction, the unit of the Firestore cost bench/README.md counts.

// LeaseWatch takes the watch's lease for l.Holder, and creates the
// channel open returns, in one transaction; see Memory.LeaseWatch.
func (f *Firestore) LeaseWatch(ctx context.Context, id string, l Lease, now time.Time, open func(Watch) (Channel, bool)) (Watch, error) {
	ref, err := f.watch(id)
	if err != nil {
		return Watch{}, err
	}
	var leased Watch
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		w, err := decodeWatch(snap)
		if err != nil {
			return err
		}
		w, c, err := w.claim(l, now, open)
		if err != nil {
			return err
		}
		leased = w
		if c != nil {
			if err := tx.Create(f.channels.Doc(c.ID), c.normal()); err != nil {
				return err
			}
		}
		return tx.Update(ref, []firestore.Update{{Path: "leaseUntil", Value: w.LeaseUntil}, {Path: "leaseHolder", Value: l.Holder}})
	})
	if err != nil {
		return Watch{}, fail("lease watch "+id, err)
	}
	return leased, nil
}

// ReleaseWatch gives the lease back with the update u if holder still
// holds it; see Memory.ReleaseWatch.
func (f *Firestore) ReleaseWatch(ctx context.Context, id, holder string, u WatchUpdate, now time.Time, events ...OutboxEvent) error {
	ref, err := f.watch(id)
	if err != nil {
		return nil // no watch can have that id
	}
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		w, found, err := txWatch(tx, ref)
		if !found {
			return err
		}
		u, err := w.release(holder, u)
		if err != nil {
			return err
		}
		if err := f.keep(tx, events); err != nil {
			return err
		}
		return tx.Update(ref, u.updates(now))
	})
	if err != nil {
		return fail("release watch "+id, err)
	}
	return nil
}

// ActivateChannel records what Google granted for a pending channel under
// its lease, points the watch at it and retires the one it named before, in
// one transaction; see Memory.ActivateChannel. The transaction reads the
// channel and the watch in one call and does not read the old channel: its
// state follows from the watch (a watch names only a channel that is live or
// lapsed), and its record exists, since only finished records are deleted
// and a watch never names one. Should it be missing all the same, the
// transaction runs again without it.
func (f *Firestore) ActivateChannel(ctx context.Context, a Activation) error {
	cref, err := f.channel(a.ChannelID)
	if err != nil {
		return err
	}
	wref, err := f.watch(a.WatchID)
	if err != nil {
		return err
	}
	activate := func(retireOld bool) error {
		return f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
			snaps, err := tx.GetAll([]*firestore.DocumentRef{cref, wref})
			if err != nil {
				return err
			}
			c, cFound, err := decodeFound(snaps[0], decodeChannel)
			if err != nil {
				return err
			}
			w, wFound, err := decodeFound(snaps[1], decodeWatch)
			if err != nil {
				return err
			}
			p, err := a.plan(c, cFound, w, wFound)
			if err != nil {
				return err
			}
			if old, err := f.channel(p.old); retireOld && err == nil {
				if err := tx.Update(old, p.retire.updates()); err != nil {
					return err
				}
			}
			if err := tx.Update(cref, p.channel.updates()); err != nil {
				return err
			}
			if err := f.keep(tx, a.Events); err != nil {
				return err
			}
			return tx.Update(wref, p.watch.updates(a.Now))
		})
	}
	err = activate(true)
	if status.Code(err) == codes.NotFound {
		// The channel and the watch were read in the transaction, so
		// only the old channel's record can be missing.
		err = activate(false)
	}
	if err != nil {
		return fail("activate channel "+a.ChannelID, err)
	}
	return nil
}

// EndWatch ends a watch Google refused for good, in one transaction on the
// watch as it is now; see Memory.EndWatch. It reads the watch, then the
// channel it names (to leave alone one that is retired already, and to
// return it), and writes both with the events: two reads and two to
// three writes, only when a watch ends.
func (f *Firestore) EndWatch(ctx context.Context, e End) (retired Channel, ended bool, err error) {
	if err := e.check(); err != nil {
		return Channel{}, false, err
	}
	wref, err := f.watch(e.WatchID)
	if err != nil {
		return Channel{}, false, nil // no watch can have that id
	}
	err = f.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error {
		retired, ended = Channel{}, false
		w, found, err := txWatch(tx, wref)
		if !found {
			return err
		}
		c, found, cref, err := f.txChannel(tx, w.ChannelID)
		if err != nil {
			return err
		}
		p, ok, err := e.plan(w, c, found)
		if !ok {
			return err
		}
		if p.channel != nil {
			if err := tx.Update(cref, p.channel.updates()); err != nil {
				return err
			}
		}
		if err := f.keep(tx, p.events); err != nil {
			return err
		}
		retired, ended = p.retired, true
		return tx.Update(wref, p.watch.updates(e.Now))
	})
	if err != nil {
		return Channel{}, false, fail("end watch "+e.WatchID, err)
	}
	return retired, ended, nil
}

// txWatch reads a watch within tx; found is false when there is none, or
// on an error.
func txWatch(tx *firestore.Transaction, ref *firestore.DocumentRef) (w Watch, found bool, err error) {
	snap, err := tx.Get(ref)
	if status.Code(err) == codes.NotFound {
		return Watch{}, false, nil
	}
	if err != nil {
		return Watch{}, false, err
	}
	w, err = decodeWatch(snap)
	return w, err == nil, err
}

// txChannel reads a channel within tx; found is false when id is empty or
// names no record.
func (f *Firestore) txChannel(tx *firestore.Transaction, id string) (c Channel, found bool, ref *firestore.DocumentRef, err error) {
	if id == "" {
		return Channel{}, false, nil, nil
	}
	if ref, err = f.channel(id); err != nil {
		return Channel{}, false, nil, nil // no record can have that id
	}
	snaps, err := tx.GetAll([]*firestore.DocumentRef{ref})
	if err != nil {
		return Channel{}, false, ref, err
	}
	c, found, err = decodeFound(snaps[0], decodeChannel)
	return c, found, ref, err
}
