package renew

// The operations a person asks for, beside the pass that acts on them. Each
// writes what the next pass needs and nothing more: the work at Google is the
// pass's, so that channels are opened and stopped by the one identity (the
// deployed service account) that can stop them later. The CLI parses flags,
// calls one of these and prints.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/watchrelay/watchrelay/google"
	"github.com/watchrelay/watchrelay/receive"
	"github.com/watchrelay/watchrelay/store"
)

// ErrNotRetryable: RetryWatch was asked for a watch that is neither failed
// nor gone.
var ErrNotRetryable = errors.New("renew: only a failed or gone watch can be retried")

// WatchCreator is where AddWatch stores a watch.
type WatchCreator interface {
	CreateWatch(ctx context.Context, w store.Watch) error
}

// WatchUpdater is what RemoveWatch marks a watch through.
type WatchUpdater interface {
	UpdateWatch(ctx context.Context, id string, u store.WatchUpdate, now time.Time) error
}

// WatchEditor reads a watch before changing it, for RetryWatch.
type WatchEditor interface {
	Watch(ctx context.Context, id string) (store.Watch, error)
	WatchUpdater
}

// ChannelImporter is what ImportChannel stores a channel and points its
// watch through.
type ChannelImporter interface {
	WatchEditor
	CreateChannel(ctx context.Context, c store.Channel) error
}

// ChannelEditor reads a channel before changing it.
type ChannelEditor interface {
	Channel(ctx context.Context, id string) (store.Channel, error)
	UpdateChannel(ctx context.Context, id string, u store.ChannelUpdate) error
}

// StopRecorder is what RecordStopped keeps a channel and its watch in step
// through.
type StopRecorder interface {
	WatchEditor
	ChannelEditor
}

// AddWatch stores w as a new active watch, with a fresh id ("w-" and 8
// characters) when it has none, and returns what it stored. Only what a
// person says of a watch is taken from w (its kind, params, subject,
// address, ttl, labels, and whether Sync reads its changes and publishes a
// snapshot); its channel, failures and lease are the pass's,
// and start empty, so the next pass opens its first channel. The subject is
// stored in its canonical form (google.CanonicalSubject: a gmail.users
// mailbox in lower case). A watch Google would refuse is refused here,
// before anything is stored, and so is a ttlSeconds under twice interval,
// the schedule's period: such a channel would lapse between passes.
func AddWatch(ctx context.Context, s WatchCreator, w store.Watch, interval time.Duration, now time.Time) (store.Watch, error) {
	if w.ID == "" {
		w.ID = "w-" + uuid.NewString()[:8]
	}
	w = store.Watch{
		ID: w.ID, Kind: w.Kind, Params: w.Params, Subject: google.CanonicalSubject(w.Kind, w.Subject), Address: w.Address,
		TTLSeconds: w.TTLSeconds, Labels: w.Labels, Changes: w.Changes, Snapshot: w.Snapshot,
		State: store.WatchActive, CreatedAt: now, UpdatedAt: now,
	}
	if err := errors.Join(google.ValidateWatch(w), google.CheckTTL(w, interval)); err != nil {
		return store.Watch{}, err
	}
	if err := s.CreateWatch(ctx, w); err != nil {
		return store.Watch{}, fmt.Errorf("add: %w", err)
	}
	return w, nil
}

