package store

import (
	"fmt"
	"time"
)

// CursorsCollection holds one cursor per watch, owned by Sync.
const CursorsCollection = "cursors"

// Cursor is a cursors/{watchId} document: where Sync has read a watch's changes to, and the coalescing state of its fetches.
type Cursor struct {
	WatchID string `firestore:"-" json:"watchId"`
	Token   string `firestore:"token" json:"token,omitempty"` // Calendar nextSyncToken, Drive page token, Gmail history id, a file's version; "" = no baseline yet
	// Page is the page token of a read in progress from Token whose pages
	// are not cursors themselves (a Calendar listing names its sync token
	// on its last page only): a read cut off by its budget resumes there
	// rather than from Token. "" between reads. See Position.
	Page    string `firestore:"page,omitempty" json:"page,omitempty"`
	Wanted  int64  `firestore:"wanted" json:"wanted"`                       // notifications that asked for a fetch, counted
	Done    int64  `firestore:"done" json:"done"`                           // Wanted as it stood when the last completed fetch began
	Holder  string `firestore:"holder,omitempty" json:"holder,omitempty"`   // the attempt fetching now
	Message string `firestore:"message,omitempty" json:"message,omitempty"` // the Pub/Sub message id that attempt was triggered by
	// LeaseUntil is when the holder's lease ends. Released, it is zero
	// when every counted notification has been read for, and the time of
	// the release when a failed read left some owed (Owed).
	LeaseUntil time.Time `firestore:"leaseUntil" json:"leaseUntil,omitzero"`
	// HeldAt is when the holder last wrote (kept a page), or, until its
	// read begins, when it begins: a redelivery takes the read over only
	// once the holder has been quiet for TakeoverQuiet since.
	HeldAt time.Time `firestore:"heldAt" json:"heldAt,omitzero"`
	// Fetching is when the holder's read begins, written with the claim
	// (or with the finish that keeps the lease for one more read): the end
	// of its debounce, or the claim's time with none. Zero when no one
	// holds the lease. See Covers.
	Fetching time.Time `firestore:"fetching" json:"fetching,omitzero"`
	SyncedAt time.Time `firestore:"syncedAt" json:"syncedAt,omitzero"` // end of the last completed fetch
	// NotifiedAt is when Sync last counted a notification of the watch
	// (a claim with a Pub/Sub message; not a read a person or Renew
	// asked for), written by that claim's own write, so it costs
	// nothing: it is how `watchrelay status` says a watch delivers. A
	// notification the coming read covers is not written, so it may be
	// up to a debounce behind.
	NotifiedAt time.Time `firestore:"notifiedAt,omitempty" json:"notifiedAt,omitzero"`
	LastError  string    `firestore:"lastError,omitempty" json:"lastError,omitempty"`
	Failures   int       `firestore:"failures" json:"failures"`
	UpdatedAt  time.Time `firestore:"updatedAt" json:"updatedAt,omitzero"`
}

// Position is where a watch's read stands: the cursor the last completed
// read ended at, and the page of the read in progress from it, if any.
type Position struct {
	Token string
	Page  string
}

// At is where c's read stands.
func (c Cursor) At() Position { return Position{Token: c.Token, Page: c.Page} }

// Baselined reports whether the watch has a first cursor: a baseline
// listing in progress has a page but no token yet.
func (c Cursor) Baselined() bool { return c.Token != "" }

// Owed reports whether a read is owed that no live holder will make: a
// failed read released the lease with notifications unread, or its holder
// died with the lease. OwedCursors finds them by the same rule.
func (c Cursor) Owed(now time.Time) bool {
	return !c.LeaseUntil.IsZero() && !c.LeaseUntil.After(now)
}

// TakeoverQuiet is how long a holder must have written nothing before a
// redelivery of its message takes its read over. Pub/Sub redelivers a push
// whose request failed, which may be a live holder behind a dropped
// connection; taking over at once would let that holder's page land after
// the newer one's. Sync bounds each page's read well inside this (a
// holder writes after every page), so a holder quiet this long is dead or
// its page was cut off, and nothing of it is still on its way.
const TakeoverQuiet = time.Minute

// ClockSkew is how far apart two Sync instances' clocks may be. A holder
// begins its read when its own clock reaches Fetching, and a notification
// is covered by that read when it arrives before Fetching by another
// instance's clock; so one arriving within ClockSkew of Fetching is
// counted instead (Covers), which costs at most one more read, never a
// change. Cloud Run's clocks are kept by Google's time service, far closer
// than this.
const ClockSkew = 100 * time.Millisecond

// SyncClaim is one request to fetch a watch's changes.
type SyncClaim struct {
	WatchID string
	Holder  string    // fresh per attempt
	Message string    // the trigger's Pub/Sub message id; "" when none (CLI)
	Until   time.Time // the lease's end
	Now     time.Time
	// Begins is when the holder's read is to begin, if the claim takes
	// the lease: the end of its debounce. Zero or before Now: at Now.
	// Notifications arriving until then are covered (Covers).
	Begins time.Time
}

// Finish is a holder's completed read.
type Finish struct {
	WatchID string
	Holder  string
	Seen    int64    // Wanted as it stood when the read began
	At      Position // where the read ended, kept with the finish
	// Next is when the holder's next read begins, if notifications came
	// during this one (the debounce's end); zero or before Now: at Now.
	Next  time.Time
	Until time.Time // the lease's end, if it is kept for another read
	Now   time.Time
}

