package store

import "time"

// The due sweep: a watch document written by a version from before
// Watch.DueAt lacks the field, and Firestore's due query never returns a
// document that lacks the field it orders by, so on an upgraded store such
// a watch would never be renewed. SweepDue gives each active one the field,
// a page per Renew pass, until it has seen every watch; meta/dueSweep
// records how far it has come, and then that it is over.

// MetaCollection holds the store's own bookkeeping: meta/dueSweep.
const MetaCollection = "meta"

// dueSweepDoc is the id of the sweep's record in MetaCollection.
const dueSweepDoc = "dueSweep"

// DueSweep is the meta/dueSweep document. A store from before the sweep has
// none, which reads as the zero DueSweep: not done, from the first watch.
type DueSweep struct {
	// Done: every watch has dueAt. Watches are created with it, so once
	// done the sweep never has anything to do again.
	Done bool `firestore:"done" json:"done"`
	// After is the id of the last watch swept; the next page starts after
	// it, in id order.
	After     string    `firestore:"after" json:"after,omitempty"`
	UpdatedAt time.Time `firestore:"updatedAt" json:"updatedAt,omitzero"`
}

// SweepPage is what one call of SweepDue did.
type SweepPage struct {
	// Read counts the watches the page read (the record aside): zero once
	// the sweep is done.
	Read int
	// Dated counts the active watches it gave dueAt.
	Dated int
	// Done: the sweep is over, by this page or before it.
	Done bool
}

// next is the record after a page of read watches, asked for limit and
// ending with the id last: done when the page came back short, since no
// watch is left after it.
func (s DueSweep) next(read, limit int, last string, now time.Time) DueSweep {
	if read < limit {
		return DueSweep{Done: true, After: s.After, UpdatedAt: normal(now)}
	}
	return DueSweep{After: last, UpdatedAt: normal(now)}
}

// supersedes reports whether s may replace the record stored: passes that
// overlap sweep the same page and write the same record, but one that read
// an older record must not move the sweep back, or undo its end.
func (s DueSweep) supersedes(stored DueSweep) bool {
	return !stored.Done && (s.Done || s.After > stored.After)
}

// needsDueAt reports whether a watch read without dueAt is to be given it:
// only an active watch is read by the due query; a watch that ends or is
// deleted never needs it, and one made active again (renew.RetryWatch)
// gets it with its cleared channel (WatchUpdate.due).
func needsDueAt(w Watch) bool { return w.State == WatchActive }