// RemoveWatch marks a watch deleted. It is not deleted here: the next pass
// stops its channel at Google, then purges it, so no channel outlives its
// watch.
func RemoveWatch(ctx context.Context, s WatchUpdater, id string, now time.Time) error {
	if err := s.UpdateWatch(ctx, id, store.WatchUpdate{State: store.Ptr(store.WatchDeleted)}, now); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

// RetryWatch gives a watch that ended (failed, or gone) another chance once
// its cause is fixed: a grant given, a resource restored. It is active again
// with no error, no failures and no channel, so the next pass treats it as
// new. An active watch has nothing to retry and a deleted one is on its way
// out: both are refused with ErrNotRetryable.
func RetryWatch(ctx context.Context, s WatchEditor, id string, now time.Time) error {
	w, err := s.Watch(ctx, id)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	switch w.State {
	case store.WatchFailed, store.WatchGone:
	case store.WatchActive:
		return fmt.Errorf("%w: watch %s is active, and passes keep its channel", ErrNotRetryable, id)
	case store.WatchDeleted:
		return fmt.Errorf("%w: watch %s is deleted, and the next pass purges it", ErrNotRetryable, id)
	default:
		return fmt.Errorf("%w: watch %s is %q", ErrNotRetryable, id, w.State)
	}
	u := store.WatchUpdate{
		State: store.Ptr(store.WatchActive), LastError: store.Ptr(""), Failures: store.Ptr(0),
		ChannelID: store.Ptr(""), ChannelExpiration: &time.Time{}, RetryAt: &time.Time{},
	}
	if err := s.UpdateWatch(ctx, id, u, now); err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// ImportSpec is a channel created by another system, taken over as it is.
type ImportSpec struct {
	ID, Token, ResourceID, ResourceURI, Kind, WatchID string
	Expiration                                        time.Time
}

// Check refuses, before anything is stored, a channel that could never
// work: one Receive could not accept (an id no document can have, or beyond
// Google's limits), one Renew could not replace (an unknown kind), or one
// already expired, which Google no longer sends on. The CLI's channel import
// and serve --channel both call it.
func (spec ImportSpec) Check(now time.Time) error {
	var missing []string
	for name, v := range map[string]string{"id": spec.ID, "token": spec.Token, "resource-id": spec.ResourceID, "kind": spec.Kind, "watch": spec.WatchID} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if spec.Expiration.IsZero() {
		missing = append(missing, "expiration")
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	var errs []error
	if err := store.CheckID(spec.ID); err != nil {
		errs = append(errs, fmt.Errorf("id: %w", err))
	}
	if len(spec.ID) > receive.MaxChannelID {
		errs = append(errs, fmt.Errorf("id longer than %d characters (Google's limit)", receive.MaxChannelID))
	}
	if len(spec.Token) > receive.MaxToken {
		errs = append(errs, fmt.Errorf("token longer than %d characters (Google's limit)", receive.MaxToken))
	}
	// Only the kind is checked: the params belong to the watch. Its error
	// lists the known kinds.
	if err := google.ValidateWatch(store.Watch{Kind: spec.Kind}); errors.Is(err, google.ErrUnknownKind) {
		errs = append(errs, err)
	}
	if !spec.Expiration.After(now) {
		errs = append(errs, fmt.Errorf("expiration %s has passed: Google sends nothing on an expired channel, so there is nothing to take over", spec.Expiration.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// ImportChannel stores the channel as active, so Receive accepts it at once;
// when its watch exists and has no channel, the watch is pointed at it so
// Renew replaces it before it expires. spec must have passed Check.
func ImportChannel(ctx context.Context, s ChannelImporter, spec ImportSpec, now time.Time) error {
	c := store.Channel{
		ID: spec.ID, WatchID: spec.WatchID, Kind: spec.Kind,
		ResourceID: spec.ResourceID, ResourceURI: spec.ResourceURI,
		TokenHash: store.HashToken(spec.Token), Expiration: spec.Expiration,
		State: store.ChannelActive, CreatedAt: now,
	}
	// A watch not stored yet is fine (Receive needs the channel only), but
	// any other failure to read it would import the channel without its
	// labels, so events would lose their routing.
	w, err := s.Watch(ctx, spec.WatchID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("watch %s: %w", spec.WatchID, err)
	}
	c.Labels = w.Labels
	if err := s.CreateChannel(ctx, c); err != nil {
		return err
	}
	if known && w.ChannelID == "" {
		return s.UpdateWatch(ctx, w.ID, store.WatchUpdate{ChannelID: &c.ID, ChannelExpiration: &c.Expiration}, now)
	}
	return nil
}

// RecordStopped keeps the store in step with Google after a channels.stop
// done outside a pass: the channel is finished (stopped, with the deleteAt
// that lets the TTL policy remove it), and a watch it was serving no longer
// names it, so the next pass gives that watch a fresh channel instead of
// waiting for the stopped one to come due. A channel the store does not know
// (a stray) needs nothing.
//
// The watch is cleared first: were the channel finished first and the
// second write lost, the watch would name a channel Google no longer sends
// on until its renewal, and the TTL policy may delete the record it names.
// The other way round, a lost write leaves a stopped channel recorded
// active, which the caller reports and which harms no watch.
func RecordStopped(ctx context.Context, s StopRecorder, id string, now time.Time) error {
	c, err := s.Channel(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w, err := s.Watch(ctx, c.WatchID)
	switch {
	case errors.Is(err, store.ErrNotFound): // purged: nothing names the channel
	case err != nil:
		return fmt.Errorf("watch %s: %w", c.WatchID, err)
	case w.ChannelID == id:
		u := store.WatchUpdate{ChannelID: store.Ptr(""), ChannelExpiration: &time.Time{}}
		if err := s.UpdateWatch(ctx, w.ID, u, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("watch %s: %w", w.ID, err)
		}
	}
	err = s.UpdateChannel(ctx, id, store.Finished(store.ChannelStopped, now))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
