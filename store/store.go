// Package store keeps watchrelay's two kinds of records: watches (what a user
// wants observed) and channels (the Google notification channels serving a
// watch for a while), and the cursors Sync reads each watch's changes from
// (cursor.go). The documents are a public contract, laid out in
// docs/DESIGN.md: operators read them in the Firestore console.
//
// Two implementations share one contract-test suite: *Firestore, the
// production store, and *Memory, for the embedded defaults and fast tests.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Collection names.
const (
	WatchesCollection  = "watches"
	ChannelsCollection = "channels"
	StraysCollection   = "strays"
	PassesCollection   = "passes"
)

// Sentinel errors. Both implementations wrap these, so callers use errors.Is.
// An error that wraps one puts what failed in front of it ("release watch
// w1: store: lease lost"), so its message says "store:" once.
var (
	// ErrNotFound: no document with that id.
	ErrNotFound error = kind("store: not found")
	// ErrExists: a create found a document with that id already.
	ErrExists error = kind("store: already exists")
	// ErrLeased: another pass holds the watch's lease.
	ErrLeased error = kind("store: watch is leased")
	// ErrUnavailable: the backing service could not be reached; callers
	// answer 503 or retry later.
	ErrUnavailable error = kind("store: unavailable")
	// ErrInvalidID: a create was given an id no Firestore document can
	// have (see CheckID).
	ErrInvalidID error = kind("store: invalid id")
	// ErrLeaseLost: an activation's claim no longer holds its watch (the
	// lease ran out and another pass took it), or its channel is no
	// longer pending (that pass cleared it). Activating it would point the
	// watch at a channel the other pass has stopped, or retire its live one.
	ErrLeaseLost error = kind("store: lease lost")
	// ErrNotActive: the watch was removed or ended while a channel was
	// being opened for it; the channel must be stopped, not activated.
	ErrNotActive error = kind("store: watch not active")
)

// kind is the type of the store's own errors: the sentinels above, and
// errDecode. An error that wraps one is already said in the store's terms,
// which is how fail knows to leave it as it is, whatever kinds come later.
type kind string

func (k kind) Error() string { return string(k) }

// errDecode: a document did not decode into its type. Unexported: no
// caller acts on it, but fail must pass it through like the sentinels.
const errDecode kind = "store: cannot decode"

// CheckID reports whether id can name a document, by Firestore's rules: 1 to
// 1500 bytes of UTF-8, no "/", not "." or "..", not __like_this__. Both
// stores refuse to create a record under any other id and report a lookup of
// one as not found, since no record can have it: so a forged channel id such
// as "a/b" is a stray to Receive on either store, never a Firestore error.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > 1500:
		return fmt.Errorf("%w: longer than 1500 bytes", ErrInvalidID)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %q is not UTF-8", ErrInvalidID, id)
	case strings.Contains(id, "/"), id == ".", id == "..",
		len(id) >= 4 && strings.HasPrefix(id, "__") && strings.HasSuffix(id, "__"):
		return fmt.Errorf("%w: %q (no \"/\", \".\", \"..\" or __name__)", ErrInvalidID, id)
	}
	return nil
}

// Retention is how long a finished channel's record is kept for operators
// (its deleteAt) before the Firestore TTL policy deletes it.
const Retention = 7 * 24 * time.Hour

// WatchState is the desired state of a watch.
type WatchState string

// Watch states, as docs/DESIGN.md lists them.
const (
	WatchActive  WatchState = "active"  // keep a live channel
	WatchGone    WatchState = "gone"    // the resource no longer exists
	WatchFailed  WatchState = "failed"  // auth or configuration error
	WatchDeleted WatchState = "deleted" // the user removed it; Renew stops and purges
)

// ChannelState is where a channel is in its life.
type ChannelState string

// Channel states, as docs/DESIGN.md lists them.
const (
	ChannelPending  ChannelState = "pending"  // watch call in flight
	ChannelActive   ChannelState = "active"   // serving its watch
	ChannelStopping ChannelState = "stopping" // retired; channels.stop not yet confirmed
	ChannelStopped  ChannelState = "stopped"  // channels.stop confirmed
	ChannelExpired  ChannelState = "expired"  // lapsed before it was stopped
	ChannelFailed   ChannelState = "failed"   // the watch call was refused
)

