package changes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

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
// deleted calendar), as Renew ends one whose watch call it refused: in one
// step on the watch as it is now (store.EndWatch), not as this request read
// it, since a pass may have renewed it (its current channel is the one
// retired, and the event names it) or the user removed it (left as it is)
// meanwhile. The failed or gone event is kept in the outbox in that step,
// then published and forgotten: a watch is never ended without its event,
// which Renew's next pass publishes if this request dies or Pub/Sub fails
// it, and no event reports an end that did not happen. A pass holding the
// watch finds it no longer active at activation and stops what it opened;
// its next pass stops the retired channel, as any stopping channel.
func (f *fetch) end(ctx context.Context, class google.Class, reason string) error {
	state := store.WatchFailed
	if class == google.ClassGone {
		state = store.WatchGone
	}
	now := f.opts.Now()
	var ended event.Event
	_, ok, err := f.store.EndWatch(ctx, store.End{
		WatchID: f.w.ID, State: state, LastError: reason, AcceptUntil: now, Now: now,
		Events: func(w store.Watch) []store.OutboxEvent {
			ended = event.Ended(w, state, reason, now)
			o, err := ended.Outboxed()
			if err != nil {
				f.log.Error("lifecycle event not kept", "id", ended.ID, "error", err)
				return nil
			}
			return []store.OutboxEvent{o}
		},
	})
	if err != nil {
		return err
	}
	if !ok {
		f.log.Info("watch no longer active; not ended", "watch", f.w.ID, "kind", f.w.Kind)
		return nil
	}
	f.out.Ended = state
	f.log.Error("watch ended", "watch", f.w.ID, "kind", f.w.Kind, "state", state, "error", reason)
	if err := f.pub.PublishAll(ctx, []event.Event{ended}); err != nil {
		f.log.Warn("lifecycle event not published; the next Renew pass does", "watch", f.w.ID, "type", ended.Type, "error", err)
		return nil
	}
	if err := f.store.Forget(ctx, []string{ended.ID}, "", store.ChannelUpdate{}); err != nil {
		f.log.Warn("published event left in the outbox; the next Renew pass publishes it again", "watch", f.w.ID, "error", err)
	}
	return nil
}