// The transitions below are the cursor's rules, written once: each store
// reads the document, applies one of them and writes the result back in one
// atomic step (a transaction, or under Memory's mutex). They write times as
// Firestore keeps them (normal), so both stores return the same values.

// want counts cl's notification and takes the lease for cl if it is free, or
// if cl is a redelivery of the message its holder was triggered by and that
// holder has been quiet for TakeoverQuiet: Pub/Sub redelivers once that
// attempt failed, so waiting out its whole lease would only delay the read
// it owes, but a holder that wrote lately may still be publishing. Taking
// the lease, it marks when the read begins (Fetching), so that the claim
// and the read's start are one write. It reports whether cl holds the
// lease, and whether c changed: a notification the holder's coming read
// covers (Covers; not a redelivery of the holder's own message, which
// counts itself) changes nothing.
func (c Cursor) want(cl SyncClaim) (Cursor, bool, bool) {
	free := c.Holder == "" || !c.LeaseUntil.After(cl.Now)
	if !free && c.Covers(cl.Now) && (cl.Message == "" || cl.Message != c.Message) {
		return c, false, false
	}
	c.Wanted++
	c.UpdatedAt = normal(cl.Now)
	if cl.Message != "" {
		c.NotifiedAt = c.UpdatedAt
	}
	if !free && !c.Quiet(cl.Message, cl.Now) {
		return c, false, true
	}
	begins := normal(later(cl.Begins, cl.Now))
	c.Holder, c.Message, c.LeaseUntil, c.HeldAt, c.Fetching = cl.Holder, cl.Message, normal(cl.Until), begins, begins
	return c, true, true
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Quiet reports whether a redelivery of message may take the read over:
// its holder was triggered by that message and has written nothing for
// TakeoverQuiet.
func (c Cursor) Quiet(message string, now time.Time) bool {
	return message != "" && message == c.Message && !c.HeldAt.Add(TakeoverQuiet).After(now)
}

// Covers reports whether a notification arriving at now is covered by a
// read that has not begun yet: a live holder waits out its debounce, and its
// read, which begins after this notification's change was made, will see
// it. Such a notification needs no write at all: in a storm most of them
// arrive during a debounce, and one watch's cursor is one document, which
// a write per notification would make the storm's bottleneck. One that
// arrives within ClockSkew of the read's start is not covered: the
// holder's clock may be ahead of this one's.
func (c Cursor) Covers(now time.Time) bool {
	return c.Holder != "" && c.LeaseUntil.After(now) && now.Add(ClockSkew).Before(c.Fetching)
}

// held refuses a holder whose lease another attempt has taken over (or
// which never had it), so a stale attempt cannot move the cursor under the
// live one.
func (c Cursor) held(holder, what string) error {
	if holder == "" || c.Holder != holder {
		return fmt.Errorf("%s cursor %s: %w", what, c.WatchID, ErrLeaseLost)
	}
	return nil
}

// advance records where the read stands after a page published under the
// lease, and extends the lease for the next page.
func (c Cursor) advance(holder string, at Position, until, now time.Time) (Cursor, error) {
	if err := c.held(holder, "advance"); err != nil {
		return Cursor{}, err
	}
	c.Token, c.Page = at.Token, at.Page
	c.LeaseUntil, c.UpdatedAt, c.HeldAt = normal(until), normal(now), normal(now)
	return c, nil
}

// finish records a completed fetch that began when Wanted was seen and
// ended at fi.At, in the same write as the lease's release: the read's
// last page moves the cursor here, not in a write of its own. The lease is
// released only when no notification came since (compare and clear);
// otherwise the holder keeps it, and fetches once more from fi.Next, so
// the last notification of a storm is never lost and never costs a fetch
// of its own.
func (c Cursor) finish(fi Finish) (Cursor, bool, error) {
	if err := c.held(fi.Holder, "finish"); err != nil {
		return Cursor{}, false, err
	}
	c.Token, c.Page = fi.At.Token, fi.At.Page
	c.Done, c.SyncedAt, c.UpdatedAt = fi.Seen, normal(fi.Now), normal(fi.Now)
	c.LastError, c.Failures = "", 0
	if c.Wanted != fi.Seen {
		next := normal(later(fi.Next, fi.Now))
		c.LeaseUntil, c.Fetching, c.HeldAt = normal(fi.Until), next, next
		return c, false, nil
	}
	return c.released(time.Time{}), true, nil
}

// release gives the lease back before the read was done: after a failure
// (lastError, counted), or with "" when the read ran out of its budget
// having kept where it got to, which is no failure. Wanted and Done stay as
// they are, and the lease's end is now: the read is owed (Owed), to the
// trigger's redelivery, the next notification, or Renew's sweep.
func (c Cursor) release(holder, lastError string, now time.Time) (Cursor, error) {
	if err := c.held(holder, "release"); err != nil {
		return Cursor{}, err
	}
	c.UpdatedAt = normal(now)
	if lastError != "" {
		c.LastError, c.Failures = lastError, c.Failures+1
	}
	return c.released(normal(now)), nil
}

// released gives the lease up; owedSince is zero when nothing is owed.
func (c Cursor) released(owedSince time.Time) Cursor {
	c.Holder, c.Message, c.LeaseUntil, c.Fetching, c.HeldAt = "", "", owedSince, time.Time{}, time.Time{}
	return c
}