// Watch is a watches/{id} document.
type Watch struct {
	ID         string            `firestore:"-" json:"id"`
	Kind       string            `firestore:"kind" json:"kind"`
	Params     map[string]string `firestore:"params" json:"params,omitempty"`
	Subject    string            `firestore:"subject,omitempty" json:"subject,omitempty"`
	Address    string            `firestore:"address,omitempty" json:"address,omitempty"`
	TTLSeconds int64             `firestore:"ttlSeconds,omitempty" json:"ttlSeconds,omitempty"`
	Labels     map[string]string `firestore:"labels" json:"labels,omitempty"`
	State      WatchState        `firestore:"state" json:"state"`
	// ChannelID is the channel currently serving the watch; empty when none.
	ChannelID string `firestore:"channelId" json:"channelId,omitempty"`
	// ChannelExpiration is the current channel's expiration, zero when there
	// is none. It is a copy of the channel's, kept here so that one indexed
	// query on watches finds all the work of a pass: a new watch (zero) and a
	// channel due for renewal (soon) sort first.
	ChannelExpiration time.Time `firestore:"channelExpiration" json:"channelExpiration,omitzero"`
	LastError         string    `firestore:"lastError" json:"lastError,omitempty"`
	Failures          int       `firestore:"failures" json:"failures"`
	CreatedAt         time.Time `firestore:"createdAt" json:"createdAt,omitzero"`
	UpdatedAt         time.Time `firestore:"updatedAt" json:"updatedAt,omitzero"`
	// LeaseUntil: a pass working on this watch holds it until then.
	LeaseUntil time.Time `firestore:"leaseUntil" json:"leaseUntil,omitzero"`
	// LeaseHolder names the claim holding the lease (see Lease): only it
	// may activate a channel for the watch or give the lease back.
	LeaseHolder string `firestore:"leaseHolder,omitempty" json:"leaseHolder,omitempty"`
	// RetryAt: after a transient failure the watch is not tried again
	// before then (backoff across passes, or Google's Retry-After), so
	// a throttled API is not asked again on every pass.
	RetryAt time.Time `firestore:"retryAt,omitempty" json:"retryAt,omitzero"`
	// DueAt is when Renew is next to work on the watch: its channel's
	// renewal time (the expiration less google.RenewThreshold), or
	// RetryAt when that is later; zero, due at once, for a watch with no
	// channel. DueWatches reads only watches whose DueAt has come, so a
	// watch waiting out a backoff, or whose channel is not due, costs a
	// pass no read. Renew computes it (the store does not know the
	// renewal window); an update that changes the channel or RetryAt
	// without it sets it to zero (see WatchUpdate.DueAt), which is never
	// late: the next pass reads the watch and sets it right.
	DueAt time.Time `firestore:"dueAt" json:"dueAt,omitzero"`
	// Changes: false turns Sync off for this watch; its notifications are still published. nil means on.
	Changes *bool `firestore:"changes,omitempty" json:"changes,omitempty"`
	// Snapshot: Sync publishes the baseline items too, when it first takes the cursor.
	Snapshot bool `firestore:"snapshot,omitempty" json:"snapshot,omitempty"`
}

// WantsChanges reports whether Sync reads the watch's changes: on unless
// the watch says changes: false, so watches stored before the field
// existed keep the default.
func (w Watch) WantsChanges() bool { return w.Changes == nil || *w.Changes }

// Channel is a channels/{id} document; the id is the Google channel id.
type Channel struct {
	ID      string `firestore:"-" json:"id"`
	WatchID string `firestore:"watchId" json:"watchId"`
	Kind    string `firestore:"kind" json:"kind"`
	// Subject is the user the channel was opened as (domain-wide
	// delegation), so that it is stopped as that user even once its
	// watch is gone or names another.
	Subject     string            `firestore:"subject,omitempty" json:"subject,omitempty"`
	ResourceID  string            `firestore:"resourceId" json:"resourceId,omitempty"`
	ResourceURI string            `firestore:"resourceUri" json:"resourceUri,omitempty"`
	TokenHash   string            `firestore:"tokenHash" json:"-"`
	Expiration  time.Time         `firestore:"expiration" json:"expiration,omitzero"`
	State       ChannelState      `firestore:"state" json:"state"`
	AcceptUntil time.Time         `firestore:"acceptUntil" json:"acceptUntil,omitzero"`
	Labels      map[string]string `firestore:"labels" json:"labels,omitempty"`
	CreatedAt   time.Time         `firestore:"createdAt" json:"createdAt,omitzero"`
	SyncedAt    time.Time         `firestore:"syncedAt" json:"syncedAt,omitzero"`
	StoppedAt   time.Time         `firestore:"stoppedAt" json:"stoppedAt,omitzero"`
	// DeleteAt drives the Firestore TTL policy on channels. It is left out
	// of the document while zero: the TTL policy deletes any document whose
	// deleteAt is a past timestamp, and the zero time is one.
	DeleteAt time.Time `firestore:"deleteAt,omitempty" json:"deleteAt,omitzero"`
}

