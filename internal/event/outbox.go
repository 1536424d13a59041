package event

import (
	"encoding/json"
	"fmt"

	"github.com/watchrelay/watchrelay/store"
)

// A lifecycle event is kept in the store's outbox in the same commit as the
// state it reports, until Pub/Sub has it (docs/DESIGN.md, "Lifecycle
// events"). Outboxed and FromOutbox are the one form it is kept in, so
// Renew and Sync, which both end watches, keep what Renew's drain reads.

// Outboxed is e as the outbox keeps it: its JSON, under its id, made at its
// time.
func (e Event) Outboxed() (store.OutboxEvent, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return store.OutboxEvent{}, fmt.Errorf("event: %s: %w", e.ID, err)
	}
	return store.OutboxEvent{ID: e.ID, Event: string(b), CreatedAt: e.Time}, nil
}

// FromOutbox is the event o keeps, its data the JSON as kept.
func FromOutbox(o store.OutboxEvent) (Event, error) {
	var wire struct {
		Event
		Data json.RawMessage
	}
	if err := json.Unmarshal([]byte(o.Event), &wire); err != nil {
		return Event{}, fmt.Errorf("event: outbox event %s: %w", o.ID, err)
	}
	e := wire.Event
	e.Data = wire.Data
	return e, nil
}
