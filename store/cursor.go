package store

import (
	"fmt"
	"time"
)

// CursorsCollection holds one cursor per watch, owned by Sync.
const CursorsCollection = "cursors"

// Cursor is a cursors/{watchId} document: where Sync has read a watch's changes to, and the coalescing state of its fetches.
type Cursor struct {
	WatchID    string    `firestore:"-" json:"watchId"`
	Token      string    `firestore:"token" json:"token,omitempty"`               // Calendar nextSyncToken, Drive page token, a file's version; "" = no baseline yet
	Wanted     int64     `firestore:"wanted" json:"wanted"`                       // notifications that asked for a fetch, counted
	Done       int64     `firestore:"done" json:"done"`                           // Wanted as it stood when the last completed fetch began
	Holder     string    `firestore:"holder,omitempty" json:"holder,omitempty"`   // the attempt fetching now
	Message    string    `firestore:"message,omitempty" json:"message,omitempty"` // the Pub/Sub message id that attempt was triggered by
	LeaseUntil time.Time `firestore:"leaseUntil" json:"leaseUntil,omitzero"`
	// Fetching is when the holder's read began; zero while it waits out
	// the debounce (or no one holds the lease). See Covers.
	Fetching  time.Time `firestore:"fetching" json:"fetching,omitzero"`
	SyncedAt  time.Time `firestore:"syncedAt" json:"syncedAt,omitzero"` // end of the last completed fetch
	LastError string    `firestore:"lastError,omitempty" json:"lastError,omitempty"`
	Failures  int       `firestore:"failures" json:"failures"`
	UpdatedAt time.Time `firestore:"updatedAt" json:"updatedAt,omitzero"`
}

// SyncClaim is one request to fetch a watch's changes.
type SyncClaim struct {
	WatchID string
	Holder  string    // fresh per attempt
	Message string    // the trigger's Pub/Sub message id; "" when none (CLI)
	Until   time.Time // the lease's end
	Now     time.Time
}

// The transitions below are the cursor's rules, written once: each store
// reads the document, applies one of them and writes the result back in one
// atomic step (a transaction, or under Memory's mutex). They write times as
// Firestore keeps them (normal), so both stores return the same values.

// want counts cl's notification and takes the lease for cl if it is free or
// if cl is a redelivery of the message its holder was triggered by: Pub/Sub
// redelivers only once that attempt died or ran out of time, so waiting for
// its lease would only delay the fetch it owes. It reports whether cl holds
// the lease.
func (c Cursor) want(cl SyncClaim) (Cursor, bool) {
	c.Wanted++
	c.UpdatedAt = normal(cl.Now)
	free := c.Holder == "" || !c.LeaseUntil.After(cl.Now)
	redelivered := cl.Message != "" && cl.Message == c.Message
	if !free && !redelivered {
		return c, false
	}
	c.Holder, c.Message, c.LeaseUntil = cl.Holder, cl.Message, normal(cl.Until)
	return c, true
}

// Covers reports whether a notification arriving at now is covered by a
// read that has not begun yet: a live holder waits out its debounce, and its
// read, which begins after this notification's change was made, will see
// it. Such a notification needs no write at all: in a storm most of them
// arrive during a debounce, and one watch's cursor is one document, which
// a write per notification would make the storm's bottleneck.
func (c Cursor) Covers(now time.Time) bool {
	return c.Holder != "" && c.LeaseUntil.After(now) && c.Fetching.IsZero()
}

// begin marks the start of holder's read: from now on a notification is
// counted (want), so that the holder reads once more for it.
func (c Cursor) begin(holder string, until, now time.Time) (Cursor, error) {
	if err := c.held(holder, "begin"); err != nil {
		return Cursor{}, err
	}
	c.Fetching, c.LeaseUntil, c.UpdatedAt = normal(now), normal(until), normal(now)
	return c, nil
}

// held refuses a holder whose lease another attempt has taken over (or
// which never had it), so a stale attempt cannot move the cursor under the
// live one.
func (c Cursor) held(holder, what string) error {
	if holder == "" || c.Holder != holder {
		return fmt.Errorf("store: %s cursor %s: %w", what, c.WatchID, ErrLeaseLost)
	}
	return nil
}

// advance records a page's token, read under the lease, and extends the
// lease for the next page.
func (c Cursor) advance(holder, token string, until, now time.Time) (Cursor, error) {
	if err := c.held(holder, "advance"); err != nil {
		return Cursor{}, err
	}
	c.Token, c.LeaseUntil, c.UpdatedAt = token, normal(until), normal(now)
	return c, nil
}

// finish records a completed fetch that began when Wanted was seen. The
// lease is released only when no notification came since (compare and
// clear); otherwise the holder keeps it and fetches once more, so the last
// notification of a storm is never lost and never costs a fetch of its own.
func (c Cursor) finish(holder string, seen int64, until, now time.Time) (Cursor, bool, error) {
	if err := c.held(holder, "finish"); err != nil {
		return Cursor{}, false, err
	}
	c.Done, c.SyncedAt, c.UpdatedAt = seen, normal(now), normal(now)
	c.LastError, c.Failures = "", 0
	if c.Wanted != seen {
		c.LeaseUntil, c.Fetching = normal(until), time.Time{}
		return c, false, nil
	}
	return c.released(), true, nil
}

// release gives the lease back after a failed fetch. Wanted and Done stay
// as they are: the fetch is still owed, to the next notification.
func (c Cursor) release(holder, lastError string, now time.Time) (Cursor, error) {
	if err := c.held(holder, "release"); err != nil {
		return Cursor{}, err
	}
	c.LastError, c.Failures, c.UpdatedAt = lastError, c.Failures+1, normal(now)
	return c.released(), nil
}

func (c Cursor) released() Cursor {
	c.Holder, c.Message, c.LeaseUntil, c.Fetching = "", "", time.Time{}, time.Time{}
	return c
}
