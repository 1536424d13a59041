package changes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/internal/event"
	"github.com/watchrelay/watchrelay/store"
)

// change is the watchrelay.change.v1 of one item. Its id is fixed by the
// watch, the item and the item's version, so a page read twice (a crash
// before its cursor was written, a redelivery) publishes the same ids and
// consumers dedupe them; a later version is a new event.
func (s *Syncer) change(w store.Watch, it google.Item) event.Event {
	now := s.opts.Now()
	kind := event.ChangeUpsert
	if it.Removed {
		kind = event.ChangeRemoved
	}
	return event.Event{
		ID:      w.ID + "/" + it.ID + "/" + it.Version,
		Source:  event.WatchSource(w.ID),
		Type:    event.TypeChange,
		Subject: it.ID,
		Time:    now,
		WatchID: w.ID,
		Kind:    w.Kind,
		Change:  kind,
		Data: event.ChangeData{
			WatchID: w.ID, Kind: w.Kind, ItemID: it.ID, Removed: it.Removed,
			Item: it.JSON, FetchedAt: now, Labels: w.Labels,
		},
	}
}

// resyncEvent reports that the cursor named expired. Its id is fixed by the
// watch and that cursor, so a retried resync is one event.
func (s *Syncer) resyncEvent(w store.Watch, cursor, reason string) event.Event {
	sum := sha256.Sum256([]byte(cursor))
	return event.Event{
		ID:      w.ID + "/" + event.TypeResync + "/" + hex.EncodeToString(sum[:8]),
		Source:  event.WatchSource(w.ID),
		Type:    event.TypeResync,
		Subject: w.ID,
		Time:    s.opts.Now(),
		WatchID: w.ID,
		Kind:    w.Kind,
		Data:    event.ResyncData{WatchID: w.ID, Kind: w.Kind, Reason: reason, Labels: w.Labels},
	}
}

// end ends a watch whose reads Google refused for good (a revoked grant, a
// deleted calendar), as Renew ends one whose watch call it refused: the
// failed or gone event first, then its channel retired (Renew's next pass
// stops it, as any stopping channel) and the watch's state. A Renew pass
// renewing the watch meanwhile finds it no longer active and stops what it
// opened. A crash between the steps leaves the trigger unacknowledged, and
// its redelivery does them again under the same event id.
func (f *fetch) end(ctx context.Context, class google.Class, reason string) error {
	state, typ := store.WatchFailed, event.TypeFailed
	if class == google.ClassGone {
		state, typ = store.WatchGone, event.TypeGone
	}
	w, now := f.w, f.opts.Now()
	e := event.Lifecycle(typ, event.LifecycleData{WatchID: w.ID, Kind: w.Kind, Params: w.Params, Labels: w.Labels,
		OldChannelID: w.ChannelID, Error: reason}, now)
	if err := f.pub.PublishAll(ctx, []event.Event{e}); err != nil {
		return err
	}
	if w.ChannelID != "" {
		err := f.store.UpdateChannel(ctx, w.ChannelID, store.Retiring(now))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("retire channel %s: %w", w.ChannelID, err)
		}
	}
	if err := f.store.UpdateWatch(ctx, w.ID, store.WatchUpdate{
		State: &state, ChannelID: store.Ptr(""), ChannelExpiration: &time.Time{},
		LastError: &reason, Failures: store.Ptr(w.Failures + 1),
	}, now); err != nil {
		return err
	}
	f.out.Ended = state
	return nil
}
