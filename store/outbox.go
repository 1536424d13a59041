package store

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// OutboxCollection holds lifecycle events not yet known to be on Pub/Sub.
const OutboxCollection = "outbox"

// OutboxEvent is a lifecycle event in the outbox: written in the same commit
// as the state it reports (a channel activated, a watch ended or purged),
// and forgotten once Pub/Sub has it. A pass that dies in between leaves it
// for the next pass to publish, under the same ce-id, so a repeat dedupes.
// Event is the event's JSON, which the store does not read.
type OutboxEvent struct {
	ID        string    `firestore:"id" json:"id"`
	Event     string    `firestore:"event" json:"event"`
	CreatedAt time.Time `firestore:"createdAt" json:"createdAt"`
}

// outboxDoc is the document id of an event: event ids hold "/", which a
// document id cannot.
func outboxDoc(eventID string) string {
	sum := sha256.Sum256([]byte(eventID))
	return hex.EncodeToString(sum[:])
}

func (e OutboxEvent) normal() OutboxEvent {
	e.CreatedAt = normal(e.CreatedAt)
	return e
}
