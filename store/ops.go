package store

import "time"

// What operators need beyond the watches and their channels: the strays
// Receive has seen, and the last Renew pass. `watchrelay status` reads both.

// StrayState is where a stray is in its life.
type StrayState string

// Stray states.
const (
	StraySeen    StrayState = "seen"    // recorded by Receive; the next pass stops it
	StrayStopped StrayState = "stopped" // channels.stop done (or 404: stopped already)
	StrayKnown   StrayState = "known"   // the store knows the channel after all: never stopped as a stray
	StrayFailed  StrayState = "failed"  // its API cannot be told from its resource URI, or Google refused the stop
)

// Stray is a strays/{channelId} document: a notification arrived for a
// channel the store does not know (a leak of a lost record, an old
// deployment, a restored backup, or a forgery). One record per channel id.
type Stray struct {
	ChannelID   string     `firestore:"-" json:"channelId"`
	ResourceID  string     `firestore:"resourceId" json:"resourceId,omitempty"`
	ResourceURI string     `firestore:"resourceUri" json:"resourceUri,omitempty"`
	State       StrayState `firestore:"state" json:"state"`
	SeenAt      time.Time  `firestore:"seenAt" json:"seenAt,omitzero"`
	LastError   string     `firestore:"lastError,omitempty" json:"lastError,omitempty"`
	StoppedAt   time.Time  `firestore:"stoppedAt,omitempty" json:"stoppedAt,omitzero"`
	// DeleteAt drives the TTL policy on strays, as on channels.
	DeleteAt time.Time `firestore:"deleteAt,omitempty" json:"deleteAt,omitzero"`
}

// StrayUpdate changes the named fields of a stray; a nil field is left
// alone.
type StrayUpdate struct {
	State     *StrayState
	LastError *string
	StoppedAt *time.Time
	DeleteAt  *time.Time
}

// PassRecord is the passes/last document: when the last Renew pass ran, for
// how long, and what it did (its Summary's JSON) or why it could not run.
type PassRecord struct {
	StartedAt  time.Time `firestore:"startedAt" json:"startedAt"`
	DurationMs int64     `firestore:"durationMs" json:"durationMs"`
	// Summary is renew.Summary as its JSON reads, a map so that the
	// console shows it field by field.
	Summary map[string]any `firestore:"summary,omitempty" json:"summary,omitempty"`
	Error   string         `firestore:"error,omitempty" json:"error,omitempty"`
}

// lastPass is the id of the one pass record.
const lastPass = "last"

func (s Stray) normal() Stray {
	s.SeenAt, s.StoppedAt, s.DeleteAt = normal(s.SeenAt), normal(s.StoppedAt), normal(s.DeleteAt)
	return s
}

func (u StrayUpdate) apply(s Stray) Stray {
	set(&s.State, u.State)
	set(&s.LastError, u.LastError)
	set(&s.StoppedAt, u.StoppedAt)
	set(&s.DeleteAt, u.DeleteAt)
	return s.normal()
}