// Accepts reports whether a notification arriving at now may be published
// for this channel, by state alone: pending and active channels accept, a
// retired one (stopping or stopped) until AcceptUntil, nothing else.
func (c Channel) Accepts(now time.Time) bool {
	switch c.State {
	case ChannelPending, ChannelActive:
		return true
	case ChannelStopping, ChannelStopped, ChannelExpired:
		return now.Before(c.AcceptUntil)
	}
	return false
}

// HashToken returns the lowercase hex SHA-256 that channels store in place of
// the token itself.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// WatchUpdate changes the named fields of a watch and nothing else, so that a
// pass and a user editing the same watch do not overwrite each other. A nil
// field is left alone. UpdatedAt is always set.
type WatchUpdate struct {
	// Subject is a person's field, written here only to put it in its
	// canonical form (google.CanonicalSubject), which names the same
	// user.
	Subject           *string
	State             *WatchState
	ChannelID         *string
	ChannelExpiration *time.Time
	LastError         *string
	Failures          *int
	LeaseUntil        *time.Time
	LeaseHolder       *string
	RetryAt           *time.Time
	// DueAt is Watch.DueAt. An update that sets ChannelID,
	// ChannelExpiration or RetryAt and leaves DueAt nil sets it to zero,
	// due at once: a writer that does not know the renewal window can
	// only make a watch due early, never late.
	DueAt *time.Time
}

// ChannelUpdate changes the named fields of a channel; a nil field is left
// alone.
type ChannelUpdate struct {
	State       *ChannelState
	ResourceID  *string
	ResourceURI *string
	Expiration  *time.Time
	AcceptUntil *time.Time
	SyncedAt    *time.Time
	StoppedAt   *time.Time
	DeleteAt    *time.Time
}

// Lease is one claim on a watch by a pass. Holder is fresh for every claim,
// so a pass whose lease ran out while it waited on Google cannot act as if
// it still held the watch: the activation and the release check it.
type Lease struct {
	Holder string
	Until  time.Time
}

// Activation is what Google granted for a pending channel, to be recorded
// under the lease that opened it (see ActivateChannel).
type Activation struct {
	ChannelID, WatchID string
	// Holder is the lease the channel was opened under.
	Holder string
	// ResourceID and ResourceURI are kept if empty (a sync may have
	// recorded them already).
	ResourceID, ResourceURI string
	Expiration              time.Time
	// AcceptOldUntil: the channel the watch named before is retired,
	// and its notifications are accepted until then.
	AcceptOldUntil time.Time
	Now            time.Time
	// Events are the lifecycle events the activation reports (started,
	// renewed, lapsed), written to the outbox in the same commit.
	Events []OutboxEvent
	// LastError and Failures are the watch's after the activation: none
	// for a clean renewal, or what it had to mend (a Workspace
	// subscription reactivated) and how many renewals in a row did.
	LastError string
	Failures  int
	// DueAt is the watch's after the activation: the new channel's
	// renewal time (see Watch.DueAt).
	DueAt time.Time
}

// Ptr returns a pointer to v, for building updates.
func Ptr[T any](v T) *T { return &v }

// Index is a composite index one of the store's queries needs. Terraform
// creates exactly these (terraform/indexes.json, checked by a test).
type Index struct {
	Collection string       `json:"collection"`
	Fields     []IndexField `json:"fields"`
}

// IndexField is one field of an Index, in order.
type IndexField struct {
	Path  string `json:"path"`
	Order string `json:"order"` // ASCENDING or DESCENDING
}

// Indexes lists the composite indexes behind DueWatches and ChannelsByState:
// an equality filter on state and a range on the due time or expiration.
var Indexes = []Index{
	{Collection: WatchesCollection, Fields: []IndexField{{"state", "ASCENDING"}, {"dueAt", "ASCENDING"}}},
	{Collection: ChannelsCollection, Fields: []IndexField{{"state", "ASCENDING"}, {"expiration", "ASCENDING"}}},
}
